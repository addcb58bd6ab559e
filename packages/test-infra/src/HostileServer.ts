/**
 * A small `node:http` server on a free loopback port whose answers a test writes
 * by hand, to play a hostile or broken registry: it records every request line
 * and how many body bytes its handler wrote, and closes every connection when
 * the scope closes. With helpers for the usual misbehaviours: a JSON answer, a
 * body that trickles, a body that never ends.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import { listenLoopback } from "./internal/listen.js"

/**
 * The running server: its origin (`http://127.0.0.1:PORT`), its `host:port`,
 * every request as `METHOD URL`, and the body bytes written by {@link flood}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Server {
  readonly origin: string
  readonly host: string
  readonly requests: Array<string>
  readonly written: { bytes: number }
}

/**
 * Answers a request (the request body has been set flowing and is discarded).
 *
 * @since 0.2.0
 * @category models
 */
export type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, server: Server) => void

/**
 * Starts a server answering with `handler`; it stops when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const serve = (handler: Handler): Effect.Effect<Server, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const requests: Array<string> = []
      const written = { bytes: 0 }
      const self: { server?: Server } = {}
      const http = Http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`)
        req.resume()
        if (self.server !== undefined) handler(req, res, self.server)
      })
      return listenLoopback(http, (message) => new Error(message)).pipe(
        Effect.map((port) => {
          self.server = { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, requests, written }
          return { http, server: self.server }
        })
      )
    }),
    ({ http }) =>
      Effect.async<void>((resume) => {
        http.closeAllConnections()
        http.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ server }) => server))

/**
 * Answers `status` with `body` as JSON (and a `Content-Length`).
 *
 * @since 0.2.0
 * @category answers
 */
export const json = (
  res: Http.ServerResponse,
  status: number,
  body: unknown,
  headers: Http.OutgoingHttpHeaders = {}
): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/**
 * Writes `text` one character every `everyMs`, for at most `maxMs` (then ends the answer).
 *
 * @since 0.2.0
 * @category answers
 */
export const trickle = (res: Http.ServerResponse, text: string, everyMs: number, maxMs: number): void => {
  let i = 0
  const started = Date.now()
  const timer = setInterval(() => {
    if (res.destroyed || i >= text.length || Date.now() - started > maxMs) {
      clearInterval(timer)
      res.end()
      return
    }
    res.write(text[i++])
  }, everyMs)
  res.on("close", () => clearInterval(timer))
}

/**
 * Streams zero bytes until the client stops reading (respecting backpressure) or `max` bytes are written,
 * counting them in `server.written.bytes`.
 *
 * @since 0.2.0
 * @category answers
 */
export const flood = (res: Http.ServerResponse, server: Server, max: number): void => {
  const chunk = Buffer.alloc(64 * 1024)
  const pump = () => {
    while (!res.destroyed && server.written.bytes < max) {
      server.written.bytes += chunk.length
      if (!res.write(chunk)) return void res.once("drain", pump)
    }
    res.end()
  }
  res.on("error", () => undefined)
  pump()
}
