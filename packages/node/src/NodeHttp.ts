/**
 * An undici-based `HttpClient` for registries: a keep-alive connection pool,
 * connect / first-byte / body-idle timeouts, and TLS settings (a CA to trust,
 * a client certificate, `insecure`) globally or per registry host.
 *
 * Plain `http` is never chosen silently: {@link registryUrl} builds `https://`
 * URLs unless a registry is explicitly configured with `plainHttp: true`.
 *
 * @since 0.1.0
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as NodeStreams from "node:stream"
import * as Tls from "node:tls"
import * as Body from "./internal/bodyStream.js"
import * as Head from "./internal/headRequest.js"
import * as RequestBody from "./internal/requestBody.js"

/**
 * Timeouts of the connection pool. Each accepts a `Duration` input
 * (`"10 seconds"`, a number of milliseconds...).
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeouts {
  /** Time to open the TCP connection and finish the TLS handshake. Default 30 seconds. */
  readonly connect?: Duration.DurationInput | undefined
  /** Time from sending the request until the response headers arrive (first byte). Default 60 seconds. */
  readonly headers?: Duration.DurationInput | undefined
  /** Longest pause between two pieces of a response body. Default 60 seconds. */
  readonly bodyIdle?: Duration.DurationInput | undefined
  /** How long an idle pooled connection is kept open. Default 10 seconds. */
  readonly keepAlive?: Duration.DurationInput | undefined
}

/**
 * TLS settings. `ca`, `cert` and `key` are PEM text (recognised by its
 * `-----BEGIN` line) or the path of a file holding it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsOptions {
  /** Certificate authorities to trust in addition to Node's bundled root certificates (PEM or path). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** Client certificate chain (PEM or path), for registries that require mutual TLS. */
  readonly cert?: string | undefined
  /** Private key of the client certificate (PEM or path). */
  readonly key?: string | Redacted.Redacted<string> | undefined
  /** Skip verification of the server certificate. Only ever used when set explicitly. */
  readonly insecure?: boolean | undefined
  /** Server name for SNI and certificate checks, when it differs from the host. */
  readonly servername?: string | undefined
}

/**
 * Settings for one registry host (`host[:port]`, as written in a reference).
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistryOptions extends TlsOptions {
  /** Speak plain `http` to this registry. Never assumed: it must be set explicitly. */
  readonly plainHttp?: boolean | undefined
}

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly timeouts?: Timeouts | undefined
  /** Maximum number of connections per origin. Default 32. */
  readonly connections?: number | undefined
  /** TLS settings for every origin (merged under the per-registry ones). */
  readonly tls?: TlsOptions | undefined
  /** Per-registry settings keyed by `host[:port]`. */
  readonly registries?: Readonly<Record<string, RegistryOptions>> | undefined
  /**
   * How many bytes of a response body may wait, received but not yet taken by the consumer, before the
   * socket is paused. The body reaches the stream as undici hands it over (no copies): each pull takes
   * everything received since the last one as one `Chunk`, and nothing is held back to make bigger batches
   * (buffers kept alive longer are promoted to V8's old generation, whose external memory then forces full
   * garbage collections: a download that held 4 MiB batches ran 30–40 of them per GiB, against 1 now).
   * Default 16 MiB; 0 keeps `@effect/platform`'s own body stream.
   */
  readonly bodyBuffer?: number | undefined
  /**
   * How many bytes of response bodies may wait, received but not yet taken, across every body of this
   * client at once (a pull or copy reads several blobs together): once they reach this, a body holding its
   * minimum share (a sixteenth of this, at least 64 KiB) or more is paused until the waiting bytes fall
   * below it. A body holding less than its share is never paused by the others, so a consumer that reads one
   * body and then another cannot stall. The bytes waiting are thus at most this plus a share and a piece per
   * open body. Default 2 MiB (with four bodies at once: ≤ 2 MiB + 4 × (128 KiB + a piece)): when the
   * consumers fall behind, what the network brings more waits in the kernel's socket buffers rather than in
   * JavaScript buffers, which the garbage collector would have to promote and then free in full collections
   * (a pull of 8 × 64 MiB ran 17–24 of them with 16 MiB, 3–4 with 2 MiB). Ignored when `bodyBuffer` is 0.
   * A {@link BodyBudget} made with {@link makeBodyBudget} is used as it is: its `waiting` and `peak` show
   * what the bodies hold.
   */
  readonly memoryBudget?: number | BodyBudget | undefined
  /**
   * Keep the connection for the next request after an answer to `HEAD` (`manifestDigest`, `hasBlob`,
   * `blobMetadata`). Default `true`. undici on its own closes the connection after every `HEAD` (and asks the
   * server to, with `Connection: close`), in case a broken server sends a body after the headers; every
   * `HEAD` then pays a new TCP connection (and TLS handshake). Set `false` only for a server that answers
   * `HEAD` with a body.
   */
  readonly keepAliveAfterHead?: boolean | undefined
}

