/**
 * The registry client: every operation of the Docker Registry HTTP API V2 and
 * the OCI Distribution API, as `Effect`s (and `Stream`s for bytes) with typed
 * errors.
 *
 * Building the client (`make`, `layer`) pings `/v2/`, so a registry that is
 * unreachable or not a V2 registry fails early with a typed error. Credentials
 * come from the `AuthService`; hashing from the `Hash` service.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as AuthService from "./AuthService.js"
import type * as BlobSource from "./BlobSource.js"
import * as Challenge from "./Challenge.js"
import type * as Descriptor from "./Descriptor.js"
import type * as Digest from "./Digest.js"
import * as Hash from "./Hash.js"
import * as Request from "./internal/http/index.js"
import * as Pagination from "./internal/http/pagination.js"
import * as Blobs from "./internal/ops/blobs.js"
import * as Download from "./internal/ops/download.js"
import * as GetManifest from "./internal/ops/getManifest.js"
import * as Listing from "./internal/ops/listing.js"
import * as Mount from "./internal/ops/mount.js"
import * as Ping from "./internal/ops/ping.js"
import * as PutManifest from "./internal/ops/putManifest.js"
import * as Referrers from "./internal/ops/referrers.js"
import * as Sessions from "./internal/ops/sessions.js"
import * as UploadBlob from "./internal/ops/uploadBlob.js"
import * as UploadBody from "./internal/ops/uploadBody.js"
import * as Manifest from "./Manifest.js"
import type * as RateLimit from "./RateLimit.js"
import type * as Errors from "./RegistryClientError.js"
import type * as Types from "./RegistryClientTypes.js"
import * as RegistryError from "./RegistryError.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * The errors of each operation, derived from lists of tags (see `RegistryClientError`).
 *
 * @since 0.1.0
 * @category errors
 */
export type {
  BaseError,
  BlobError,
  BlobMetadataError,
  CatalogError,
  DeleteBlobError,
  DeleteError,
  DeleteManifestError,
  DownloadBlobError,
  GetManifestError,
  HasBlobError,
  ManifestDigestError,
  ManifestError,
  MountBlobError,
  PingError,
  PutManifestError,
  ReferrersError,
  ResponseError,
  TagsError,
  UploadBlobError,
  UploadError,
  UploadSessionError
} from "./RegistryClientError.js"

/**
 * The option and result types of the operations (see `RegistryClientTypes`).
 *
 * @since 0.1.0
 * @category models
 */
export type {
  BlobMetadata,
  DownloadOptions,
  GetManifestOptions,
  ListOptions,
  ManifestInput,
  MountOptions,
  UploadOptions,
  UploadResult,
  UploadStatus
} from "./RegistryClientTypes.js"

/**
 * Default of `ListOptions.maxItems`: 100 000 names.
 *
 * @since 0.1.0
 * @category constants
 */
