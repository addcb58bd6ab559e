/**
 * The same registry `HttpClient` as `NodeHttp.layer` on undici instead of `node:http`: a keep-alive pool per
 * origin (`Agent`), `HEAD` requests sent straight on the dispatcher, request bodies as iterables undici pulls.
 * It loads undici whole (through `@effect/platform-node`) and compiles its WebAssembly HTTP parser, so a
 * process using it holds ~20–40 MiB more than one on `NodeHttp.layer`; use it where undici is wanted for its
 * own sake (an undici dispatcher shared with other code, `NodeHttpClient.UndiciRequestOptions`). Import it from
 * its own path, `@effect-registry/node/NodeHttpUndici` (the package's index leaves it out, so that a program on
 * `NodeHttp` never loads undici).
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Body from "./internal/bodyStream.js"
import * as Head from "./internal/headRequest.js"
import {
  budgetOf,
  DefaultBodyIdleMs,
  DefaultHeadersTimeoutMs,
  hostOf,
  millis,
  NodeHttpError,
  type Options,
  resolveAllTls,
  type TransportLayer,
  transportServices
} from "./internal/httpOptions.js"
import * as RequestBody from "./internal/requestBody.js"

/**
 * Make the undici dispatcher behind {@link layer}: an `Agent` keeping a
 * keep-alive pool per origin, with the TLS settings of that origin and the
 * configured timeouts. Destroyed when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDispatcher = (
  options: Options = {}
): Effect.Effect<Undici.Dispatcher, NodeHttpError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const timeouts = options.timeouts ?? {}
    const connectTimeout = millis(timeouts.connect, 30_000)
    const headersTimeout = millis(timeouts.headers, DefaultHeadersTimeoutMs)
    const bodyTimeout = millis(timeouts.bodyIdle, DefaultBodyIdleMs)
    const keepAliveTimeout = millis(timeouts.keepAlive, 10_000)
    const { defaults, perHost } = yield* resolveAllTls(fs, options)
    const connectFor = (origin: string | URL) => {
      const host = hostOf(origin).toLowerCase()
      const tls = perHost.get(host) ?? perHost.get(host.replace(/:\d+$/, "")) ?? defaults
      return { ...tls, timeout: connectTimeout, keepAlive: true }
    }
    const agent = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          new Undici.Agent({
            connections: options.connections ?? 32,
            keepAliveTimeout,
            headersTimeout,
            bodyTimeout,
            connectTimeout,
            factory: (origin: string | URL, opts: object) =>
              new Undici.Pool(origin, { ...opts, connect: connectFor(origin) })
          }),
        catch: (cause) => new NodeHttpError({ reason: "Options", cause })
      }),
      (agent) => Effect.promise(() => agent.destroy())
    )
    // @effect/platform-node sets per-request headers/body timeouts (which win over the
    // Agent's); this interceptor puts ours back. undici marks the connection of every HEAD to be closed
    // once answered (and sends `Connection: close`) unless the request says `reset: false`.
    const keepAfterHead = options.keepAliveAfterHead !== false
    return agent.compose((dispatch) => (opts, handler) =>
      dispatch(
        keepAfterHead && opts.method === "HEAD" && opts.reset == null
          ? { ...opts, headersTimeout, bodyTimeout, reset: false }
          : { ...opts, headersTimeout, bodyTimeout },
        handler
      )
    )
  })

/**
 * An `HttpClient` on undici with a keep-alive pool, timeouts and TLS settings.
 * Request failures are `HttpClientError`s; {@link classify} tells a timeout
 * or a TLS failure from a refused connection. Also provides core's
 * `RegistryClient.TransportTimeout` (the headers timeout and the body-idle
 * timeout), so that a `RegistryClient` built on it leaves those limits to undici
 * instead of timing every request and watching every blob download itself.
 *
 * @example
 * ```ts
 * import * as NodeHttpUndici from "@effect-registry/node/NodeHttpUndici"
 *
 * const HttpLive = NodeHttpUndici.layer({
 *   timeouts: { connect: "10 seconds", headers: "30 seconds", bodyIdle: "60 seconds" },
 *   registries: { "registry.internal:5000": { ca: "/etc/ssl/internal-ca.pem" } }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): TransportLayer => {
  // the platform's undici client, with HEAD requests sent straight on the dispatcher (internal/headRequest.ts)
  const undici = Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const given = yield* Effect.serviceOption(NodeHttpClient.UndiciRequestOptions)
      return Option.isSome(given) ? client : Head.withHeadFastPath(client, yield* NodeHttpClient.Dispatcher)
    })
  ).pipe(
    Layer.provide(NodeHttpClient.layerUndiciWithoutDispatcher),
    Layer.provide(Layer.scoped(NodeHttpClient.Dispatcher, makeDispatcher(options))),
    Layer.provide(NodeFileSystem.layer)
  )
  // undici enforces the headers timeout and the body timeout (no data while the body is not paused) on every
  // request (makeDispatcher puts them back on each dispatch); 0 turns either off. The request bodies go as
  // iterables, each piece written before the next is pulled.
  const transportTimeout = transportServices(options)
  const limit = Math.floor(options.bodyBuffer ?? Body.DefaultBodyBuffer)
  if (!(limit > 0)) {
    return Layer.merge(
      Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, RequestBody.withIterableBodies)).pipe(
        Layer.provide(undici)
      ),
      transportTimeout
    )
  }
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.flatMap(HttpClient.HttpClient, (client) =>
      Effect.sync(() => {
        // one budget for every body of the clients built from this layer
        const budget = budgetOf(options, limit)
        return HttpClient.transformResponse(
          RequestBody.withIterableBodies(client),
          Effect.map((response) => Body.withBodyStream(response, limit, budget))
        )
      }))
  ).pipe(Layer.provide(undici), Layer.merge(transportTimeout))
}
