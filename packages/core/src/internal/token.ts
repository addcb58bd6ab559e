/**
 * Token server requests (distribution token auth and its OAuth2 variant) and
 * the token cache.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type * as Credentials from "../Credentials.js"
import * as RegistryError from "../RegistryError.js"
import * as Auth from "./auth.js"
import * as Request from "./http/index.js"

/** @internal */
export type TokenError = RegistryError.Unauthorized | RegistryError.TransportError | RegistryError.UnexpectedResponse

/** @internal */
export interface Token {
  readonly token: Redacted.Redacted<string>
  /** Lifetime in seconds, as announced (60 when absent). */
  readonly expiresIn: number
  readonly issuedAt: number | undefined
  readonly refreshToken: Redacted.Redacted<string> | undefined
  /** Local clock millis when the token expires. */
  readonly expiresAt: number
  /** Local clock millis from which the cache fetches a new one. */
  readonly refreshAt: number
}

/** @internal */
export const DefaultExpiresIn = 60

/**
 * The longest lifetime believed (1 day): a token announced to live longer is
 * refreshed daily, and the expiry arithmetic stays finite.
 *
 * @internal
 */
export const MaxExpiresIn = 24 * 60 * 60

/**
 * The shortest lifetime believed (1 second): a shorter one would have the
 * cache fetch a token for nearly every request.
 *
 * @internal
 */
export const MinExpiresIn = 1

/** @internal */
export interface TokenRequest {
  readonly realm: URL
  readonly service: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly credentials: Credentials.Credentials
  /** An OAuth2 refresh token to exchange (identity token, or one the server returned). */
  readonly refreshToken: Redacted.Redacted<string> | undefined
  /** Use the OAuth2 password grant with Basic credentials. */
  readonly oauth2: boolean
  readonly clientId: string
  readonly timeout: Duration.Duration
}

const TokenBody = Schema.Struct({
  token: Schema.optional(Schema.Unknown),
  access_token: Schema.optional(Schema.Unknown),
  expires_in: Schema.optional(Schema.Unknown),
  issued_at: Schema.optional(Schema.Unknown),
  refresh_token: Schema.optional(Schema.Unknown)
})
const decodeTokenBody = Schema.decodeUnknownEither(Schema.parseJson(TokenBody))

/**
 * The largest token answer read (1 MiB): a token server's body is read as a
 * stream and abandoned once it passes this, never buffered beyond it (plus
 * the one chunk that crossed it).
 *
 * @internal
 */
export const MaxBody = 1024 * 1024
// A token goes into a header: visible ASCII only.
const TokenChars = /^[\x21-\x7e]+$/

const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined

/**
 * A token's announced lifetime in seconds: a positive finite number (or
 * numeric string) clamped to {@link MinExpiresIn}..{@link MaxExpiresIn};
 * anything else (absent, 0, negative, NaN, infinite, not a number) is
 * {@link DefaultExpiresIn}.
 *
 * @internal
 */
export const lifetime = (u: unknown): number => {
  const n = typeof u === "number" ? u : typeof u === "string" && /^\d+(\.\d+)?$/.test(u.trim()) ? Number(u) : NaN
  return Number.isFinite(n) && n > 0 ? Math.min(Math.max(n, MinExpiresIn), MaxExpiresIn) : DefaultExpiresIn
}

/**
 * When to stop using a token: `issued_at` is believed only when it lies in the
 * past within the token's lifetime (a skewed server clock must neither
 * stretch a token nor make every token look expired); otherwise the local time
 * of receipt counts. The cache refreshes 10% of the lifetime before expiry (at
 * least 5 s, at most half the lifetime).
 *
 * @internal
 */
export const expiry = (now: number, expiresIn: number, issuedAt: number | undefined) => {
  const millis = lifetime(expiresIn) * 1000
  const start = issuedAt !== undefined && now - issuedAt >= 0 && now - issuedAt < millis ? issuedAt : now
  const expiresAt = start + millis
  const margin = Math.min(Math.max(millis * 0.1, 5000), millis * 0.5)
  return { expiresAt, refreshAt: expiresAt - margin }
}

const describeTokenRequest = (method: string, realm: URL) => Request.describeRequest(method, realm)

