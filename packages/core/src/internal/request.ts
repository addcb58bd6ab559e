/**
 * The one request pipeline of the registry client: authorize, execute, learn
 * from a 401 and retry once when the body can be replayed, map every answer
 * that is not a success to a `RegistryError`, retry idempotent reads.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientModule from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientErrorModule from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import type * as RegistryClient from "../RegistryClient.js"
import * as RegistryError from "../RegistryError.js"
import * as Origin from "./origin.js"
import * as Range from "./range.js"

/**
 * What the pipeline needs of the `AuthService`.
 *
 * @since 0.1.0
 */
export interface Authorizer {
  readonly authorize: (
    request: HttpClientRequest.HttpClientRequest,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<HttpClientRequest.HttpClientRequest, AuthFailure>
  readonly challenge: (
    response: HttpClientResponse.HttpClientResponse,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<void, AuthFailure>
}

/** @since 0.1.0 */
export type AuthFailure = RegistryError.Unauthorized | RegistryError.TransportError | RegistryError.UnexpectedResponse

/**
 * Every error an answer can be mapped to: the public `RegistryClient.ResponseError`, declared there so
 * that the declarations of other packages never name this internal module.
 *
 * @since 0.1.0
 */
export type ResponseFailure = RegistryClient.ResponseError

/** @since 0.1.0 */
export interface Env {
  readonly http: HttpClient.HttpClient
  readonly auth: Authorizer
  /**
   * The registry's URL. Only requests to its origin (Docker Hub's aliases
   * counting as one) go through `auth`; any other request goes out with no
   * credentials, and nothing goes over plain http when this is https.
   */
  readonly registry: string
  /** Builds the `Unauthorized` for a 401 answer (from its challenge). */
  readonly unauthorized: (
    response: HttpClientResponse.HttpClientResponse,
    scopes: ReadonlyArray<string>
  ) => RegistryError.Unauthorized
  /** Retry policy for idempotent requests (already filtering transient errors). */
  readonly retry: Schedule.Schedule<unknown, RegistryError.RegistryError>
  /** At most this many bytes of an error body are read. */
  readonly errorBodyLimit: number
}

/**
 * What the errors of a request name.
 *
 * @since 0.1.0
 */
export interface ErrorContext {
  readonly repository?: string | undefined
  readonly reference?: string | undefined
  readonly digest?: string | undefined
}

/** @since 0.1.0 */
export const DefaultErrorBodyLimit = 64 * 1024

/**
 * `METHOD /path` of a request, without query string or credentials.
 *
 * @since 0.1.0
 */
export const describeRequest = (method: string, url: string): string => {
  const parsed = Either.try(() => new URL(url))
  return `${method} ${Either.isRight(parsed) ? parsed.right.pathname : "<invalid url>"}`
}

const contextFields = (ctx: ErrorContext) => ({
  ...(ctx.repository !== undefined ? { repository: ctx.repository } : {}),
  ...(ctx.reference !== undefined ? { reference: ctx.reference } : {}),
  ...(ctx.digest !== undefined ? { digest: ctx.digest } : {})
})

/**
 * Maps a platform error to a `TransportError`.
 *
 * @since 0.1.0
 */
export const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  ctx: ErrorContext
): RegistryError.TransportError => {
  const request = describeRequest(error.request.method, error.request.url)
  const timedOut = isTimeout(error.cause)
  if (error._tag === "RequestError") {
    return new RegistryError.TransportError({
      ...contextFields(ctx),
      request,
      reason: timedOut
        ? "Timeout"
        : error.reason === "InvalidUrl"
        ? "InvalidUrl"
        : error.reason === "Encode"
        ? "Encode"
        : "Transport",
      cause: error
    })
  }
  return new RegistryError.TransportError({
    ...contextFields(ctx),
    request,
    status: error.response.status,
    reason: timedOut ? "Timeout" : "Transport",
    detail: timedOut ? "the response body stalled" : "the response body could not be read",
    cause: error
  })
}

const timeoutCodes = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT"
])

