/**
 * An `HttpClient` sent straight on `node:http` / `node:https` agents (issue 19).
 *
 * Node's own HTTP client parses answers with the llhttp built into the `node` binary: nothing to load or to
 * compile at start (undici loads ~1 MB of JavaScript and compiles, then optimises, a WebAssembly parser), and
 * each piece of a body reaches us as one buffer. Measured on one machine against the same registry, a 1 GiB
 * download hashed on the fly peaked at 84–88 MiB on bare `node:http` against 117–127 MiB on a bare undici
 * `Agent`, with less CPU; 2 000 `HEAD`s took the same CPU at 53 against 91 MiB.
 *
 * What the client does for each request: the body is written piece by piece, each piece handed to the socket
 * before the next is pulled (so a body read into reused buffers never has a buffer overwritten while it is in
 * flight); the headers timeout runs from the end of the request body to the answer's headers; the body-idle
 * timeout runs while the consumer waits for the next piece, never while the body is paused because the
 * consumer is busy; an answer without a body (`HEAD`, `Content-Length: 0`, 204, 304) is drained at once so its
 * connection goes back to the pool; a request the fiber gave up is destroyed with its socket, unless its answer
 * had already ended.
 *
 * @internal
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import * as HttpModule from "node:http"
import * as HttpsModule from "node:https"
import * as Body from "./bodyStream.js"
import * as ReadBuffer from "./readBuffer.js"
import * as Release from "./release.js"

/** @internal */
export interface Settings {
  readonly http: Http.Agent
  readonly https: Http.Agent
  /** from the end of the request body to the answer's headers; 0: none */
  readonly headersMs: number
  /** longest wait for the next piece of a body the consumer is waiting for; 0: none */
  readonly bodyIdleMs: number
  /** bytes of a body that may wait, received and not taken (see `bodyStream`) */
  readonly limit: number
  readonly budget: Body.BodyBudget | undefined
}

/**
 * A timeout as Node and undici report one: an `Error` whose `code` core's `RegistryError.transportKind` reads.
 *
 * @internal
 */
export const timeoutError = (code: string, detail: string): Error => Object.assign(new Error(detail), { code })

// Node's own words when a connection closes before any answer arrived: told apart from a connection broken
// in the middle of an answer as undici's errors are (no bytes read).
const closedBeforeAnswer = (cause: unknown): unknown =>
  cause instanceof Error && "code" in cause && cause.code === "ECONNRESET" && cause.message === "socket hang up"
    ? { code: "ECONNRESET", message: "socket hang up", socket: { bytesRead: 0 }, cause }
    : cause

// A request as errors name it: method and URL without query or user information (they may be logged).
const bareRequest = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.make(request.method)(Body.bareUrl(request.url))

type Resume = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => void

// Requests whose answer was dropped with its body unread (and not drained): destroyed, so that their connection
// does not stay taken.
const unread = new FinalizationRegistry<Http.IncomingMessage>((message) => {
  if (!message.complete && !message.destroyed) message.destroy()
})

/** The answer: status and headers read once, the body as a `bodyStream` of the message. */
class NodeResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly status: number
  readonly headers: Headers.Headers
  private cachedCookies: Cookies.Cookies | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly source: Http.IncomingMessage,
    private readonly settings: Settings,
    private readonly bodiless: boolean,
    private readonly prefetched: Effect.Effect<ReadonlyArray<Uint8Array>, unknown> | undefined
  ) {
    super()
    this.status = source.statusCode ?? 0
    this.headers = Headers.fromInput(source.headers)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    this.cachedCookies = header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
    return this.cachedCookies
  }

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.source.socket?.remoteAddress)
  }

  private decodeError(cause: unknown, description?: string): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({
      request: bareRequest(this.request),
      response: this,
      reason: "Decode",
      cause,
      ...(description !== undefined ? { description } : {})
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    if (this.bodiless) return Stream.empty
    unread.unregister(this)
    if (this.prefetched !== undefined) {
      return Stream.unwrap(Effect.map(
        Effect.mapError(this.prefetched, (cause) => this.decodeError(cause)),
        (pieces) => Stream.fromChunk(Chunk.unsafeFromArray([...pieces]))
      ))
    }
    // the watch starts with the reading (its listeners and the body stream's are added in the same tick, before
    // the message flows)
    return Stream.suspend(() => {
      watchBody(this.source, this.settings.bodyIdleMs)
      // Node's HTTP parser copies each piece of a body into a buffer of its own: the pieces are fresh; once their
      // reader claims them the connection reads in larger pieces (`readBuffer.ts`)
      return Body.freshBodyStream(
        this.source,
        (cause) => this.decodeError(cause),
        this.settings.limit,
        this.settings.budget,
        true,
        ReadBuffer.widenOnClaim(this.source.socket, this.source)
      )
    })
  }

  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    return Effect.map(Stream.runCollect(this.stream), BlobSource.concatBytes)
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    // a copy typed as a plain ArrayBuffer (`text` and `json` decode the bytes as they are)
    return Effect.map(this.bytes, (bytes) => bytes.slice().buffer)
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => new TextDecoder().decode(bytes))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : JSON.parse(text)),
        catch: (cause) => this.decodeError(cause, "the body is not JSON")
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.fail(this.decodeError(undefined, "form data bodies are not read by this client"))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