const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  request: string
): RegistryError.TransportError | RegistryError.UnexpectedResponse =>
  error._tag === "ResponseError"
    ? new RegistryError.UnexpectedResponse({
      reason: error.reason === "StatusCode" ? "Status" : "Body",
      request,
      status: error.response.status,
      detail: "the token server's answer could not be read"
    })
    : Request.fromHttpClientError(error, {}, { request, detail: "the token request failed" })

const tooLarge = (request: string, status: number) =>
  new RegistryError.UnexpectedResponse({
    reason: "TooLarge",
    request,
    status,
    detail: `the token server's answer is larger than ${MaxBody} bytes`
  })

/**
 * Read a response body, failing with `UnexpectedResponse` (`TooLarge`) as
 * soon as more than `limit` bytes arrived: the stream is then abandoned
 * (its reader cancelled), so at most `limit` bytes plus one chunk are ever
 * pulled and held. An absent body reads as empty.
 *
 * @internal
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  request: string,
  limit: number = MaxBody
): Effect.Effect<Uint8Array, RegistryError.TransportError | RegistryError.UnexpectedResponse> =>
  Request.readAtMost(
    response,
    limit,
    (e): RegistryError.TransportError | RegistryError.UnexpectedResponse => fromHttpClientError(e, request),
    () => tooLarge(request, response.status)
  )

const parseBody = (text: string, request: string, status: number, now: number): Either.Either<Token, TokenError> => {
  const fail = (detail: string) =>
    Either.left(new RegistryError.UnexpectedResponse({ reason: "Body", request, status, detail }))
  const decoded = decodeTokenBody(text)
  // The decode error is dropped on purpose: it would quote the body, which holds the token.
  if (Either.isLeft(decoded)) return fail("the token server's answer is not a JSON object")
  const body = decoded.right
  const token = nonEmptyString(body.token) ?? nonEmptyString(body.access_token)
  if (token === undefined) return fail("the token server's answer has no token")
  if (!TokenChars.test(token)) return fail("the token server's token is not a valid header value")
  const expiresIn = lifetime(body.expires_in)
  const issued = typeof body.issued_at === "string" ? Date.parse(body.issued_at) : NaN
  const issuedAt = Number.isFinite(issued) ? issued : undefined
  const refresh = nonEmptyString(body.refresh_token)
  return Either.right({
    token: Redacted.make(token),
    expiresIn,
    issuedAt,
    refreshToken: refresh !== undefined ? Redacted.make(refresh) : undefined,
    ...expiry(now, expiresIn, issuedAt)
  })
}

const rejected = (
  credentials: Credentials.Credentials,
  request: string,
  status: number,
  scopes: ReadonlyArray<string>
) =>
  new RegistryError.Unauthorized({
    reason: credentials._tag === "Anonymous" ? "MissingCredentials" : "RejectedCredentials",
    request,
    status,
    scopes,
    detail: credentials._tag === "Anonymous"
      ? "the token server refused an anonymous token"
      : "the token server refused the credentials"
  })

const noRefreshGrant = (request: string, status: number, scopes: ReadonlyArray<string>) =>
  new RegistryError.Unauthorized({
    reason: "UnsupportedChallenge",
    request,
    status,
    scopes,
    detail: "the token server does not support OAuth2 refresh tokens (it refused the POST), so an identity " +
      "token cannot be used with it; configure a username and password for this registry instead"
  })

/**
 * Fetch a token.
 *
 * - With a refresh token (an identity token, or one the server returned
 *   earlier), or with Basic credentials when `oauth2` is set: POST a form
 *   (`grant_type=refresh_token` / `grant_type=password`) to the realm.
 * - Otherwise: `GET realm?service=…&scope=…&scope=…`, with Basic credentials
 *   when there are any.
 *
 * A token server that refuses the POST (404 or 405) does not speak OAuth2.
 * With a username and password the fetch falls back to the GET flow. With an
 * identity token it fails with `Unauthorized` (`UnsupportedChallenge`): the
 * GET flow of the distribution token spec has no parameter for a refresh
 * token, and Docker's own client (distribution's token handler) only ever
 * sends one in the OAuth2 POST; stuffing it into Basic auth as a password
 * would hand a long-lived secret to a server that does not know what it is.
 *
 * Each request, its answer included, is bounded by `timeout`; the answer's
 * body is read as a stream and refused past {@link MaxBody}. Secrets go only
 * into the `Authorization` header or the POST body, never into the URL.
 *
 * @internal
 */