/**
 * The HTTP client could not be set up: a TLS file could not be read, or undici
 * refused the options.
 *
 * @since 0.1.0
 * @category errors
 */
export class NodeHttpError extends Data.TaggedError("NodeHttpError")<{
  readonly reason: "TlsFile" | "Options"
  readonly path?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.reason === "TlsFile"
      ? `Cannot read TLS file ${this.path ?? ""}`
      : "Invalid HTTP client options"
  }
}

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

const isPem = (s: string): boolean => s.includes("-----BEGIN")

const pemOrFile = (fs: FileSystem.FileSystem, value: string): Effect.Effect<string, NodeHttpError> =>
  isPem(value)
    ? Effect.succeed(value)
    : fs.readFileString(value).pipe(
      Effect.mapError((cause) => new NodeHttpError({ reason: "TlsFile", path: value, cause }))
    )

interface ConnectTls {
  readonly ca?: Array<string>
  readonly cert?: string
  readonly key?: string
  readonly rejectUnauthorized: boolean
  readonly servername?: string
}

const resolveTls = (
  fs: FileSystem.FileSystem,
  tls: TlsOptions
): Effect.Effect<ConnectTls, NodeHttpError> =>
  Effect.gen(function*() {
    const cas = tls.ca === undefined ? [] : typeof tls.ca === "string" ? [tls.ca] : tls.ca
    const ca = yield* Effect.forEach(cas, (c) => pemOrFile(fs, c))
    const cert = tls.cert === undefined ? undefined : yield* pemOrFile(fs, tls.cert)
    const key = tls.key === undefined
      ? undefined
      : yield* pemOrFile(fs, Redacted.isRedacted(tls.key) ? Redacted.value(tls.key) : tls.key)
    return {
      ...(ca.length > 0 ? { ca: [...Tls.rootCertificates, ...ca] } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
      rejectUnauthorized: tls.insecure !== true
    }
  })

/** The TLS settings of every origin, and those of each registry configured on its own (keyed by lowercase host). */
const resolveAllTls = (fs: FileSystem.FileSystem, options: Options) =>
  Effect.gen(function*() {
    const base = options.tls ?? {}
    const defaults = yield* resolveTls(fs, base)
    const perHost = new Map<string, ConnectTls>()
    for (const [host, registry] of Object.entries(options.registries ?? {})) {
      perHost.set(host.toLowerCase(), yield* resolveTls(fs, { ...base, ...registry }))
    }
    return { defaults, perHost }
  })

const millis = (d: Duration.DurationInput | undefined, fallback: number): number =>
  d === undefined ? fallback : Duration.toMillis(Duration.decode(d))

const DefaultHeadersTimeoutMs = 60_000
const DefaultBodyIdleMs = 60_000

const hostOf = (origin: string | URL): string =>
  (typeof origin === "string" ? origin : origin.origin).replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "")

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
 * A Node readable (an undici body) as a stream of its own buffers as they arrive, with at most `limit` bytes
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
 * An `HttpClient` on undici with a keep-alive pool, timeouts and TLS settings.
 * Request failures are `HttpClientError`s; {@link classify} tells a timeout
 * or a TLS failure from a refused connection. Also provides core's
 * `RegistryClient.TransportTimeout` (the headers timeout and the body-idle
 * timeout), so that a `RegistryClient` built on it leaves those limits to undici
 * instead of timing every request and watching every blob download itself.
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
): Layer.Layer<
  HttpClient.HttpClient | RegistryClient.TransportTimeout | RegistryClient.RequestBodyReuse,
  NodeHttpError