/**
 * The marker put as `cause` of the `RequestError` the client's own timeouts raise.
 *
 * @since 0.1.0
 */
export class RequestTimeout {
  readonly _tag = "RequestTimeout"
  readonly code = "ETIMEDOUT"
  constructor(readonly millis: number) {}
}

/**
 * Whether a cause chain holds a timeout: the client's own, an undici or Node timeout
 * code, a DOM `TimeoutError`, an Effect `TimeoutException`.
 *
 * @since 0.1.0
 */
export const isTimeout = (cause: unknown): boolean => {
  let current: unknown = cause
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if (current instanceof RequestTimeout) return true
    const code = "code" in current ? current.code : undefined
    if (typeof code === "string" && timeoutCodes.has(code)) return true
    const name = "name" in current ? current.name : undefined
    if (name === "TimeoutError") return true
    const tag = "_tag" in current ? current._tag : undefined
    if (tag === "TimeoutException") return true
    current = "cause" in current ? current.cause : undefined
  }
  return false
}

/**
 * Wraps a client so that every request fails with a `RequestError` caused by a
 * {@link RequestTimeout} when its answer's headers do not arrive in time:
 * `timeout` for requests without a body, `uploadTimeout` for requests carrying one.
 * Interrupting the request aborts it. Requests without a body are left to the
 * transport when it enforces a headers timeout (`transportHeaders`) no longer than `timeout`.
 *
 * @since 0.1.0
 */
export const withTimeouts = (
  http: HttpClient.HttpClient,
  timeout: Duration.Duration,
  uploadTimeout: Duration.Duration,
  transportHeaders: Option.Option<Duration.Duration> = Option.none()
): HttpClient.HttpClient =>
  HttpClientModule.transform(http, (effect, request) => {
    const carriesBody = request.body._tag === "Stream" ||
      (request.body._tag === "Uint8Array" && request.body.body.length > 0)
    const limit = carriesBody ? uploadTimeout : timeout
    if (!Duration.isFinite(limit)) return effect
    if (!carriesBody && Option.isSome(transportHeaders) && Duration.lessThanOrEqualTo(transportHeaders.value, limit)) {
      return effect
    }
    return Effect.timeoutFail(effect, {
      duration: limit,
      onTimeout: () =>
        new HttpClientErrorModule.RequestError({
          request,
          reason: "Transport",
          cause: new RequestTimeout(Duration.toMillis(limit)),
          description: `no answer within ${Duration.format(limit)}`
        })
    })
  })

/**
 * Fails a body stream with a timeout `TransportError` when no piece arrives within `idle`.
 *
 * Cheap per piece: instead of racing every pull against its own timer (`Stream.timeoutFail` forks two
 * fibers and arms a timer per pull), one producer fiber reads the body into a one-slot queue and notes
 * when it starts waiting for the next piece; one watchdog fiber sleeps until that deadline (one timer per
 * `idle` period, on the `Clock`, so `TestClock` drives it) and fails the stream when the producer has
 * waited longer than `idle`. Time the consumer spends on a piece does not count, as before: the producer
 * reads at most one piece ahead. Both fibers end with the stream.
 *
 * @since 0.1.0
 */