export const fetchToken = (
  http: HttpClient.HttpClient,
  options: TokenRequest
): Effect.Effect<Token, TokenError> => {
  const { credentials, realm, scopes, service } = options

  // Send, then handle the answer (reading its body included) within the timeout.
  const send = <A>(
    request: HttpClientRequest.HttpClientRequest,
    description: string,
    handle: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, TokenError>
  ): Effect.Effect<A, TokenError> =>
    Request.execute(http, request, (e) => fromHttpClientError(e, description)).pipe(
      Effect.flatMap(handle),
      Effect.timeoutFail({
        duration: options.timeout,
        onTimeout: () =>
          new RegistryError.TransportError({
            reason: "Timeout",
            request: description,
            detail: "the token server did not answer in time"
          })
      })
    )

  const read = (
    response: HttpClientResponse.HttpClientResponse,
    description: string,
    isPost: boolean
  ): Effect.Effect<Token, TokenError> =>
    Effect.gen(function*() {
      // An OAuth2 server answers a bad grant with 400 (invalid_grant).
      if (response.status === 401 || response.status === 403 || (response.status === 400 && isPost)) {
        return yield* rejected(credentials, description, response.status, scopes)
      }
      if (response.status < 200 || response.status >= 300) {
        return yield* new RegistryError.UnexpectedResponse({
          reason: "Status",
          request: description,
          status: response.status,
          detail: "the token server answered with an unexpected status"
        })
      }
      const length = Number(response.headers["content-length"] ?? "0")
      if (length > MaxBody) return yield* tooLarge(description, response.status)
      const bytes = yield* readBounded(response, description)
      const now = yield* Clock.currentTimeMillis
      return yield* parseBody(new TextDecoder().decode(bytes), description, response.status, now)
    })

  const get = Effect.suspend(() => {
    const description = describeTokenRequest("GET", realm)
    let request = HttpClientRequest.get(realm).pipe(HttpClientRequest.acceptJson)
    if (service !== undefined) request = HttpClientRequest.appendUrlParam(request, "service", service)
    for (const scope of scopes) request = HttpClientRequest.appendUrlParam(request, "scope", scope)
    if (credentials._tag === "Basic") {
      request = Auth.withAuthorization(request, Auth.basicHeader(credentials.username, credentials.password))
    }
    return send(request, description, (response) => read(response, description, false))
  })

  const post = (form: ReadonlyArray<readonly [string, string]>) =>
    Effect.suspend(() => {
      const description = describeTokenRequest("POST", realm)
      const params: Array<readonly [string, string]> = []
      if (service !== undefined) params.push(["service", service])
      if (scopes.length > 0) params.push(["scope", scopes.join(" ")])
      params.push(["client_id", options.clientId], ...form)
      const request = HttpClientRequest.post(realm).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams(params)
      )
      return send(
        request,
        description,
        (response): Effect.Effect<Token | number, TokenError> =>
          response.status === 404 || response.status === 405
            ? Effect.succeed(response.status)
            : read(response, description, true)
      ).pipe(
        Effect.flatMap((answer) =>
          typeof answer !== "number"
            ? Effect.succeed(answer)
            : credentials._tag === "Basic"
            ? get
            : Effect.fail(noRefreshGrant(description, answer, scopes))
        )
      )
    })

  if (options.refreshToken !== undefined) {
    return post([["grant_type", "refresh_token"], ["refresh_token", Redacted.value(options.refreshToken)]])
  }
  if (options.oauth2 && credentials._tag === "Basic") {
    return post([
      ["grant_type", "password"],
      ["username", credentials.username],
      ["password", Redacted.value(credentials.password)],
      ["access_type", "offline"]
    ])
  }
  return get
}

type Entry =
  | {
    readonly _tag: "Pending"
    readonly fiber: Fiber.Fiber<Token, TokenError>
    readonly id: object
  }
  | { readonly _tag: "Ready"; readonly token: Token }

