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
import * as HttpClientRequestModule from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
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
 * Every error an answer can be mapped to: the public `RegistryError.ResponseError`, declared there so
 * that the declarations of other packages never name this internal module.
 *
 * @since 0.1.0
 */
export type ResponseFailure = RegistryError.ResponseError

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
  /** Longest time reading a whole bounded body (manifest, listing, error) takes. Default {@link DefaultBodyTimeout}. */
  readonly bodyTimeout?: Duration.Duration | undefined
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
 * How long reading a whole bounded body (a manifest, a listing page, an error body) may take by default.
 *
 * @since 0.1.0
 */
export const DefaultBodyTimeout: Duration.Duration = Duration.minutes(2)

/**
 * A URL without user info, query or fragment: `scheme://host[:port]/path`, or
 * `<invalid url>`. What errors and logs may show of a URL: presigned query strings
 * (`X-Amz-Signature`, `sig`, an upload's `_state`) never leave this module.
 *
 * @since 0.1.0
 */
export const safeUrl = (url: string | URL): string => {
  const parsed = typeof url === "string" ? Either.try(() => new URL(url)) : Either.right(url)
  return Either.isRight(parsed) ? `${parsed.right.origin}${parsed.right.pathname}` : "<invalid url>"
}

/**
 * `METHOD scheme://host[:port]/path` of a request, without user info, query or fragment.
 * The one description of a request in errors.
 *
 * @since 0.1.0
 */
export const describeRequest = (method: string, url: string | URL): string => `${method} ${safeUrl(url)}`

// query parameters whose values say nothing secret; every other value is recorded as `<redacted>`
const plainQueryNames = new Set(["n", "last", "service", "scope", "digest", "mount", "from", "artifactType"])

/**
 * The query of a URL with the value of every parameter but a few known-plain
 * ones (`n`, `last`, `service`, `scope`, `digest`, `mount`, `from`, `artifactType`)
 * replaced by `<redacted>`.
 *
 * @since 0.1.0
 */
export const redactedQuery = (url: URL): string =>
  [...url.searchParams].map(([name, value]) =>
    `${encodeURIComponent(name)}=${plainQueryNames.has(name) ? encodeURIComponent(value) : "<redacted>"}`
  ).join("&")