export const idleTimeout =
  (idle: Duration.Duration, request: string, ctx: ErrorContext) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E | RegistryError.TransportError, R> => {
    if (!Duration.isFinite(idle)) return self
    const millis = Math.max(1, Duration.toMillis(idle))
    const timedOut = () =>
      new RegistryError.TransportError({
        ...contextFields(ctx),
        request,
        reason: "Timeout",
        detail: `the body stalled for ${Duration.format(idle)}`
      })
    return Stream.unwrapScoped(Effect.gen(function*() {
      const clock = yield* Effect.clock
      const queue = yield* Effect.acquireRelease(
        Queue.bounded<Take.Take<A, E | RegistryError.TransportError>>(1),
        Queue.shutdown
      )
      // when the producer started waiting for the next piece; -1 while it hands one over or is done
      let waitingSince = clock.unsafeCurrentTimeMillis()
      let done = false
      const producer = Stream.runForEachChunk(self, (chunk) => {
        waitingSince = -1
        return Effect.zipRight(
          Queue.offer(queue, Take.chunk(chunk)),
          Effect.sync(() => {
            waitingSince = clock.unsafeCurrentTimeMillis()
          })
        )
      }).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) => Queue.offer(queue, Take.failCause(cause)),
          onSuccess: () => Queue.offer(queue, Take.end)
        }),
        Effect.ensuring(Effect.sync(() => {
          done = true
        }))
      )
      const watchdog = Effect.suspend(function loop(): Effect.Effect<void> {
        if (done) return Effect.void
        if (waitingSince < 0) return Effect.zipRight(Effect.sleep(millis), Effect.suspend(loop))
        const left = waitingSince + millis - clock.unsafeCurrentTimeMillis()
        if (left <= 0) return Queue.offer(queue, Take.fail(timedOut()))
        return Effect.zipRight(Effect.sleep(left), Effect.suspend(loop))
      })
      yield* Effect.forkScoped(producer)
      yield* Effect.forkScoped(watchdog)
      return Stream.repeatEffectChunkOption(Effect.flatMap(Queue.take(queue), Take.done))
    }))
  }

const redactAuthorization = (names: ReadonlyArray<string | RegExp>): ReadonlyArray<string | RegExp> =>
  names.includes("authorization") ? names : [...names, "authorization"]

/**
 * Executes a request as is (no auth), mapping platform failures.
 *
 * @since 0.1.0
 */
export const executeRaw = (
  http: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  ctx: ErrorContext
): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.TransportError> =>
  http.execute(request).pipe(
    Effect.mapError((e) => fromHttpClientError(e, ctx)),
    Effect.locallyWith(Headers.currentRedactedNames, redactAuthorization)
  )

/**
 * Whether a request body can be sent a second time.
 *
 * @since 0.1.0
 */
export const isReplayable = (request: HttpClientRequest.HttpClientRequest): boolean =>
  request.body._tag === "Empty" || request.body._tag === "Uint8Array"

/**
 * Authorize, execute; on a 401 let the `AuthService` learn from the challenge and
 * retry once when the body can be replayed. Returns the answer whatever its status.
 *
 * @since 0.1.0
 */
export const send = (
  env: Env,
  request: HttpClientRequest.HttpClientRequest,
  scopes: ReadonlyArray<string>,
  ctx: ErrorContext
): Effect.Effect<HttpClientResponse.HttpClientResponse, AuthFailure> =>
  Effect.gen(function*() {
    if (Origin.isHttps(env.registry) && !Origin.isHttps(request.url)) {
      return yield* new RegistryError.TransportError({
        ...contextFields(ctx),
        request: describeRequest(request.method, request.url),
        reason: "Redirect",
        detail: "refusing to continue an https registry over plain http"
      })
    }
    // Credentials only for the registry's own origin: a request elsewhere goes out bare, and its 401 is not learned from.
    if (!Origin.sameRegistry(request.url, env.registry)) return yield* executeRaw(env.http, request, ctx)
    const authorized = yield* env.auth.authorize(request, scopes)
    const response = yield* executeRaw(env.http, authorized, ctx)
    if (response.status !== 401) return response
    yield* env.auth.challenge(response, scopes)
    if (!isReplayable(request)) return response
    const again = yield* env.auth.authorize(request, scopes)
    return yield* executeRaw(env.http, again, ctx)
  })