// Statuses that never have a body, whatever the headers say.
const bodilessStatus = (status: number | undefined): boolean =>
  status === 204 || status === 304 || (status !== undefined && status < 200)

/**
 * Watches a body for idleness: fails it (an `UND_ERR_BODY_TIMEOUT`, as undici names it) when no piece arrives
 * for `idleMs` while it flows. A paused body (the consumer is busy, or the memory budget is full) is not idle.
 */
const watchBody = (message: Http.IncomingMessage, idleMs: number): void => {
  if (idleMs <= 0) return
  let last = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const check = () => {
    timer = undefined
    if (message.isPaused() || message.complete) return
    const quiet = performance.now() - last
    if (quiet >= idleMs) {
      message.destroy(timeoutError("UND_ERR_BODY_TIMEOUT", `no data in the response body for ${idleMs} ms`))
      return
    }
    arm(idleMs - quiet)
  }
  const arm = (ms: number) => {
    if (timer === undefined) timer = setTimeout(check, ms)
  }
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  message.on("data", () => {
    last = performance.now()
  })
  message.on("resume", () => {
    last = performance.now()
    arm(idleMs)
  })
  message.on("pause", stop)
  message.once("end", stop)
  message.once("close", stop)
  arm(idleMs)
}

// Bodies this small (by their Content-Length) are read as soon as the answer arrives, as undici does with what
// fits its buffer: the connection goes back to the pool even when nobody reads the body (a ping's, an error's).
const SmallBody = 64 * 1024

/** Reads the whole (small) body of `message` now; the effect gives its pieces once it has ended. */
const prefetch = (message: Http.IncomingMessage, idleMs: number): Effect.Effect<ReadonlyArray<Uint8Array>, unknown> => {
  const pieces: Array<Uint8Array> = []
  let outcome: { readonly cause?: unknown } | undefined
  const waiters = new Set<() => void>()
  const settle = (result: { readonly cause?: unknown }) => {
    if (outcome !== undefined) return
    outcome = result
    for (const wake of waiters) wake()
    waiters.clear()
  }
  message.on("data", (piece: Uint8Array) => {
    pieces.push(piece)
  })
  message.once("end", () => settle({}))
  message.once("error", (cause) => settle({ cause }))
  message.once(
    "close",
    () => settle(message.complete ? {} : { cause: new Error("the response body closed before its end") })
  )
  watchBody(message, idleMs)
  const read: Effect.Effect<ReadonlyArray<Uint8Array>, unknown> = Effect.suspend(() => {
    if (outcome !== undefined) return "cause" in outcome ? Effect.fail(outcome.cause) : Effect.succeed(pieces)
    return Effect.async((resume) => {
      const wake = () => resume(read)
      waiters.add(wake)
      return Effect.sync(() => {
        waiters.delete(wake)
      })
    })
  })
  return read
}

// The request's headers as Node takes them, with the body's type and length.
const headersOf = (request: HttpClientRequest.HttpClientRequest): Record<string, string> => {
  const out: Record<string, string> = { ...request.headers }
  const body = request.body
  if (body._tag === "Empty") return out
  if (body.contentType !== undefined && out["content-type"] === undefined) out["content-type"] = body.contentType
  const length = body._tag === "Uint8Array" ? body.body.length : body.contentLength
  if (length !== undefined && out["content-length"] === undefined) out["content-length"] = String(length)
  return out
}

