/**
 * `HEAD` requests straight on the undici dispatcher.
 *
 * `@effect/platform-node`'s undici client serves any request, so each one pays for what only some need: an
 * `AbortController` (and its listener), a promise, a body stream, a wrapper that re-reads the headers on every
 * access, the merge of the layer's context into the request's, and a `FinalizationRegistry` entry whose
 * finalizer aborts the controller of every answer whose body was never read (building a `DOMException` with its
 * stack, once per `HEAD`). An answer to `HEAD` has no body: dispatching it with a handler of our own, whose
 * answer holds its headers once, costs a fraction of that, which matters when a client sends thousands of them
 * (`manifestDigest`, `hasBlob`, `blobMetadata`).
 *
 * Only requests the platform client would not trace take this path (core's requests are traced by core itself,
 * with the platform's span switched off), and only when no `UndiciRequestOptions` are given; the others go to
 * the platform client as before. Timeouts and `reset` come from the dispatcher's own interceptor, as for every
 * request.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

type RawHeaders = Record<string, string | Array<string> | undefined>

/** The answer to a `HEAD`: status and headers, and an empty body. */
class HeadResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly headers: Headers.Headers
  private cachedCookies: Cookies.Cookies | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    private readonly raw: RawHeaders
  ) {
    super()
    this.headers = Headers.fromInput(raw)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.raw["set-cookie"]
    this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(Array.isArray(header) ? header : [header])
    return this.cachedCookies
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.empty
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.succeed("")
  }

  // as the platform's answers do for an empty body
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.succeed(null)
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.succeed(UrlParams.empty)
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.succeed(new ArrayBuffer(0))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.fail(
      new HttpClientError.ResponseError({
        request: this.request,
        response: this,
        reason: "Decode",
        description: "an answer to HEAD has no body"
      })
    )
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

type Resume = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>) => void

/** An undici dispatch handler that settles on the final answer's headers (or the first failure), once. */
class HeadHandler implements Undici.Dispatcher.DispatchHandler {
  private controller: Undici.Dispatcher.DispatchController | undefined
  private settled = false

  constructor(
    private readonly request: HttpClientRequest.HttpClientRequest,
    private readonly resume: Resume
  ) {}

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.settled) controller.abort(new Error("request interrupted"))
  }

  onResponseStart(_controller: Undici.Dispatcher.DispatchController, statusCode: number, headers: RawHeaders): void {
    // 1xx answers are informational: the final one follows
    if (statusCode < 200 || this.settled) return
    this.settled = true
    this.resume(Effect.succeed(new HeadResponse(this.request, statusCode, headers)))
  }

  onResponseData(): void {}

  onResponseEnd(): void {}

  onResponseError(_controller: Undici.Dispatcher.DispatchController | undefined, cause: Error): void {
    if (this.settled) return
    this.settled = true
    this.resume(Effect.fail(new HttpClientError.RequestError({ request: this.request, reason: "Transport", cause })))
  }

  /** The fiber was interrupted: abort the request (now, or as soon as undici starts it). */
  interrupt(): void {
    if (this.settled) return
    this.settled = true
    this.controller?.abort(new Error("request interrupted"))
  }
}

const send = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  url: URL
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    const handler = new HeadHandler(request, resume)
    try {
      // the fragment never goes on the wire
      dispatcher.dispatch({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "HEAD",
        headers: request.headers
      }, handler)
    } catch (cause) {
      // undici reports a request it refuses (an invalid header value) to the handler; should it ever throw
      // instead, that is a failure too, never a defect
      handler.onResponseError(undefined, cause instanceof Error ? cause : new Error(String(cause)))
    }
    return Effect.sync(() => handler.interrupt())
  })

/**
 * `client` with its bodiless `HEAD` requests sent straight on `dispatcher` (the one `client` is built on), when
 * the platform client would not trace them and no `UndiciRequestOptions` are in the request's context.
 *
 * @since 0.1.0
 */
export const withHeadFastPath = (client: HttpClient.HttpClient, dispatcher: Undici.Dispatcher): HttpClient.HttpClient =>
  HttpClient.transform(client, (effect, request) => {
    if (request.method !== "HEAD" || request.body._tag !== "Empty") return effect
    return Effect.withFiberRuntime((fiber) => {
      const traced = fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
        !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
      if (traced || fiber.currentContext.unsafeMap.has(NodeHttpClient.UndiciRequestOptions.key)) return effect
      const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
      return Either.isLeft(url) ? effect : send(dispatcher, request, url.right)
    })
  })