/**
 * Reads at most `max` bytes of a body. Never fails: a broken body reads as what arrived.
 *
 * @since 0.1.0
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  max: number
): Effect.Effect<{ readonly bytes: Uint8Array; readonly truncated: boolean }, HttpClientError.ResponseError> =>
  Stream.runFoldWhile(
    response.stream,
    { chunks: [] as Array<Uint8Array>, size: 0 },
    (s) => s.size <= max,
    (s, chunk) => {
      s.chunks.push(chunk)
      s.size += chunk.length
      return s
    }
  ).pipe(Effect.map((s) => {
    const size = Math.min(s.size, max)
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of s.chunks) {
      if (offset >= size) break
      const n = Math.min(chunk.length, size - offset)
      bytes.set(chunk.subarray(0, n), offset)
      offset += n
    }
    return { bytes, truncated: s.size > max }
  }))

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(RegistryError.ErrorBody))

/**
 * The distribution error entries of a body, when it is one.
 *
 * @since 0.1.0
 */
export const parseErrorBody = (bytes: Uint8Array): ReadonlyArray<RegistryError.ErrorEntry> | undefined => {
  if (bytes.length === 0) return undefined
  const text = new TextDecoder("utf-8").decode(bytes)
  return Option.getOrUndefined(Option.map(decodeErrorBody(text), (body) => body.errors))
}

/** @since 0.1.0 */
export const rateLimit = (headers: Headers.Headers): RegistryError.RateLimit | undefined => {
  const pick = (names: ReadonlyArray<string>) => {
    for (const name of names) {
      const v = headers[name]
      if (v !== undefined) return v
    }
    return undefined
  }
  const limit = pick(["ratelimit-limit", "x-ratelimit-limit"])
  const remaining = pick(["ratelimit-remaining", "x-ratelimit-remaining"])
  const reset = pick(["ratelimit-reset", "x-ratelimit-reset"])
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(reset !== undefined ? { reset } : {})
  }
}

/**
 * Options of the status mapping.
 *
 * @since 0.1.0
 */
export interface MapOptions {
  readonly scopes: ReadonlyArray<string>
  /** The error for a 404 with no distribution body (a HEAD, or an empty body). */
  readonly notFound?: ((fields: ErrorFields) => ResponseFailure) | undefined
}

/** @since 0.1.0 */
export interface ErrorFields {
  readonly repository?: string | undefined
  readonly reference?: string | undefined
  readonly digest?: string | undefined
  readonly request: string
  readonly status: number
  readonly errors?: ReadonlyArray<RegistryError.ErrorEntry> | undefined
}

/**
 * Maps an answer that is not a success to its `RegistryError`, from the status and
 * the registry's `errors[].code`. Reads at most `env.errorBodyLimit` bytes.
 *
 * @since 0.1.0
 */
export const toError = (
  env: Env,
  response: HttpClientResponse.HttpClientResponse,
  ctx: ErrorContext,
  options: MapOptions
): Effect.Effect<ResponseFailure> =>
  Effect.gen(function*() {
    const method = response.request.method
    const body = method === "HEAD"
      ? { bytes: new Uint8Array(0), truncated: false }
      : yield* readBounded(response, env.errorBodyLimit).pipe(
        Effect.orElseSucceed(() => ({ bytes: new Uint8Array(0), truncated: false }))
      )
    const entries = parseErrorBody(body.bytes)
    const now = yield* Clock.currentTimeMillis
    return classify(response, entries, body.bytes.length === 0, ctx, options, now, env)
  })