// Writes the pieces of a streamed body, each one handed to the socket before the next is pulled; a piece the
// socket does not take within `idleMs` (the registry stopped reading) fails the request.
// Writes one chunk's pieces in order, each handed to the socket before the next (the idle timeout bounds each wait);
// fails when the request is gone, so that the body stops being pulled.
const writeChunk = (request: Http.ClientRequest, chunk: Chunk.Chunk<Uint8Array>, idleMs: number) =>
  Effect.async<void, Error>((resume) => {
    const pieces = Chunk.toReadonlyArray(chunk)
    let at = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let done = false
    const finish = (error: Error | undefined) => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      resume(error === undefined ? Effect.void : Effect.fail(error))
    }
    const next = (): void => {
      if (request.destroyed) return finish(new Error("the request was destroyed before its body was sent"))
      if (at >= pieces.length) return finish(undefined)
      const piece = pieces[at++]
      timer = idleMs > 0
        ? setTimeout(
          () => finish(timeoutError("ETIMEDOUT", `the registry took no part of the request body for ${idleMs} ms`)),
          idleMs
        )
        : undefined
      request.write(piece, (error) => {
        if (timer !== undefined) clearTimeout(timer)
        // the socket has the bytes: a piece marked as the sender's alone is freed now (BlobSource.releasedOnceWritten)
        if (!error) Release.releaseWritten([piece])
        // a chunk whose wait ended (timed out, or interrupted) writes no more of its pieces
        if (done) return
        if (error) finish(error)
        else next()
      })
    }
    next()
    return Effect.sync(() => {
      done = true
      if (timer !== undefined) clearTimeout(timer)
    })
  })

// Sends a stream body once the request exists, in a fiber of its own (forked by `send`): the stream is pulled in
// this fiber, one step per chunk, instead of through an async iterator that ran a new fiber for every pull. A
// failure of the stream (or of a write) destroys the request, which the exchange then reports; so does the
// writer's interruption (the exchange was interrupted, or its fiber ended with the body half sent), so that a
// connection holding half a request never stays open.
const writeBody = (
  ready: Deferred.Deferred<Http.ClientRequest>,
  stream: Stream.Stream<Uint8Array, unknown>,
  idleMs: number
): Effect.Effect<void> =>
  Effect.flatMap(
    Deferred.await(ready),
    (request) =>
      Stream.runForEachChunk(stream, (chunk) => writeChunk(request, chunk, idleMs)).pipe(
        Effect.onInterrupt(() => Effect.sync(() => request.destroy(new Error("request interrupted")))),
        Effect.matchCause({
          onSuccess: () => {
            if (!request.destroyed) request.end()
          },
          onFailure: (cause) => {
            const error = Cause.squash(cause)
            request.destroy(error instanceof Error ? error : new Error("the request body failed"))
          }
        })
      )
  )

