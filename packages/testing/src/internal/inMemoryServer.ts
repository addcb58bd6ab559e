/**
 * Serving the in-memory registry over a real loopback socket with @effect/platform's HTTP
 * server (Node).
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { Request, Response } from "./inMemoryTypes.js"

/** A loopback HTTP server on a free port; its origin. @internal */
export const listen: Effect.Effect<
  { readonly server: HttpServer.HttpServer; readonly origin: string },
  HttpServerError.ServeError,
  Scope.Scope
> = Effect.gen(function*() {
  const server = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
  const address = server.address
  const origin = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : "http://127.0.0.1"
  return { server, origin }
})

const parseUrl = (path: string, host: string): URL | undefined => {
  try {
    return new URL(path, `http://${host}`)
  } catch {
    return undefined
  }
}

/** Destroys the socket; the server interrupts the fiber when the socket closes. */
const reset = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<never> =>
  Effect.zipRight(
    Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()),
    Effect.never
  )

/** @internal */
export const app = (
  handle: (request: Request) => Effect.Effect<Response>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = parseUrl(request.url, request.headers["host"] ?? "127.0.0.1")
    if (url === undefined) return HttpServerResponse.text("bad request", { status: 400 })
    const response = yield* handle({ method: request.method, url, headers: request.headers, body: request.stream })
    if (response._tag === "Reset") return yield* reset(request)
    const options = { status: response.status, headers: response.headers }
    if (response.body === undefined) return HttpServerResponse.empty(options)
    if (response.body instanceof Uint8Array) return HttpServerResponse.uint8Array(response.body, options)
    return HttpServerResponse.stream(
      response.body.pipe(Stream.catchAll(() => Stream.fromEffect(reset(request)))),
      options
    )
  })

/** @internal */
export const serve = (
  server: HttpServer.HttpServer,
  handle: (request: Request) => Effect.Effect<Response>
): Effect.Effect<void, never, Scope.Scope> => server.serve(app(handle))