const classify = (
  response: HttpClientResponse.HttpClientResponse,
  entries: ReadonlyArray<RegistryError.ErrorEntry> | undefined,
  emptyBody: boolean,
  ctx: ErrorContext,
  options: MapOptions,
  now: number,
  env: Env
): ResponseFailure => {
  const status = response.status
  const fields: ErrorFields = {
    ...contextFields(ctx),
    request: describeRequest(response.request.method, response.request.url),
    status,
    ...(entries !== undefined && entries.length > 0 ? { errors: entries } : {})
  }
  const retryAfter = Option.getOrUndefined(Range.parseRetryAfter(response.headers["retry-after"], now))
  const codes = (entries ?? []).map((e) => e.code.toUpperCase())
  const has = (code: string) => codes.includes(code)

  if (status === 401 || has("UNAUTHORIZED")) {
    const base = env.unauthorized(response, options.scopes)
    return new RegistryError.Unauthorized({
      ...fields,
      reason: base.reason,
      ...(base.challenge !== undefined ? { challenge: base.challenge } : {}),
      ...(base.scopes !== undefined ? { scopes: base.scopes } : { scopes: options.scopes }),
      ...(base.detail !== undefined ? { detail: base.detail } : {})
    })
  }
  if (status === 429 || has("TOOMANYREQUESTS")) {
    const limits = rateLimit(response.headers)
    return new RegistryError.TooManyRequests({
      ...fields,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(limits !== undefined ? { rateLimit: limits } : {})
    })
  }
  if (has("DENIED") || status === 403) return new RegistryError.Denied(fields)
  for (const code of codes) {
    switch (code) {
      case "MANIFEST_UNKNOWN":
        return new RegistryError.ManifestUnknown(fields)
      case "BLOB_UNKNOWN":
        return new RegistryError.BlobUnknown(fields)
      case "NAME_UNKNOWN":
        return new RegistryError.NameUnknown(fields)
      case "NAME_INVALID":
        return new RegistryError.NameInvalid(fields)
      case "TAG_INVALID":
        return new RegistryError.TagInvalid(fields)
      case "DIGEST_INVALID":
        return new RegistryError.DigestInvalid(fields)
      case "MANIFEST_INVALID":
        return new RegistryError.ManifestInvalid({ ...fields, reason: "Registry" })
      case "MANIFEST_BLOB_UNKNOWN":
        return new RegistryError.ManifestBlobUnknown(fields)
      case "MANIFEST_UNVERIFIED":
        return new RegistryError.ManifestUnverified(fields)
      case "BLOB_UPLOAD_UNKNOWN":
        return new RegistryError.BlobUploadUnknown(fields)
      case "BLOB_UPLOAD_INVALID":
      case "SIZE_INVALID":
        return new RegistryError.BlobUploadInvalid(fields)
      case "RANGE_INVALID":
        return new RegistryError.RangeInvalid(fields)
      case "UNSUPPORTED":
        return new RegistryError.Unsupported(fields)
      case "PAGINATION_NUMBER_INVALID":
        return new RegistryError.PaginationNumberInvalid(fields)
    }
  }
  if (status === 416) return new RegistryError.RangeInvalid(fields)
  if (status === 405) return new RegistryError.Unsupported(fields)
  if (status >= 500) {
    return new RegistryError.RegistryUnavailable({ ...fields, ...(retryAfter !== undefined ? { retryAfter } : {}) })
  }
  if (status === 404 && entries === undefined && emptyBody && options.notFound !== undefined) {
    return options.notFound(fields)
  }
  if (status === 404 && entries === undefined) {
    return new RegistryError.UnexpectedResponse({
      ...fields,
      reason: "Status",
      detail: "404 without a distribution error body (no such route: not a registry endpoint, or not supported)"
    })
  }
  return new RegistryError.UnexpectedResponse({
    ...fields,
    reason: "Status",
    ...(codes.length > 0 ? { detail: `unexpected error code ${codes.join(", ")}` } : {})
  })
}

/**
 * Succeeds with the answer when its status is one of `ok`, fails with its mapped error otherwise.
 *
 * @since 0.1.0
 */
export const expect = (
  env: Env,
  response: HttpClientResponse.HttpClientResponse,
  ok: ReadonlyArray<number>,
  ctx: ErrorContext,
  options: MapOptions
): Effect.Effect<HttpClientResponse.HttpClientResponse, ResponseFailure> =>
  ok.includes(response.status)
    ? Effect.succeed(response)
    : Effect.flatMap(toError(env, response, ctx, options), Effect.fail)

/** @since 0.1.0 */
export interface Call {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly scopes: ReadonlyArray<string>
  readonly context: ErrorContext
  readonly ok: ReadonlyArray<number>
  readonly notFound?: ((fields: ErrorFields) => ResponseFailure) | undefined
  /** Retry transient failures; defaults to true for GET and HEAD. */
  readonly retry?: boolean | undefined
}

