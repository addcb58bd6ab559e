/**
 * A TCP relay on loopback that counts connections, for tests and benchmarks of connection reuse: put it in front of
 * a registry (usually {@link RealRegistry}), point a client at its `url`, and read how many TCP connections the
 * client opened. Bytes go through unchanged both ways (no HTTP parsing), so the registry's absolute `Location`s
 * name the relay and keep-alive behaves as it would against the registry itself.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import { listenLoopback } from "./internal/listen.js"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** where connections are relayed: `http://host:port` (a registry's `url`) */
  readonly upstream: string
}

/**
 * A running relay.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `127.0.0.1:<port>` */
  readonly host: string
  readonly port: number
  /** connections accepted since the start or the last {@link Running.reset} */
  readonly connections: Effect.Effect<number>
  /** connections open now (relayed and not yet closed by either side) */
  readonly open: Effect.Effect<number>
  /** sets the accepted count to zero (open connections stay open) */
  readonly reset: Effect.Effect<void>
}

/**
 * The relay could not start: a bad upstream, or it could not listen.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionCounterError extends Data.TaggedError("ConnectionCounterError")<{
  readonly reason: "InvalidOptions" | "Listen"
  readonly message: string
  readonly cause?: unknown
}> {}

const parseUpstream = (upstream: string): Effect.Effect<{ host: string; port: number }, ConnectionCounterError> => {
  const invalid = new ConnectionCounterError({
    reason: "InvalidOptions",
    message: `upstream must be an http://host:port URL: ${upstream}`
  })
  return Effect.try({ try: () => new URL(upstream), catch: () => invalid }).pipe(
    Effect.filterOrFail((url) => url.protocol === "http:" && url.hostname.length > 0, () => invalid),
    Effect.map((url) => ({
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? 80 : Number(url.port)
    }))
  )
}

/**
 * Starts a relay on a free port of 127.0.0.1 to `options.upstream`. Closing the scope stops listening and destroys
 * every relayed connection.
 *
 * @example
 * ```ts
 * import { ConnectionCounter } from "@effect-registry/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const relay = yield* ConnectionCounter.make({ upstream: "http://127.0.0.1:5000" })
 *   // ... run a client against relay.url ...
 *   return yield* relay.connections
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Running, ConnectionCounterError, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = yield* parseUpstream(options.upstream)
    const sockets = new Set<Net.Socket>()
    const clients = new Set<Net.Socket>()
    let accepted = 0
    const track = (socket: Net.Socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    }
    const server = Net.createServer((client) => {
      accepted++
      const remote = Net.connect(upstream.port, upstream.host)
      track(client)
      track(remote)
      clients.add(client)
      client.once("close", () => clients.delete(client))
      client.setNoDelay(true)
      remote.setNoDelay(true)
      client.pipe(remote)
      remote.pipe(client)
      client.on("error", () => remote.destroy())
      remote.on("error", () => client.destroy())
      client.on("close", () => remote.destroy())
      remote.on("close", () => client.destroy())
    })
    const port = yield* Effect.acquireRelease(
      listenLoopback(server, (message, cause) => new ConnectionCounterError({ reason: "Listen", message, cause })),
      () =>
        Effect.sync(() => {
          server.close()
          for (const socket of sockets) socket.destroy()
          sockets.clear()
          clients.clear()
        })
    )
    return {
      url: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      port,
      connections: Effect.sync(() => accepted),
      open: Effect.sync(() => clients.size),
      reset: Effect.sync(() => {
        accepted = 0
      })
    } satisfies Running
  })