const send = (
  settings: Settings,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal | undefined
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  const body = request.body
  // a stream body is written by a fiber of its own, given the request once it exists
  const writer = body._tag === "Stream"
    ? Effect.flatMap(
      Deferred.make<Http.ClientRequest>(),
      (ready) =>
        Effect.map(Effect.fork(writeBody(ready, body.stream, settings.bodyIdleMs)), (fiber) => ({ ready, fiber }))
    )
    : Effect.succeed(undefined)
  return Effect.flatMap(
    writer,
    (writing) =>
      Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume: Resume) => {
        const secure = url.protocol === "https:"
        let settled = false
        let finished = false
        let headersTimer: ReturnType<typeof setTimeout> | undefined
        const fail = (cause: unknown, reason: "Transport" | "Encode" = "Transport") => {
          if (settled) return
          settled = true
          if (headersTimer !== undefined) clearTimeout(headersTimer)
          resume(Effect.fail(new HttpClientError.RequestError({ request, reason, cause: closedBeforeAnswer(cause) })))
        }
        let req: Http.ClientRequest
        try {
          req = (secure ? HttpsModule : HttpModule).request({
            protocol: url.protocol,
            hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
            port: url.port === "" ? undefined : Number(url.port),
            // the fragment never goes on the wire
            path: url.pathname + url.search,
            method: request.method,
            headers: headersOf(request),
            agent: secure ? settings.https : settings.http
          })
        } catch (cause) {
          // Node refuses a request it cannot send (an invalid header value): a failure, never a defect
          fail(cause)
          // the body's writer waits for a request that will never be: it stops
          if (writing !== undefined) Deferred.unsafeDone(writing.ready, Effect.interrupt)
          return
        }
        // the request stays watched for errors after the answer arrived (a socket reset while the body streams
        // reaches the body through the message)
        req.on("error", fail)
        // a body this client does not send: refused before anything goes out
        const refuse = (detail: string) => {
          const cause = new Error(detail)
          fail(cause, "Encode")
          req.destroy(cause)
        }
        const abort = () => {
          if (!finished) req.destroy(new Error("request interrupted"))
        }
        signal?.addEventListener("abort", abort, { once: true })
        req.once("finish", () => {
          if (settings.headersMs > 0 && !settled) {
            headersTimer = setTimeout(() => {
              req.destroy(
                timeoutError("UND_ERR_HEADERS_TIMEOUT", `no answer within ${settings.headersMs} ms of the request`)
              )
            }, settings.headersMs)
          }
        })
        req.once("response", (message: Http.IncomingMessage) => {
          if (headersTimer !== undefined) clearTimeout(headersTimer)
          // a new answer is read in small pieces until its reader claims them (the socket is kept here: Node
          // takes it off the message at the end of an answer whose connection goes back to the pool)
          const socket = message.socket
          ReadBuffer.narrow(socket)
          const done = () => {
            finished = true
            ReadBuffer.narrow(socket)
            signal?.removeEventListener("abort", abort)
          }
          message.once("end", done)
          const bodiless = request.method === "HEAD" || bodilessStatus(message.statusCode) ||
            message.headers["content-length"] === "0"
          if (bodiless) message.resume()
          const length = message.headers["content-length"]
          const prefetched =
            !bodiless && length !== undefined && /^\d{1,6}$/.test(length) && Number(length) <= SmallBody
              ? prefetch(message, settings.bodyIdleMs)
              : undefined
          if (settled) {
            message.destroy()
            return
          }
          settled = true
          const response = new NodeResponse(request, message, settings, bodiless, prefetched)
          // without the platform's abort signal: a large body nobody reads frees its connection once the answer
          // is garbage (as the platform's client does)
          if (signal === undefined && !bodiless && prefetched === undefined) {
            unread.register(response, message, response)
          }
          resume(Effect.succeed(response))
        })
        switch (body._tag) {
          case "Empty":
            req.end()
            break
          case "Uint8Array":
            req.end(body.body)
            break
          case "Raw": {
            const raw: unknown = body.body
            if (typeof raw === "string" || raw instanceof Uint8Array) req.end(raw)
            else refuse("this client sends bodies given as bytes, text or a stream")
            break
          }
          case "FormData":
            refuse("this client does not send form data")
            break
          case "Stream":
            if (writing !== undefined) Deferred.unsafeDone(writing.ready, Effect.succeed(req))
            break
        }
        return Effect.suspend(() => {
          settled = true
          if (headersTimer !== undefined) clearTimeout(headersTimer)
          abort()
          return writing === undefined ? Effect.void : Fiber.interruptFork(writing.fiber)
        })
      })
  )
}

/**
 * The client on `settings`' agents. A request the platform would trace (its `http.client` span) goes through
 * `HttpClient.make`, which makes that span and an abort signal per request; the others (core traces its requests
 * itself and switches the platform's span off) are sent directly: interrupting the fiber before the answer
 * destroys the request, a body stopped early is destroyed by its stream, and a large body dropped unread by the
 * finalizer above. That spares each request an `AbortController`, its listener, a finalizer entry and a wrapper
 * (most requests of a client are `HEAD`s and small answers).
 *
 * @internal
 */
export const make = (settings: Settings): HttpClient.HttpClient => {
  const platform = HttpClient.make((request, url, signal) => send(settings, request, url, signal))
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(effect, (request) =>
        Effect.withFiberRuntime((fiber) => {
          const traced = fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
            !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
          if (traced) return platform.execute(request)
          const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
          return Either.isLeft(url) ? platform.execute(request) : send(settings, request, url.right, undefined)
        })),
    Effect.succeed
  )
}
