/**
 * The registry `HttpClient` for Node, on Node's own `node:http` / `node:https`: a keep-alive connection pool,
 * connect / first-byte / body-idle timeouts, and TLS settings (a CA to trust, a client certificate,
 * `insecure`) globally or per registry host. `NodeHttpUndici` has the same client on undici.
 *
 * Plain `http` is never chosen silently: {@link registryUrl} builds `https://`
 * URLs unless a registry is explicitly configured with `plainHttp: true`.
 *
 * @since 0.1.0
 */
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import type * as NodeStreams from "node:stream"
import * as Body from "./internal/bodyStream.js"
import {
  budgetOf,
  type ConnectTls,
  DefaultBodyIdleMs,
  DefaultHeadersTimeoutMs,
  millis,
  type Options,
  resolveAllTls,
  type TransportLayer,
  transportServices
} from "./internal/httpOptions.js"
import * as NodeClient from "./internal/nodeClient.js"
import * as ReadBuffer from "./internal/readBuffer.js"

export {
  /**
   * The HTTP client could not be set up: a TLS file could not be read, or the options were refused.
   *
   * @since 0.1.0
   * @category errors
   */
  NodeHttpError
} from "./internal/httpOptions.js"

export type {
  /**
   * Options of {@link layer} (and of `NodeHttpUndici.layer`).
   *
   * @since 0.1.0
   * @category models
   */
  Options,
  /**
   * Settings for one registry host (`host[:port]`, as written in a reference).
   *
   * @since 0.1.0
   * @category models
   */
  RegistryOptions,
  /**
   * Timeouts of the connection pool. Each accepts a `Duration` input (`"10 seconds"`, a number of milliseconds...).
   *
   * @since 0.1.0
   * @category models
   */
  Timeouts,
  /**
   * TLS settings. `ca`, `cert` and `key` are PEM text (recognised by its `-----BEGIN` line) or the path of a file
   * holding it.
   *
   * @since 0.1.0
   * @category models
   */
  TlsOptions,
  /**
   * What {@link layer} (and `NodeHttpUndici.layer`) provides: the `HttpClient` and core's `TransportTimeout` and
   * `RequestBodyReuse`; it fails with `NodeHttpError`.
   *
   * @since 0.1.0
   * @category models
   */
  TransportLayer
} from "./internal/httpOptions.js"

/**
 * Build the base URL of a registry: `https://host` unless `plainHttp` is set.
 * The scheme is never inferred from the host: `localhost:5000` is https too,
 * and `insecure` (skip certificate checks) keeps https.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@effect-registry/node"
 *
 * NodeHttp.registryUrl("registry.example.com") // "https://registry.example.com"
 * NodeHttp.registryUrl("127.0.0.1:5000", { plainHttp: true }) // "http://127.0.0.1:5000"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const registryUrl = (
  host: string,
  options?: { readonly plainHttp?: boolean | undefined; readonly insecure?: boolean | undefined }
): string =>
  `${options?.plainHttp === true ? "http" : "https"}://${
    host.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "")
  }`

/**
 * What went wrong with a request, from the undici error inside an
 * `HttpClientError` (or any cause): a timeout, a TLS failure, a refused or
 * reset connection, or something else.
 *
 * @since 0.1.0
 * @category utils
 */
export type FailureKind = "Timeout" | "Tls" | "Connection" | "Other"

/**
 * Classify a failed request, from core's `RegistryError.transportKind` (which
 * reads the Node / undici error code in `HttpClientError.cause` and `cause`
 * chains): a `TransportError` carries the finer `kind` itself.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@effect-registry/node"
 *
 * NodeHttp.classify({ code: "UND_ERR_HEADERS_TIMEOUT" }) // "Timeout"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const classify = (error: unknown): FailureKind => {
  const kind = RegistryError.transportKind(error)
  switch (kind) {
    case "TimedOut":
      return "Timeout"
    case "ConnectionRefused":
    case "NameNotResolved":
    case "HostUnreachable":
    case "ConnectionReset":
    case "ClosedBeforeAnswer":
      return "Connection"
    case "Other":
      return "Other"
    default:
      return "Tls"
  }
}

/**
 * A count of response-body bytes received but not yet taken, shared by the bodies of one client
 * ({@link layer}'s `memoryBudget`): see {@link bodyStream}. `waiting` is what the bodies hold right now and
 * `peak` the most they held at once.
 *
 * @since 0.1.0
 * @category models
 */
export type BodyBudget = Body.BodyBudget

/**
 * A {@link BodyBudget} of `limit` bytes, to share between clients or to read its figures.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBodyBudget: (limit: number) => BodyBudget = Body.makeBodyBudget

/**
 * A Node readable (a response body) as a stream of its own buffers as they arrive, with at most `limit` bytes
 * waiting (see `internal/bodyStream.ts` for the rules); with a shared `budget` the bodies of a client wait
 * within it together.
 *
 * @since 0.1.0
 * @category utils
 */
export const bodyStream: <E>(
  readable: NodeStreams.Readable,
  onError: (cause: unknown) => E,
  limit?: number,
  budget?: BodyBudget
) => Stream.Stream<Uint8Array, E> = Body.bodyStream

/**
 * Watches a new socket: destroys it (with an `ETIMEDOUT` error) when it is not connected within `connectMs`
 * (the TLS handshake included). Idle connections in the pool are closed by the agent (its `timeout`); a
 * request's own silences are watched by the client (`internal/nodeClient.ts`).
 */