/**
 * `send` then `expect`, retried on transient failures when idempotent.
 *
 * @since 0.1.0
 */
export const call = (
  env: Env,
  c: Call
): Effect.Effect<HttpClientResponse.HttpClientResponse, ResponseFailure> => {
  const once = Effect.flatMap(
    send(env, c.request, c.scopes, c.context),
    (response) => expect(env, response, c.ok, c.context, { scopes: c.scopes, notFound: c.notFound })
  )
  const retry = c.retry ?? (c.request.method === "GET" || c.request.method === "HEAD")
  return retry ? Effect.retry(once, env.retry) : once
}

/**
 * Resolves a `Location` header (relative or absolute) against the URL of the request.
 *
 * @since 0.1.0
 */
export const resolveLocation = (
  location: string | undefined,
  base: string,
  fields: ErrorFields | ErrorContext
): Effect.Effect<string, RegistryError.UnexpectedResponse> => {
  if (location === undefined || location.length === 0) {
    return Effect.fail(
      new RegistryError.UnexpectedResponse({ ...fields, reason: "Header", detail: "missing Location header" })
    )
  }
  const url = Either.try(() => new URL(location, base))
  if (Either.isLeft(url) || (url.right.protocol !== "http:" && url.right.protocol !== "https:")) {
    return Effect.fail(
      new RegistryError.UnexpectedResponse({ ...fields, reason: "Header", detail: "malformed Location header" })
    )
  }
  return Effect.succeed(url.right.toString())
}

/**
 * Checks that a URL the registry sent (`what`: a `Link`, an upload
 * `Location`) stays on the registry's origin: another origin, or plain http
 * after https, fails with `UnexpectedResponse` (reason `ForeignOrigin`) before
 * anything is sent there. Only the target's origin is named in the error.
 *
 * @since 0.1.0
 */
export const sameRegistry = (
  env: Pick<Env, "registry">,
  url: string,
  fields: ErrorFields | ErrorContext,
  what: string
): Effect.Effect<string, RegistryError.UnexpectedResponse> => {
  if (Origin.sameRegistry(url, env.registry)) return Effect.succeed(url)
  const target = Origin.registryOf(url) ?? "<invalid url>"
  const registry = Origin.registryOf(env.registry) ?? env.registry
  return Effect.fail(
    new RegistryError.UnexpectedResponse({
      ...fields,
      reason: "ForeignOrigin",
      detail: `the registry's ${what} points at ${target}, not at the registry (${registry}); it is not followed, ` +
        `so that neither credentials nor data leave the registry. Behind a proxy, make the registry build its ` +
        `URLs from its public address (distribution: http.host, or the proxy's X-Forwarded-Proto and -Host)`
    })
  )
}

/**
 * {@link resolveLocation}, then {@link sameRegistry}: the `Location` of an
 * upload session, which must stay on the registry's origin.
 *
 * @since 0.1.0
 */
export const followLocation = (
  env: Pick<Env, "registry">,
  location: string | undefined,
  base: string,
  fields: ErrorFields | ErrorContext
): Effect.Effect<string, RegistryError.UnexpectedResponse> =>
  Effect.flatMap(resolveLocation(location, base, fields), (url) => sameRegistry(env, url, fields, "Location"))

/**
 * Everything the operations share.
 *
 * @since 0.1.0
 */
export interface OpsEnv extends Env {
  /** `scheme://host[:port][/prefix]` without a trailing slash. */
  readonly baseUrl: string
  readonly hash: import("../Hash.js").Service
  readonly maxManifestSize: number
  readonly maxRedirects: number
  readonly maxResumes: number
  readonly maxPages: number
  readonly uploadRetry: Schedule.Schedule<unknown, RegistryError.RegistryError>
  /** Longest pause between two pieces of a blob being read. */
  readonly readIdleTimeout: Duration.Duration
  /** Times an upload restarts in a new session at most. */
  readonly maxUploadRestarts: number
}