/** @internal */
export interface TokenCache {
  /** The cached token for `key` while fresh; else one `fetch` shared by every concurrent caller. */
  readonly get: (key: string, fetch: Effect.Effect<Token, TokenError>) => Effect.Effect<Token, TokenError>
  /** The cached token for `key`, fresh or not, if one is ready. */
  readonly peek: (key: string) => Effect.Effect<Token | undefined>
  /** Drop every ready token whose value is `token`. */
  readonly invalidate: (token: string) => Effect.Effect<void>
}

/**
 * A token cache whose fetches run in a fiber forked into `scope`, shared by
 * every caller waiting for the same key; a caller that is interrupted stops
 * waiting without failing the others. Failures are not cached.
 *
 * A service may outlive its scope (a client kept after `Effect.provide(layer)`
 * returned). Then no fetch is forked any more: each caller fetches in its own
 * fiber. A fetch that the closing scope interrupted (or that could not start)
 * is run again by each caller that was waiting for it, so no caller ever waits
 * on a fetch that will not finish.
 *
 * @internal
 */
export const makeCache: Effect.Effect<TokenCache, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const ref = yield* SynchronizedRef.make(new Map<string, Entry>())
  const open = yield* Ref.make(true)
  yield* Effect.addFinalizer(() => Ref.set(open, false))

  // Replace the pending entry `id` of `key` by its token, or drop it.
  const settle = (key: string, id: object, token: Token | undefined) =>
    SynchronizedRef.update(ref, (map) => {
      const current = map.get(key)
      if (current === undefined || current._tag !== "Pending" || current.id !== id) return map
      const next = new Map(map)
      if (token === undefined) next.delete(key)
      else next.set(key, { _tag: "Ready", token })
      return next
    })

  // Fetch in the caller's fiber; cache the token unless another fetch is pending for the key.
  const fetchHere = (key: string, fetch: Effect.Effect<Token, TokenError>) =>
    Effect.tap(fetch, (token) =>
      SynchronizedRef.update(ref, (map) => {
        if (map.get(key)?._tag === "Pending") return map
        return new Map(map).set(key, { _tag: "Ready", token })
      }))

  // Wait for a shared fetch. Interrupted without a result (its scope closed): fetch here instead.
  const join = (
    key: string,
    entry: Extract<Entry, { _tag: "Pending" }>,
    fetch: Effect.Effect<Token, TokenError>
  ): Effect.Effect<Token, TokenError> =>
    Effect.flatMap(Fiber.await(entry.fiber), (exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
      if (Cause.isInterruptedOnly(exit.cause)) {
        return Effect.zipRight(settle(key, entry.id, undefined), fetchHere(key, fetch))
      }
      return Effect.failCause(exit.cause)
    })

  const get = (key: string, fetch: Effect.Effect<Token, TokenError>) =>
    SynchronizedRef.modifyEffect(ref, (map) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const entry = map.get(key)
        if (entry?._tag === "Ready" && now < entry.token.refreshAt) {
          return [Effect.succeed(entry.token), map] as const
        }
        if (entry?._tag === "Pending") return [join(key, entry, fetch), map] as const
        const next = new Map<string, Entry>()
        for (const [k, e] of map) {
          if (e._tag === "Pending" || now < e.token.expiresAt) next.set(k, e)
        }
        if (!(yield* Ref.get(open))) {
          next.delete(key)
          return [fetchHere(key, fetch), next] as const
        }
        const id = {}
        const fiber = yield* fetch.pipe(
          Effect.onExit((exit) => settle(key, id, exit._tag === "Success" ? exit.value : undefined)),
          Effect.forkIn(scope)
        )
        const pending = { _tag: "Pending", fiber, id } as const
        next.set(key, pending)
        return [join(key, pending, fetch), next] as const
      })).pipe(Effect.flatten)

  const peek = (key: string) =>
    SynchronizedRef.get(ref).pipe(Effect.map((map) => {
      const entry = map.get(key)
      return entry?._tag === "Ready" ? entry.token : undefined
    }))

  const invalidate = (token: string) =>
    SynchronizedRef.update(ref, (map) => {
      const next = new Map(map)
      for (const [k, e] of map) {
        if (e._tag === "Ready" && Redacted.value(e.token.token) === token) next.delete(k)
      }
      return next
    })

  return { get, peek, invalidate }
})