const scrubText = (text: string): string =>
  text
    .replace(/\b(basic|bearer)\s+[^\s"',;]+/gi, "$1 <redacted>")
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1")
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#][^\s"']*/gi, "$1")
    .slice(0, 1000)

/**
 * A copy of an underlying error safe to log: its `name`, `code`, `syscall` and
 * message (credentials and URL queries scrubbed), and the same of its own cause,
 * four levels deep. The platform's `HttpClientError` levels, which hold the
 * request and its headers, are skipped.
 *
 * @since 0.1.0
 */
export interface SafeCause {
  readonly name?: string
  readonly code?: string
  readonly syscall?: string
  readonly message: string
  readonly cause?: SafeCause
}

const stringProp = (u: object, key: string): string | undefined => {
  const value: unknown = key in u ? (u as Record<string, unknown>)[key] : undefined
  return typeof value === "string" ? value : undefined
}

/** @since 0.1.0 */
export const safeCause = (cause: unknown, depth = 0): SafeCause | undefined => {
  if (depth >= 4 || cause === null || cause === undefined) return undefined
  if (typeof cause !== "object") return { message: scrubText(String(cause)) }
  const tag = stringProp(cause, "_tag")
  // the platform's errors carry the request (and its headers): keep only what caused them
  if (tag === "RequestError" || tag === "ResponseError") {
    return safeCause("cause" in cause ? cause.cause : undefined, depth)
  }
  const name = stringProp(cause, "name") ?? tag
  const code = stringProp(cause, "code")
  const syscall = stringProp(cause, "syscall")
  const inner = safeCause("cause" in cause ? cause.cause : undefined, depth + 1)
  return {
    ...(name !== undefined ? { name } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(syscall !== undefined ? { syscall } : {}),
    message: scrubText(stringProp(cause, "message") ?? ""),
    ...(inner !== undefined ? { cause: inner } : {})
  }
}

const contextFields = (ctx: ErrorContext) => ({
  ...(ctx.repository !== undefined ? { repository: ctx.repository } : {}),
  ...(ctx.reference !== undefined ? { reference: ctx.reference } : {}),
  ...(ctx.digest !== undefined ? { digest: ctx.digest } : {})
})

/**
 * The fields a `TransportError` takes from a platform error: the request, its URL
 * (without query), the kind of failure and its code, and a {@link safeCause} copy
 * of the cause. Never the request itself or its headers.
 *
 * @since 0.1.0
 */
export const transportFields = (error: HttpClientError.HttpClientError) => {
  const url = safeUrl(error.request.url)
  const found = RegistryError.transportCode(error.cause)
  const cause = safeCause(error.cause)
  return {
    request: describeRequest(error.request.method, error.request.url),
    url,
    kind: found.kind,
    ...(found.code !== undefined ? { code: found.code } : {}),
    ...(cause !== undefined ? { cause } : {})
  }
}

/**
 * Maps a platform error to a `TransportError` that is safe to log whole.
 *
 * @since 0.1.0
 */
export const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  ctx: ErrorContext
): RegistryError.TransportError => {
  const fields = transportFields(error)
  const timedOut = fields.kind === "TimedOut"
  if (error._tag === "RequestError") {
    return new RegistryError.TransportError({
      ...contextFields(ctx),
      ...fields,
      reason: timedOut
        ? "Timeout"
        : error.reason === "InvalidUrl"
        ? "InvalidUrl"
        : error.reason === "Encode"
        ? "Encode"
        : "Transport"
    })
  }
  return new RegistryError.TransportError({
    ...contextFields(ctx),
    ...fields,
    status: error.response.status,
    reason: timedOut ? "Timeout" : "Transport",
    detail: timedOut ? "the response body stalled" : "the response body could not be read"
  })
}

/**
 * The marker put as `cause` of the `RequestError` the client's own timeouts raise.
 *
 * @since 0.1.0
 */
export class RequestTimeout {
  readonly _tag = "RequestTimeout"
  readonly code = "ETIMEDOUT"
  readonly message: string
  constructor(readonly millis: number) {
    this.message = `no answer within ${millis} ms`
  }
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

const urlHeaders = new Set(["location", "content-location", "link"])

const spanHeaders = (headers: Headers.Headers, names: ReadonlyArray<string | RegExp>, prefix: string) => {
  const redacted = Headers.redact(headers, redactAuthorization(names))
  const out: Record<string, string> = {}
  for (const name in redacted) {
    const value = String(redacted[name])
    // a Location may be a presigned URL or carry an upload's state: its query is not recorded
    out[`${prefix}.${name}`] = urlHeaders.has(name) ? value.replace(/[?#][^\s>,;]*/g, "") : value
  }
  return out
}

const requestAttributes = (
  request: HttpClientRequest.HttpClientRequest,
  names: ReadonlyArray<string | RegExp>
): Record<string, unknown> => {
  const url = Option.getOrUndefined(HttpClientRequestModule.toUrl(request))
  const query = url !== undefined ? redactedQuery(url) : ""
  return {
    "http.request.method": request.method,
    ...(url !== undefined
      ? {
        "server.address": url.origin,
        ...(url.port !== "" ? { "server.port": Number(url.port) } : {}),
        "url.full": `${safeUrl(url)}${query !== "" ? `?${query}` : ""}`,
        "url.path": url.pathname,
        "url.scheme": url.protocol.slice(0, -1),
        ...(query !== "" ? { "url.query": query } : {})
      }
      : {}),
    ...spanHeaders(request.headers, names, "http.request.header")
  }
}

/**
 * Executes a request with the platform's own client span switched off (it
 * records the full URL with its query, and its exit holds the request with its
 * headers) and a span of ours in its place: the same name and attributes,
 * but the URL's query values redacted (see {@link redactedQuery}), `authorization`
 * always redacted, URLs in response headers without their query, and an exit
 * holding only the error `onError` made (a success ends it with no value, as the
 * answer holds the request). Trace context is still propagated.
 *
 * @since 0.1.0
 */
export const execute = <E>(
  http: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  onError: (error: HttpClientError.HttpClientError) => E
): Effect.Effect<HttpClientResponse.HttpClientResponse, E> =>
  Effect.withFiberRuntime((fiber) => {
    const run = (req: HttpClientRequest.HttpClientRequest) =>
      http.execute(req).pipe(
        Effect.mapError(onError),
        Effect.locally(HttpClientModule.currentTracerDisabledWhen, () => true),
        Effect.locallyWith(Headers.currentRedactedNames, redactAuthorization)
      )
    const disabled = !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
      fiber.getFiberRef(HttpClientModule.currentTracerDisabledWhen)(request)
    if (disabled) return run(request)
    const names = fiber.getFiberRef(Headers.currentRedactedNames)
    const name = Context.get(fiber.currentContext, HttpClientModule.SpanNameGenerator)(request)
    return Effect.flatMap(
      Effect.makeSpan(name, {
        kind: "client",
        captureStackTrace: false,
        attributes: requestAttributes(request, names)
      }),
      (span) => {
        const sent = fiber.getFiberRef(HttpClientModule.currentTracerPropagation)
          ? HttpClientRequestModule.setHeaders(request, HttpTraceContext.toHeaders(span))
          : request
        return run(sent).pipe(
          Effect.withParentSpan(span),
          Effect.tap((response) =>
            Effect.sync(() => {
              span.attribute("http.response.status_code", response.status)
              const headers = spanHeaders(response.headers, names, "http.response.header")
              for (const key in headers) span.attribute(key, headers[key])
            })
          ),
          // the span ends with the mapped error, or with no value: an answer holds the request and its headers
          Effect.onExit((exit) =>
            Effect.flatMap(
              Clock.currentTimeNanos,
              (now) => Effect.sync(() => span.end(now, Exit.isSuccess(exit) ? Exit.void : exit))
            )
          )
        )
      }
    )
  })

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
  execute(http, request, (e) => fromHttpClientError(e, ctx))

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
 * Reads at most `max` bytes of a body, within `deadline` for the whole body: a body that trickles fails
 * with a `ResponseError` caused by a {@link RequestTimeout} (a `TransportError` with reason `Timeout` once
 * mapped by {@link fromHttpClientError}), and its reading is interrupted.
 *
 * @since 0.1.0
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  deadline: Duration.Duration = DefaultBodyTimeout
): Effect.Effect<{ readonly bytes: Uint8Array; readonly truncated: boolean }, HttpClientError.ResponseError> => {
  const read = Stream.runFoldWhile(
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
  if (!Duration.isFinite(deadline)) return read
  return Effect.timeoutFail(read, {
    duration: deadline,
    onTimeout: () =>
      new HttpClientErrorModule.ResponseError({
        request: response.request,
        response,
        reason: "Decode",
        cause: new RequestTimeout(Duration.toMillis(deadline)),
        description: `the body did not arrive within ${Duration.format(deadline)}`
      })
  })
}

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
      : yield* readBounded(response, env.errorBodyLimit, env.bodyTimeout).pipe(
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