> => {
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
  // request (makeDispatcher puts them back on each dispatch); 0 turns undici's body timeout off. The request
  // bodies go as iterables, each piece written before the next is pulled.
  const bodyIdleMs = millis(options.timeouts?.bodyIdle, DefaultBodyIdleMs)
  const transportTimeout = Layer.merge(
    Layer.succeed(RegistryClient.TransportTimeout, {
      headers: Duration.millis(millis(options.timeouts?.headers, DefaultHeadersTimeoutMs)),
      ...(bodyIdleMs > 0 ? { bodyIdle: Duration.millis(bodyIdleMs) } : {})
    }),
    Layer.succeed(RegistryClient.RequestBodyReuse, { piecesAhead: RequestBody.PiecesAhead })
  )
  const limit = Math.floor(options.bodyBuffer ?? Body.DefaultBodyBuffer)
  if (!(limit > 0)) {
    return Layer.merge(
      Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, RequestBody.withIterableBodies)).pipe(
        Layer.provide(undici)
      ),
      transportTimeout
    )
  }
  const given = options.memoryBudget
  const budgetLimit = typeof given === "object" ? given.limit : Math.floor(given ?? Body.DefaultMemoryBudget)
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.flatMap(HttpClient.HttpClient, (client) =>
      Effect.sync(() => {
        // one budget for every body of the clients built from this layer
        const budget = typeof given === "object" ? given : Body.makeBodyBudget(budgetLimit > 0 ? budgetLimit : limit)
        return HttpClient.transformResponse(
          RequestBody.withIterableBodies(client),
          Effect.map((response) => Body.withBodyStream(response, limit, budget))
        )
      }))
  ).pipe(Layer.provide(undici), Layer.merge(transportTimeout))
}

// ---------------------------------------------------------------------------------------------------------------
// node:http

const timeoutError = (detail: string): Error => Object.assign(new Error(detail), { code: "ETIMEDOUT" })

/**
 * Watches a new socket: destroys it (with an `ETIMEDOUT` error) when it is not connected within `connectMs`
 * (the TLS handshake included), and when no data moves on it for `idleMs` (the agent's socket timeout).
 */
const watchSocket = (socket: Net.Socket, secure: boolean, connectMs: number, idleMs: number): Net.Socket => {
  if (connectMs > 0) {
    const timer = setTimeout(
      () => socket.destroy(timeoutError(`could not connect within ${connectMs} ms`)),
      connectMs
    )
    timer.unref()
    const clear = () => clearTimeout(timer)
    socket.once(secure ? "secureConnect" : "connect", clear)
    socket.once("close", clear)
  }
  if (idleMs > 0) socket.on("timeout", () => socket.destroy(timeoutError(`no data for ${idleMs} ms`)))
  return socket
}

// Node's own words when a connection closes before any answer arrived (ECONNRESET): told apart from a
// connection broken in the middle of an answer the way undici's errors are (no bytes read).
const closedBeforeAnswer = (cause: unknown): unknown =>
  Predicate.hasProperty(cause, "code") && cause.code === "ECONNRESET" &&
    Predicate.hasProperty(cause, "message") && cause.message === "socket hang up"
    ? { code: "ECONNRESET", message: "socket hang up", socket: { bytesRead: 0 }, cause }
    : cause

const withNodeBodyStream = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): HttpClientResponse.HttpClientResponse => {
  if (response.request.method === "HEAD") return response
  const source: unknown = Predicate.hasProperty(response, "source") ? response.source : undefined
  if (!(source instanceof NodeStreams.Readable)) return response
  const request = HttpClientRequest.make(response.request.method)(Body.bareUrl(response.request.url))
  const stream = bodyStream(
    source,
    (cause) => new HttpClientError.ResponseError({ request, response, reason: "Decode", cause }),
    limit
  )
  const wrapped: unknown = Object.create(response, { stream: { get: () => stream } })
  return wrapped as HttpClientResponse.HttpClientResponse
}

