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
import * as Cache from "effect/Cache"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Hash from "effect/Hash"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
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
  /** Millis from receipt to `refreshAt`: how long the cache serves it. */
  readonly freshFor: number
}

/** @since 0.1.0 */
export const DefaultExpiresIn = 60

/**
 * The longest lifetime believed (1 day): a token announced to live longer is
 * refreshed daily, and the expiry arithmetic stays finite.
 *
 * @since 0.1.0
 */
export const MaxExpiresIn = 24 * 60 * 60

/**
 * The shortest lifetime believed (1 second): a shorter one would have the
 * cache fetch a token for nearly every request.
 *
 * @since 0.1.0
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

const nonEmpty = (s: string | undefined): string | undefined => s !== undefined && s.length > 0 ? s : undefined

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

// An optional string field: `null` counts as absent.
const OptionalString = Schema.optionalWith(Schema.String, { nullable: true })

// A token's announced lifetime: a number (a numeric string accepted), clamped by `lifetime`; any other JSON
// value counts as absent (the default lifetime), so an odd `expires_in` never costs the token.
const ExpiresIn = Schema.transform(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u) => lifetime(u),
  encode: (n) => n
})

/**
 * A token server's answer (distribution token spec; OAuth2's `access_token`
 * accepted): every field optional here, the token itself checked after.
 *
 * @since 0.1.0
 */
export const TokenBody = Schema.Struct({
  token: OptionalString,
  access_token: OptionalString,
  expires_in: Schema.optional(ExpiresIn),
  issued_at: OptionalString,
  refresh_token: OptionalString
})
const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())
const decodeTokenBody = Schema.decodeUnknownEither(TokenBody, { errors: "first" })

/**
 * The first problem of a token answer that does not match {@link TokenBody},
 * in a few words: which field and what it should be, never the value (it may
 * be the token).
 *
 * @since 0.1.0
 */
export const describeIssue = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey> = []): string => {
  const where = path.length === 0 ? "the answer" : path.map((key) => JSON.stringify(String(key))).join(".")
  switch (issue._tag) {
    case "Pointer":
      return describeIssue(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])])
    case "Composite":
      return describeIssue(Array.isArray(issue.issues) ? issue.issues[0] : issue.issues, path)
    case "Refinement":
    case "Transformation":
      return describeIssue(issue.issue, path)
    case "Type":
      return path.length === 0 ? "the answer is not a JSON object" : `${where} is not a ${String(issue.ast)}`
    case "Missing":
      return `${where} is missing`
    case "Unexpected":
    case "Forbidden":
      return `${where} is not allowed`
  }
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
  // The JSON parser's error is dropped on purpose: it may quote the body, which holds the token.
  const json = decodeJson(text)
  if (Either.isLeft(json)) return fail("the token server's answer is not JSON")
  const decoded = decodeTokenBody(json.right)
  if (Either.isLeft(decoded)) {
    return fail(`the token server's answer is not usable: ${describeIssue(decoded.left.issue)}`)
  }
  const body = decoded.right
  const token = nonEmpty(body.token) ?? nonEmpty(body.access_token)
  if (token === undefined) return fail("the token server's answer has no token")
  if (!TokenChars.test(token)) return fail("the token server's token is not a valid header value")
  const expiresIn = body.expires_in ?? DefaultExpiresIn
  const issued = body.issued_at !== undefined ? Date.parse(body.issued_at) : NaN
  const issuedAt = Number.isFinite(issued) ? issued : undefined
  const refresh = nonEmpty(body.refresh_token)
  const times = expiry(now, expiresIn, issuedAt)
  return Either.right({
    token: Redacted.make(token),
    expiresIn,
    issuedAt,
    refreshToken: refresh !== undefined ? Redacted.make(refresh) : undefined,
    ...times,
    freshFor: Math.max(0, times.refreshAt - now)
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
 * The most tokens cached (one per realm, service, scopes and credentials); the
 * least recently used goes first.
 *
 * @internal
 */
export const MaxCachedTokens = 1024

// A cache key: equal by `id` alone, carrying the fetch that gets its token.
class Key implements Equal.Equal {
  constructor(readonly id: string, readonly fetch: Effect.Effect<Token, TokenError>) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Key && that.id === this.id
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.id))
  }
}

/**
 * The token cache: Effect's `Cache`, each token kept until its refresh time
 * ({@link Token.freshFor}), failures not kept. Concurrent callers for one key
 * share one fetch.
 *
 * The fetch runs in a fiber of `scope`, so a caller that is interrupted stops
 * waiting without interrupting the fetch the others wait for. A service may
 * outlive its scope (a client kept after `Effect.provide(layer)` returned):
 * then callers fetch in their own fibers, still shared through the cache. A
 * fetch interrupted under a caller that was not (its scope closed, or the
 * caller running it was interrupted) is run again by that caller in its own
 * fiber, so no caller waits on a fetch that will not finish.
 *
 * @internal
 */
export const makeCache: Effect.Effect<TokenCache, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const open = yield* Ref.make(true)
  yield* Effect.addFinalizer(() => Ref.set(open, false))
  const cache = yield* Cache.makeWith({
    capacity: MaxCachedTokens,
    // The outcome is the cached value: a token until its refresh time, a failure only until the callers
    // waiting for it have it (`get` drops it then, whatever the clock says).
    lookup: (key: Key) => Effect.exit(key.fetch),
    timeToLive: (exit) =>
      Exit.isSuccess(exit) && Exit.isSuccess(exit.value) ? Duration.millis(exit.value.value.freshFor) : Duration.zero
  })
  const failed = (outcome: Exit.Exit<Token, TokenError>) => Exit.isFailure(outcome)

  const get = (id: string, fetch: Effect.Effect<Token, TokenError>) =>
    Effect.gen(function*() {
      // the fetch runs with the caller's context (its span as parent), not the one the cache was made in
      const key = new Key(id, Effect.provide(fetch, yield* Effect.context<never>()))
      const shared = (yield* Ref.get(open))
        ? Effect.flatMap(Effect.forkIn(cache.get(key), scope), Fiber.join)
        : cache.get(key)
      const outcome = yield* Effect.catchAllCause(shared, (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.exit(Effect.tap(fetch, (token) => cache.set(key, Exit.succeed(token))))
          : Effect.failCause(cause))
      if (failed(outcome)) yield* cache.invalidateWhen(key, failed)
      return yield* outcome
    })

  const peek = (id: string) =>
    Effect.map(cache.entries, (entries) => {
      const outcome = entries.find(([key]) => key.id === id)?.[1]
      return outcome !== undefined && Exit.isSuccess(outcome) ? outcome.value : undefined
    })

  const invalidate = (token: string) =>
    Effect.flatMap(cache.keys, (keys) =>
      Effect.forEach(
        keys,
        (key) =>
          cache.invalidateWhen(key, (cached) => Exit.isSuccess(cached) && Redacted.value(cached.value.token) === token),
        { discard: true }
      ))

  return { get, peek, invalidate }
})