const watchConnect = (socket: Net.Socket, secure: boolean, connectMs: number): Net.Socket => {
  if (connectMs > 0) {
    const timer = setTimeout(
      () => socket.destroy(NodeClient.timeoutError("ETIMEDOUT", `could not connect within ${connectMs} ms`)),
      connectMs
    )
    timer.unref()
    const clear = () => clearTimeout(timer)
    socket.once(secure ? "secureConnect" : "connect", clear)
    socket.once("close", clear)
  }
  return socket
}

/**
 * An `HttpClient` for registries on Node's own `node:http` / `node:https` (`internal/nodeClient.ts`): a
 * keep-alive `Agent` per scheme (at most `connections` sockets per origin, idle ones closed after
 * `timeouts.keepAlive`, all destroyed when the layer's scope closes), the TLS settings of {@link TlsOptions}
 * globally or per registry, and the timeouts of {@link Timeouts}: connect (TCP and TLS handshake), headers (from
 * the end of the request body to the answer's headers) and body idle (no piece of a body the consumer is
 * waiting for; time the consumer spends on a piece, with the body paused, does not count; also the longest wait
 * for the socket to take a piece of a request body). Failures are `HttpClientError`s carrying Node's system and
 * TLS error codes (a timeout: `UND_ERR_HEADERS_TIMEOUT`, `UND_ERR_BODY_TIMEOUT` or `ETIMEDOUT`), which core's
 * `RegistryError.transportKind` and {@link classify} read.
 *
 * Response bodies are read by {@link bodyStream}, bounded by `bodyBuffer` per body and `memoryBudget` across the
 * client's bodies; a body of at most 64 KiB (by its `Content-Length`) is read as soon as its answer arrives, and
 * an answer without a body is drained at once, so their connections go back to the pool whether or not the body
 * is read. Stream request bodies are written one piece at a time, each handed to the socket before the next is
 * pulled.
 *
 * Also provides core's `RegistryClient.TransportTimeout` (so a `RegistryClient` leaves the headers and body-idle
 * limits to this layer instead of timing every request and watching every download itself) and
 * `RegistryClient.RequestBodyReuse` (uploads from files read into a few reused buffers).
 *
 * Nothing is loaded beyond Node's own modules: compared with `NodeHttpUndici.layer`, a process holds 20–40 MiB
 * less (no undici, no WebAssembly parser to compile and optimise) and starts faster.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@effect-registry/node"
 *
 * const HttpLive = NodeHttp.layer({
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
  const timeouts = options.timeouts ?? {}
  const headersMs = millis(timeouts.headers, DefaultHeadersTimeoutMs)
  const bodyIdleMs = millis(timeouts.bodyIdle, DefaultBodyIdleMs)
  const client = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const connectMs = millis(timeouts.connect, 30_000)
    const { defaults, perHost } = yield* resolveAllTls(fs, options)
    const tlsFor = (host: string, port: number): ConnectTls => {
      const name = host.toLowerCase()
      return perHost.get(`${name}:${port}`) ?? (port === 443 ? perHost.get(name) : undefined) ??
        perHost.get(name) ?? defaults
    }
    // `timeout`: how long an idle connection stays in the pool (the agent closes it then)
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.connections ?? 32,
      timeout: millis(timeouts.keepAlive, 10_000)
    }
    class PlainAgent extends Http.Agent {
      override createConnection(
        opts: Net.NetConnectOpts,
        callback?: (err: Error | null, socket: NodeStreams.Duplex) => void
      ): NodeStreams.Duplex {
        const read = ReadBuffer.withReadBuffer(opts, true)
        return watchConnect(read.attach(super.createConnection(read.opts, callback) as Net.Socket), false, connectMs)
      }
    }
    class SecureAgent extends Https.Agent {
      override createConnection(
        opts: Net.NetConnectOpts,
        callback?: (err: Error | null, socket: NodeStreams.Duplex) => void
      ): NodeStreams.Duplex {
        const host = Predicate.hasProperty(opts, "host") && typeof opts.host === "string" ? opts.host : "localhost"
        const port = Predicate.hasProperty(opts, "port") && typeof opts.port === "number" ? opts.port : 443
        const read = ReadBuffer.withReadBuffer({ ...opts, ...tlsFor(host, port) }, false)
        return watchConnect(
          read.attach(super.createConnection(read.opts, callback) as Net.Socket),
          true,
          connectMs
        )
      }
    }
    const http = yield* Effect.acquireRelease(
      Effect.sync(() => new PlainAgent(agentOptions)),
      (agent) => Effect.sync(() => agent.destroy())
    )
    const https = yield* Effect.acquireRelease(
      Effect.sync(() => new SecureAgent(agentOptions)),
      (agent) => Effect.sync(() => agent.destroy())
    )
    const given = Math.floor(options.bodyBuffer ?? Body.DefaultBodyBuffer)
    const limit = given > 0 ? given : Body.DefaultBodyBuffer
    return NodeClient.make({ http, https, headersMs, bodyIdleMs, limit, budget: budgetOf(options, limit) })
  })
  return Layer.merge(
    Layer.scoped(HttpClient.HttpClient, client).pipe(Layer.provide(NodeFileSystem.layer)),
    transportServices(options)
  )
}
