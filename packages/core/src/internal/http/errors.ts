/**
 * The one description of a failed request in errors: URLs without user info or
 * query, causes copied safe to log, platform errors mapped to `TransportError`.
 *
 * @since 0.1.0
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Either from "effect/Either"
import * as RegistryError from "../../RegistryError.js"

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
export interface ErrorFields {
  readonly repository?: string | undefined
  readonly reference?: string | undefined
  readonly digest?: string | undefined
  readonly request: string
  readonly status: number
  readonly errors?: ReadonlyArray<RegistryError.ErrorEntry> | undefined
}

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

/**
 * The repository, reference and digest of a context, those that are set.
 *
 * @since 0.1.0
 */
export const contextFields = (ctx: ErrorContext) => ({
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
 * How {@link fromHttpClientError} names a request and what it says of a request that failed.
 *
 * @since 0.1.0
 */
export interface TransportErrorOptions {
  /** The request as errors show it; default its method and URL (see {@link describeRequest}). */
  readonly request?: string | undefined
  /** The `detail` of a request that failed before an answer (a `RequestError`); default none. */
  readonly detail?: string | undefined
}

/**
 * Maps a platform error to a `TransportError` that is safe to log whole.
 *
 * @since 0.1.0
 */
export const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  ctx: ErrorContext,
  options?: TransportErrorOptions
): RegistryError.TransportError => {
  const fields = transportFields(error)
  const timedOut = fields.kind === "TimedOut"
  const request = options?.request !== undefined ? { request: options.request } : {}
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
        : "Transport",
      ...request,
      ...(options?.detail !== undefined ? { detail: options.detail } : {})
    })
  }
  return new RegistryError.TransportError({
    ...contextFields(ctx),
    ...fields,
    ...request,
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
