/**
 * The options of the Node HTTP layers (`NodeHttp.layer` on `node:http`, `NodeHttpUndici.layer` on undici), the
 * error of their set-up, and the TLS settings both resolve from them. `NodeHttp` re-exports the public parts.
 *
 * @since 0.1.0
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Tls from "node:tls"
import * as Body from "./bodyStream.js"
import type { BodyBudget } from "./bodyStream.js"
import * as RequestBody from "./requestBody.js"

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
 * Options of `NodeHttp.layer` and `NodeHttpUndici.layer`.
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
   * socket is paused. The body reaches the stream as the socket hands it over (no copies): each pull takes
   * everything received since the last one as one `Chunk`, and nothing is held back to make bigger batches
   * (buffers kept alive longer are promoted to V8's old generation, whose external memory then forces full
   * garbage collections: a download that held 4 MiB batches ran 30–40 of them per GiB, against 1 now).
   * Default 16 MiB. With `NodeHttpUndici.layer`, 0 keeps `@effect/platform`'s own body stream.
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
 * What `NodeHttp.layer` and `NodeHttpUndici.layer` provide (the client and what it tells core), and how they fail.
 */
export type TransportLayer = Layer.Layer<
  HttpClient.HttpClient | RegistryClient.TransportTimeout | RegistryClient.RequestBodyReuse,
  NodeHttpError
>

/**
 * The HTTP client could not be set up: a TLS file could not be read, or the
 * options were refused.
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

export const isPem = (s: string): boolean => s.includes("-----BEGIN")

const pemOrFile = (fs: FileSystem.FileSystem, value: string): Effect.Effect<string, NodeHttpError> =>
  isPem(value)
    ? Effect.succeed(value)
    : fs.readFileString(value).pipe(
      Effect.mapError((cause) => new NodeHttpError({ reason: "TlsFile", path: value, cause }))
    )

export interface ConnectTls {
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
export const resolveAllTls = (fs: FileSystem.FileSystem, options: Options) =>
  Effect.gen(function*() {
    const base = options.tls ?? {}
    const defaults = yield* resolveTls(fs, base)
    const perHost = new Map<string, ConnectTls>()
    for (const [host, registry] of Object.entries(options.registries ?? {})) {
      perHost.set(host.toLowerCase(), yield* resolveTls(fs, { ...base, ...registry }))
    }
    return { defaults, perHost }
  })

export const millis = (d: Duration.DurationInput | undefined, fallback: number): number =>
  d === undefined ? fallback : Duration.toMillis(Duration.decode(d))

export const DefaultHeadersTimeoutMs = 60_000
export const DefaultBodyIdleMs = 60_000

export const hostOf = (origin: string | URL): string =>
  (typeof origin === "string" ? origin : origin.origin).replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "")

/**
 * The one budget for every body of the clients a layer builds: the given `BodyBudget` as it is, or a new one of
 * `memoryBudget` bytes (of `bodyLimit` when that is not positive).
 */
export const budgetOf = (options: Options, bodyLimit: number): BodyBudget => {
  const given = options.memoryBudget
  if (typeof given === "object") return given
  const limit = Math.floor(given ?? Body.DefaultMemoryBudget)
  return Body.makeBodyBudget(limit > 0 ? limit : bodyLimit)
}

/**
 * What both layers tell core besides the client: the limits they enforce themselves (`TransportTimeout`: the
 * headers timeout, infinite when turned off so that the client times each request itself, and the body-idle
 * timeout when on) and that they are done with each piece of a request body before pulling the one after next
 * (`RequestBodyReuse`).
 */
export const transportServices = (
  options: Options
): Layer.Layer<RegistryClient.TransportTimeout | RegistryClient.RequestBodyReuse> => {
  const headersMs = millis(options.timeouts?.headers, DefaultHeadersTimeoutMs)
  const bodyIdleMs = millis(options.timeouts?.bodyIdle, DefaultBodyIdleMs)
  return Layer.merge(
    Layer.succeed(RegistryClient.TransportTimeout, {
      headers: headersMs > 0 ? Duration.millis(headersMs) : Duration.infinity,
      ...(bodyIdleMs > 0 ? { bodyIdle: Duration.millis(bodyIdleMs) } : {})
    }),
    Layer.succeed(RegistryClient.RequestBodyReuse, { piecesAhead: RequestBody.PiecesAhead })
  )
}