/**
 * The same client as {@link layer} on Node's own `node:http` / `node:https` instead of undici: a keep-alive
 * `Agent` per TLS setting (destroyed when the layer's scope closes), the TLS settings of {@link TlsOptions}
 * globally or per registry, a connect timeout (TCP and TLS handshake) and a body-idle timeout (no data on the
 * socket for that long, also how long an idle pooled connection is kept); the headers timeout is left to
 * `RegistryClient` (its request timeout), so `timeouts.headers` and `timeouts.keepAlive` are not used, nor
 * `keepAliveAfterHead` (node:http keeps the connection after a `HEAD`). Failures carry Node's system and TLS
 * error codes, which core's `RegistryError.transportKind` reads as it reads undici's.
 *
 * It loads much faster than undici (no WebAssembly HTTP parser to compile at start and to finish optimising
 * at exit): meant for short-lived processes such as a command line; for long transfers {@link layer} is the
 * faster one.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@effect-registry/node"
 *
 * const HttpLive = NodeHttp.layerNodeHttp({ timeouts: { connect: "10 seconds" }, tls: { ca: "/etc/ssl/ca.pem" } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNodeHttp = (
  options: Options = {}
): Layer.Layer<HttpClient.HttpClient, NodeHttpError> => {
  const agents = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const timeouts = options.timeouts ?? {}
    const connectMs = millis(timeouts.connect, 30_000)
    const idleMs = millis(timeouts.bodyIdle, 60_000)
    const { defaults, perHost } = yield* resolveAllTls(fs, options)
    const tlsFor = (host: string, port: number): ConnectTls => {
      const name = host.toLowerCase()
      return perHost.get(`${name}:${port}`) ?? (port === 443 ? perHost.get(name) : undefined) ??
        perHost.get(name) ?? defaults
    }
    const agentOptions = { keepAlive: true, maxSockets: options.connections ?? 32, timeout: idleMs }
    class PlainAgent extends Http.Agent {
      override createConnection(
        opts: Net.NetConnectOpts,
        callback?: (err: Error | null, socket: NodeStreams.Duplex) => void
      ): NodeStreams.Duplex {
        return watchSocket(super.createConnection(opts, callback) as Net.Socket, false, connectMs, idleMs)
      }
    }
    class SecureAgent extends Https.Agent {
      override createConnection(
        opts: Net.NetConnectOpts,
        callback?: (err: Error | null, socket: NodeStreams.Duplex) => void
      ): NodeStreams.Duplex {
        const host = Predicate.hasProperty(opts, "host") && typeof opts.host === "string" ? opts.host : "localhost"
        const port = Predicate.hasProperty(opts, "port") && typeof opts.port === "number" ? opts.port : 443
        const tls = tlsFor(host, port)
        return watchSocket(
          super.createConnection({ ...opts, ...tls }, callback) as Net.Socket,
          true,
          connectMs,
          idleMs
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
    return NodeHttpClient.HttpAgent.of({
      [NodeHttpClient.HttpAgentTypeId]: NodeHttpClient.HttpAgentTypeId,
      http,
      https
    })
  })
  const limit = Math.floor(options.bodyBuffer ?? Body.DefaultBodyBuffer)
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.map(NodeHttpClient.make, (client) =>
      HttpClient.transformResponse(client, (effect) =>
        effect.pipe(
          Effect.mapError((error) =>
            error._tag === "RequestError" && error.reason === "Transport"
              ? new HttpClientError.RequestError({ ...error, cause: closedBeforeAnswer(error.cause) })
              : error
          ),
          Effect.map((response) => limit > 0 ? withNodeBodyStream(response, limit) : response)
        )))
  ).pipe(
    Layer.provide(Layer.scoped(NodeHttpClient.HttpAgent, agents)),
    Layer.provide(NodeFileSystem.layer)
  )
}
