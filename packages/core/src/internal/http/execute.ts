/**
 * Executing a request under a span of our own: the platform's client span
 * records the full URL and its exit holds the request with its headers, ours
 * redacts both.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClientModule from "@effect/platform/HttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequestModule from "@effect/platform/HttpClientRequest"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as RegistryError from "../../RegistryError.js"
import { type ErrorContext, fromHttpClientError, safeUrl } from "./errors.js"

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
    const names = fiber.getFiberRef(Headers.currentRedactedNames)
    // `authorization` is among the platform's default redacted names: then there is nothing to add for the request
    const redacted = redactAuthorization(names)
    const run = (req: HttpClientRequest.HttpClientRequest) => {
      const untraced = http.execute(req).pipe(
        Effect.mapError(onError),
        Effect.locally(HttpClientModule.currentTracerDisabledWhen, () => true)
      )
      return redacted === names ? untraced : Effect.locally(untraced, Headers.currentRedactedNames, redacted)
    }
    const disabled = !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
      fiber.getFiberRef(HttpClientModule.currentTracerDisabledWhen)(request)
    if (disabled) return run(request)
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
          // the span ends with the mapped error, or with no value: an answer holds the request and its headers
          Effect.onExit((exit) =>
            Effect.clockWith((clock) =>
              Effect.sync(() => {
                if (Exit.isSuccess(exit)) {
                  span.attribute("http.response.status_code", exit.value.status)
                  const headers = spanHeaders(exit.value.headers, names, "http.response.header")
                  for (const key in headers) span.attribute(key, headers[key])
                }
                span.end(clock.unsafeCurrentTimeNanos(), Exit.isSuccess(exit) ? Exit.void : exit)
              })
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