export { DefaultMaxItems } from "./RegistryClientTypes.js"

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The registry's base URL, `https://registry.example:5000` (an optional path prefix is kept). */
  readonly url: string
  /** Retry schedule of reads (`GET`/`HEAD`) on transient failures. Default {@link RetryPolicy.transient}. */
  readonly retrySchedule?: RetryPolicy.Policy | undefined
  /** Retry schedule of upload steps and restarts. Default {@link RetryPolicy.upload}. */
  readonly uploadRetrySchedule?: RetryPolicy.Policy | undefined
  /** Longest `Retry-After` honoured; longer pauses fail instead. Default 2 minutes. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Largest manifest read or accepted, in bytes. Default {@link Manifest.DefaultMaxSize} (4 MiB). */
  readonly maxManifestSize?: number | undefined
  /** Redirects followed for a blob read. Default 5. */
  readonly maxRedirects?: number | undefined
  /** Times a blob download resumes after a broken connection. Default 3. */
  readonly maxResumes?: number | undefined
  /** Pages followed at most in a listing. Default 10 000. */
  readonly maxPages?: number | undefined
  /** Bytes of an error body read at most. Default 64 KiB. */
  readonly errorBodyLimit?: number | undefined
  /**
   * Longest wait for the registry: until the answer's headers of a request that
   * carries no body, and between two pieces of a blob being downloaded. A
   * request that runs out fails with `TransportError` (reason `Timeout`), which
   * the retry schedules treat as transient. Default 1 minute.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Longest wait for the answer to a request carrying a body (a blob chunk, a
   * monolithic blob `PUT`, a manifest), counted from the start of the request,
   * so it includes sending the body. Default 30 minutes.
   */
  readonly uploadTimeout?: Duration.DurationInput | undefined
  /** Times a failed upload restarts in a new session (a dropped or refused session). Default 10. */
  readonly maxUploadRestarts?: number | undefined
  /**
   * Longest time reading a whole bounded body takes: a manifest, a listing or referrers page, an error
   * body. A body that trickles in slower fails with `TransportError` (reason `Timeout`). Blob bodies are
   * not bounded this way (see `timeout`). Default {@link DefaultBodyTimeout} (2 minutes).
   */
  readonly bodyTimeout?: Duration.DurationInput | undefined
  /** Applied to the `HttpClient` before use (timeouts, tracing...). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * Default of {@link Options.bodyTimeout}: 2 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultBodyTimeout: Duration.Duration = Request.DefaultBodyTimeout

/**
 * The operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The registry's base URL. */
  readonly url: string
  /** `GET /v2/` through auth. */
  readonly ping: () => Effect.Effect<void, Errors.PingError>
  /** Every repository of the catalog, all pages. */
  readonly repositories: (options?: Types.ListOptions) => Effect.Effect<ReadonlyArray<string>, Errors.CatalogError>
  /** The catalog as a stream, page by page. */
  readonly repositoriesStream: (options?: Types.ListOptions) => Stream.Stream<string, Errors.CatalogError>
  /** Every tag of a repository, all pages. */
  readonly tags: (
    repository: string,
    options?: Types.ListOptions
  ) => Effect.Effect<ReadonlyArray<string>, Errors.TagsError>
  /** The tags as a stream. */
  readonly tagsStream: (repository: string, options?: Types.ListOptions) => Stream.Stream<string, Errors.TagsError>
  /** The manifest asking for schema1 only (what distribution converts to a signed schema1). */
  readonly manifest: (repository: string, reference: string) => Effect.Effect<Manifest.Any, Errors.GetManifestError>
  /** The manifest asking for Docker schema2 only. */
  readonly manifestV2: (repository: string, reference: string) => Effect.Effect<Manifest.Any, Errors.GetManifestError>
  /** Any kind of manifest, with its exact bytes, media type and digest. */
  readonly getManifest: (
    repository: string,
    reference: string,
    options?: Types.GetManifestOptions
  ) => Effect.Effect<Manifest.Any, Errors.GetManifestError>
  /** The digest of a manifest (HEAD, GET when the registry sends no digest header). */
  readonly manifestDigest: (
    repository: string,
    reference: string,
    options?: Types.GetManifestOptions
  ) => Effect.Effect<Digest.Digest, Errors.ManifestDigestError>
  /** A manifest HEAD: digest, media type, size and the registry's rate-limit headers. */
  readonly manifestHead: (
    repository: string,
    reference: string,
    options?: Types.GetManifestOptions
  ) => Effect.Effect<RateLimit.ManifestHead, Errors.ManifestDigestError>
  /** Push a manifest's exact bytes under a tag or digest; returns its digest. */
  readonly putManifest: (
    repository: string,
    reference: string,
    manifest: Types.ManifestInput
  ) => Effect.Effect<Digest.Digest, Errors.PutManifestError>
  /** Delete a manifest by digest. */
  readonly deleteManifest: (repository: string, digest: string) => Effect.Effect<void, Errors.DeleteManifestError>
  /** The bytes of a blob, verified when read whole. */
  readonly downloadBlob: (
    repository: string,
    digest: string,
    options?: Types.DownloadOptions
  ) => Stream.Stream<Uint8Array, Errors.DownloadBlobError>
  /** Whether the repository has the blob. */
  readonly hasBlob: (
    repository: string,
    digest: string
  ) => Effect.Effect<boolean, Errors.HasBlobError>
  /** Digest, size and media type of a blob (HEAD). */
  readonly blobMetadata: (
    repository: string,
    digest: string
  ) => Effect.Effect<Types.BlobMetadata, Errors.BlobMetadataError>
  /** Upload a blob from a stream (one-shot) or a re-openable source. */
  readonly uploadBlob: <E = never, R = never>(
    repository: string,
    digest: string,
    source: BlobSource.BlobSource<E, R> | Stream.Stream<Uint8Array, E, R>,
    options?: Types.UploadOptions
  ) => Effect.Effect<Types.UploadResult, Errors.UploadBlobError | E, R>
  /** Mount a blob from another repository; upload from `source` when the registry does not mount. */
  readonly mountBlob: <E = never, R = never>(
    repository: string,
    digest: string,
    fromRepository: string,
    options?: Types.MountOptions<E, R>
  ) => Effect.Effect<Types.UploadResult, Errors.MountBlobError | E, R>
  /** Delete a blob from a repository. */
  readonly deleteBlob: (repository: string, digest: string) => Effect.Effect<void, Errors.DeleteBlobError>
  /** Cancel an upload session (`DELETE <location>`). */
  readonly cancelUpload: (location: string) => Effect.Effect<void, Errors.UploadSessionError>
  /** Where an upload session stands (`GET <location>`). */
  readonly uploadStatus: (location: string) => Effect.Effect<Types.UploadStatus, Errors.UploadSessionError>
  /** The manifests that refer to `digest` (referrers API, or the tag-schema fallback). */
  readonly referrers: (
    repository: string,
    digest: string,
    options?: { readonly artifactType?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, Errors.ReferrersError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RegistryClient extends Context.Tag("@effect-registry/core/RegistryClient")<RegistryClient, Service>() {}

/**
 * Told by an `HttpClient` layer that limits, on its own, the time from sending a request to its answer's
 * headers (`NodeHttp` provides it with undici's headers timeout). For requests without a body whose
 * {@link Options.timeout} is not shorter than that limit, the client then leaves the timing to the
 * transport instead of racing every request against a timer of its own (two fibers per request). A
 * transport timeout fails the same way: a `TransportError` with reason `"Timeout"`.
 *
 * `bodyIdle`, when given, says that the transport also fails a response body that receives nothing for that
 * long while its consumer is waiting for it (time the consumer spends on a piece, with the body paused, not
 * counted; undici's body timeout). When it is not longer than {@link Options.timeout} and no
 * `transformClient` is set, blob downloads leave that watch to the transport instead of running their own
 * (a watchdog fiber and a fiber reading the body into a queue: a fiber switch per piece, and each piece kept
 * alive one step longer).
 *
 * @since 0.1.0
 * @category tags
 */
export class TransportTimeout extends Context.Tag("@effect-registry/core/RegistryClient/TransportTimeout")<
  TransportTimeout,
  { readonly headers: Duration.Duration; readonly bodyIdle?: Duration.Duration | undefined }
>() {}

// the transport watches response bodies for pauses at least as short as `timeout` (see TransportTimeout)
const bodyIdleByTransport = (
  transport: Option.Option<Context.Tag.Service<TransportTimeout>>,
  timeout: Duration.Duration,
  options: Options
): boolean =>
  options.transformClient === undefined && Option.isSome(transport) &&
  transport.value.bodyIdle !== undefined && Duration.lessThanOrEqualTo(transport.value.bodyIdle, timeout)

/**
 * Told by an `HttpClient` layer that it is done with each piece of a streamed request body (has written it
 * out, or given up on it) before it pulls more than `piecesAhead` further pieces (`NodeHttp` provides it: it
 * writes one piece, waits until the socket took it, then pulls the next). The client then reads the blob of
 * an upload from a source made with `BlobSource.reopenableInto` (a `BlobFile` source) into a few buffers it
 * reuses, rather than one new buffer per piece. Not used when {@link Options.transformClient} is set (the
 * client it makes may hold pieces for longer).
 *
 * @since 0.2.0
 * @category tags
 */
export class RequestBodyReuse extends Context.Tag("@effect-registry/core/RegistryClient/RequestBodyReuse")<
  RequestBodyReuse,
  { readonly piecesAhead: number }
>() {}

/**
 * Default of {@link Options.timeout}: 1 minute.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultTimeout: Duration.Duration = Duration.minutes(1)

/**
 * Default of {@link Options.uploadTimeout}: 30 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultUploadTimeout: Duration.Duration = Duration.minutes(30)

const validateUrl = (url: string): Effect.Effect<string, RegistryError.TransportError> => {
  const invalid = (detail: string) => new RegistryError.TransportError({ reason: "InvalidUrl", detail })
  const parsed = Either.try(() => new URL(url))
  if (Either.isLeft(parsed)) return Effect.fail(invalid("the registry URL does not parse"))
  const u = parsed.right
  if (u.protocol !== "http:" && u.protocol !== "https:") return Effect.fail(invalid("the registry URL must be http(s)"))
  if (u.username !== "" || u.password !== "") {
    return Effect.fail(invalid("credentials belong in the AuthService, not in the URL"))
  }
  if (u.search !== "" || u.hash !== "") {
    return Effect.fail(invalid("the registry URL must not have a query or fragment"))
  }
  const path = u.pathname.replace(/\/+$/, "").replace(/\/v2$/, "")
  return Effect.succeed(`${u.origin}${path}`)
}

/**
 * Builds the client and pings the registry.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* RegistryClient.make({ url: "http://127.0.0.1:5000" })
 *   return yield* client.tags("library/alpine")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const baseUrl = yield* validateUrl(options.url)
  const http0 = yield* HttpClient.HttpClient
  const timeout = Duration.decode(options.timeout ?? DefaultTimeout)
  const uploadTimeout = Duration.decode(options.uploadTimeout ?? DefaultUploadTimeout)
  const transport = yield* Effect.serviceOption(TransportTimeout)
  const reuse = options.transformClient === undefined ? yield* Effect.serviceOption(RequestBodyReuse) : Option.none()
  const http = Request.withTimeouts(
    options.transformClient !== undefined ? options.transformClient(http0) : http0,
    timeout,
    uploadTimeout,
    Option.map(transport, (t) => t.headers)
  )
  const auth = yield* AuthService.AuthService
  const hash = yield* Hash.Hash
  const maxRetryAfter = options.maxRetryAfter ?? RetryPolicy.DefaultMaxRetryAfter
  const env: Request.OpsEnv = {
    http,
    auth,
    unauthorized: Challenge.unauthorized,
    retry: RetryPolicy.honourRetryAfter(options.retrySchedule ?? RetryPolicy.transient, maxRetryAfter),
    uploadRetry: RetryPolicy.withRetryAfter(options.uploadRetrySchedule ?? RetryPolicy.upload, maxRetryAfter),
    errorBodyLimit: options.errorBodyLimit ?? Request.DefaultErrorBodyLimit,
    registry: baseUrl,
    baseUrl,
    hash,
    maxManifestSize: options.maxManifestSize ?? Manifest.DefaultMaxSize,
    maxRedirects: options.maxRedirects ?? 5,
    maxResumes: options.maxResumes ?? 3,
    maxPages: options.maxPages ?? Pagination.DefaultMaxPages,
    readIdleTimeout: bodyIdleByTransport(transport, timeout, options) ? Duration.infinity : timeout,
    maxUploadRestarts: options.maxUploadRestarts ?? 10,
    bodyBuffers: Option.match(reuse, { onNone: () => undefined, onSome: (r) => UploadBody.pool(r.piecesAhead) }),
    bodyTimeout: Duration.decode(options.bodyTimeout ?? Request.DefaultBodyTimeout)
  }
  const { ping } = Ping.make(env)
  const client = RegistryClient.of({
    url: baseUrl,
    ping,
    ...Listing.make(env),
    ...GetManifest.make(env),
    ...PutManifest.make(env),
    ...Download.make(env),
    ...Blobs.make(env),
    ...UploadBlob.make(env),
    ...Mount.make(env),
    ...Sessions.make(env),
    ...Referrers.make(env)
  })
  yield* ping()
  return client
})

/**
 * The client as a layer; building it pings the registry.
 *
 * @example
 * ```ts
 * import { AuthService, RegistryClient } from "@effect-registry/core"
 * import * as Layer from "effect/Layer"
 *
 * const live = RegistryClient.layer({ url: "http://127.0.0.1:5000" }).pipe(Layer.provide(AuthService.anonymous))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<RegistryClient, Errors.PingError, HttpClient.HttpClient | AuthService.AuthService | Hash.Hash> =>
  Layer.effect(RegistryClient, make(options))
