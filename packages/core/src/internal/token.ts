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
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type * as Credentials from "../Credentials.js"
import * as RegistryError from "../RegistryError.js"
import * as Auth from "./auth.js"

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

const MaxBody = 1024 * 1024
// A token goes into a header: visible ASCII only.
const TokenChars = /^[\x21-\x7e]+$/

const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined

const seconds = (u: unknown): number | undefined => {
  const n = typeof u === "number" ? u : typeof u === "string" && /^\d+(\.\d+)?$/.test(u.trim()) ? Number(u) : NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
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
  const lifetime = expiresIn * 1000
  const start = issuedAt !== undefined && now - issuedAt >= 0 && now - issuedAt < lifetime ? issuedAt : now
  const expiresAt = start + lifetime
  const margin = Math.min(Math.max(lifetime * 0.1, 5000), lifetime * 0.5)
  return { expiresAt, refreshAt: expiresAt - margin }
}

const describeTokenRequest = (method: string, realm: URL) => `${method} ${realm.origin}${realm.pathname}`

const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  request: string
): RegistryError.TransportError | RegistryError.UnexpectedResponse =>
  error._tag === "RequestError"
    ? new RegistryError.TransportError({
      reason: error.reason === "InvalidUrl" ? "InvalidUrl" : error.reason === "Encode" ? "Encode" : "Transport",
      request,
      detail: "the token request failed"
    })
    : new RegistryError.UnexpectedResponse({
      reason: error.reason === "StatusCode" ? "Status" : "Body",
      request,
      status: error.response.status,
      detail: "the token server's answer could not be read"
    })

const parseBody = (text: string, request: string, status: number, now: number): Either.Either<Token, TokenError> => {
  const fail = (detail: string) =>
    Either.left(new RegistryError.UnexpectedResponse({ reason: "Body", request, status, detail }))
  if (text.length > MaxBody) return fail("the token server's answer is too large")
  const decoded = decodeTokenBody(text)
  // The decode error is dropped on purpose: it would quote the body, which holds the token.
  if (Either.isLeft(decoded)) return fail("the token server's answer is not a JSON object")
  const body = decoded.right
  const token = nonEmptyString(body.token) ?? nonEmptyString(body.access_token)
  if (token === undefined) return fail("the token server's answer has no token")
  if (!TokenChars.test(token)) return fail("the token server's token is not a valid header value")
  const expiresIn = seconds(body.expires_in) ?? DefaultExpiresIn
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

/**
 * Fetch a token. With a refresh token, or with Basic credentials when
 * `oauth2` is set, POST a form (`grant_type=refresh_token` /
 * `grant_type=password`) to the realm and fall back to GET when the server
 * answers 404 or 405; otherwise `GET realm?service=…&scope=…&scope=…` with
 * Basic credentials when there are any. Secrets go only into the
 * `Authorization` header or the POST body, never into the URL.
 *
 * @internal
 */
export const fetchToken = (
  http: HttpClient.HttpClient,
  options: TokenRequest
): Effect.Effect<Token, TokenError> => {
  const { credentials, realm, scopes, service } = options

  const execute = (request: HttpClientRequest.HttpClientRequest, description: string) =>
    http.execute(request).pipe(
      Effect.timeoutFail({
        duration: options.timeout,
        onTimeout: () =>
          new RegistryError.TransportError({
            reason: "Timeout",
            request: description,
            detail: "the token server did not answer in time"
          })
      }),
      Effect.catchTags({
        RequestError: (e) => Effect.fail(fromHttpClientError(e, description)),
        ResponseError: (e) => Effect.fail(fromHttpClientError(e, description))
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
      if (length > MaxBody) {
        return yield* new RegistryError.UnexpectedResponse({
          reason: "TooLarge",
          request: description,
          status: response.status,
          detail: "the token server's answer is too large"
        })
      }
      const text = yield* response.text.pipe(
        Effect.catchTag("ResponseError", (e) => Effect.fail(fromHttpClientError(e, description)))
      )
      const now = yield* Clock.currentTimeMillis
      return yield* parseBody(text, description, response.status, now)
    })

  const get = Effect.suspend(() => {
    const description = describeTokenRequest("GET", realm)
    let request = HttpClientRequest.get(realm).pipe(HttpClientRequest.acceptJson)
    if (service !== undefined) request = HttpClientRequest.appendUrlParam(request, "service", service)
    for (const scope of scopes) request = HttpClientRequest.appendUrlParam(request, "scope", scope)
    if (credentials._tag === "Basic") {
      request = Auth.withAuthorization(request, Auth.basicHeader(credentials.username, credentials.password))
    } else if (credentials._tag === "IdentityToken") {
      request = Auth.withAuthorization(request, Auth.basicHeader(credentials.username ?? "<token>", credentials.token))
    }
    return execute(request, description).pipe(Effect.flatMap((response) => read(response, description, false)))
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
      return execute(request, description).pipe(
        Effect.flatMap((response) =>
          response.status === 404 || response.status === 405 ? get : read(response, description, true)
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
  | { readonly _tag: "Pending"; readonly deferred: Deferred.Deferred<Token, TokenError> }
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
 * A token cache whose fetches run in `scope` (so a caller that is interrupted
 * does not fail the others waiting on the same fetch). Failures are not cached.
 *
 * @internal
 */
export const makeCache: Effect.Effect<TokenCache, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const ref = yield* SynchronizedRef.make(new Map<string, Entry>())

  const settle = (key: string, deferred: Deferred.Deferred<Token, TokenError>, token: Token | undefined) =>
    SynchronizedRef.update(ref, (map) => {
      const current = map.get(key)
      if (current === undefined || current._tag !== "Pending" || current.deferred !== deferred) return map
      const next = new Map(map)
      if (token === undefined) next.delete(key)
      else next.set(key, { _tag: "Ready", token })
      return next
    })

  const get = (key: string, fetch: Effect.Effect<Token, TokenError>) =>
    SynchronizedRef.modifyEffect(ref, (map) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const entry = map.get(key)
        if (entry?._tag === "Ready" && now < entry.token.refreshAt) {
          return [Effect.succeed(entry.token), map] as const
        }
        if (entry?._tag === "Pending") return [Deferred.await(entry.deferred), map] as const
        const deferred = yield* Deferred.make<Token, TokenError>()
        const next = new Map<string, Entry>()
        for (const [k, e] of map) {
          if (e._tag === "Pending" || now < e.token.expiresAt) next.set(k, e)
        }
        next.set(key, { _tag: "Pending", deferred })
        yield* fetch.pipe(
          Effect.onExit((exit) => settle(key, deferred, exit._tag === "Success" ? exit.value : undefined)),
          Effect.intoDeferred(deferred),
          Effect.forkIn(scope)
        )
        return [Deferred.await(deferred), next] as const
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
