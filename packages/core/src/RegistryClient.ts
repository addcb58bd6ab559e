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
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AuthService from "./AuthService.js"
import * as BlobSource from "./BlobSource.js"
import * as Challenge from "./Challenge.js"
import type * as Descriptor from "./Descriptor.js"
import * as Digest from "./Digest.js"
import * as Hash from "./Hash.js"
import * as DownloadOps from "./internal/download.js"
import * as FastDecode from "./internal/fastDecode.js"
import * as Json from "./internal/json.js"
import * as LinkHeader from "./internal/linkHeader.js"
import * as ManifestOps from "./internal/manifestOps.js"
import * as Pagination from "./internal/pagination.js"
import * as Range from "./internal/range.js"
import * as ReferrersOps from "./internal/referrers.js"
import * as Request from "./internal/request.js"
import * as UploadOps from "./internal/upload.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import type * as RateLimit from "./RateLimit.js"
import * as Reference from "./Reference.js"
import * as RegistryError from "./RegistryError.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * Every error an answer of the registry can be mapped to, whatever the route.
 * Each operation fails with a narrower union (see {@link TagsError},
 * {@link GetManifestError}, ...); this wide one remains as their common supertype.
 *
 * @since 0.1.0
 * @category errors
 */
export type ResponseError = Request.ResponseFailure

/**
 * A wide union covering the manifest operations; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type ManifestError = ResponseError | RegistryError.DigestMismatch | RegistryError.ManifestInvalid

/**
 * A wide union covering the blob reads; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type BlobError = ResponseError | RegistryError.DigestMismatch | RegistryError.SizeMismatch

/**
 * A wide union covering the blob uploads; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadError =
  | ResponseError
  | RegistryError.DigestMismatch
  | RegistryError.SizeMismatch
  | RegistryError.UploadNotResumable

/**
 * What any request can fail with, whatever the route: refused credentials or
 * access, rate limiting, a registry failing on its side (5xx), a broken
 * connection, and an answer the protocol does not allow for the request (which
 * includes an error code the registry is not expected to send on that route:
 * the original error is its `cause`, the registry's `errors[]` are kept).
 *
 * @since 0.1.0
 * @category errors
 */
export type BaseError =
  | RegistryError.Unauthorized
  | RegistryError.Denied
  | RegistryError.TooManyRequests
  | RegistryError.RegistryUnavailable
  | RegistryError.TransportError
  | RegistryError.UnexpectedResponse

/**
 * Errors of `ping` (`GET /v2/`), and of building the client ({@link make}, {@link layer}).
 *
 * @since 0.1.0
 * @category errors
 */
export type PingError = BaseError

/**
 * Errors of `repositories` / `repositoriesStream` (`GET /v2/_catalog`): a page size
 * the registry refuses, or a registry that does not offer the catalog.
 *
 * @since 0.1.0
 * @category errors
 */
export type CatalogError = BaseError | RegistryError.PaginationNumberInvalid | RegistryError.Unsupported

/**
 * Errors of `tags` / `tagsStream` (`GET /v2/<name>/tags/list`).
 *
 * @since 0.1.0
 * @category errors
 */
export type TagsError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.NameUnknown
  | RegistryError.PaginationNumberInvalid

/**
 * Errors of `getManifest`, `manifest` and `manifestV2`: a bad repository, tag or
 * digest (checked before any request, or refused by the registry), an unknown
 * repository or manifest, a manifest that does not decode or is too large, bytes
 * that do not hash to the digest announced or asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export type GetManifestError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.TagInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.ManifestUnknown
  | RegistryError.ManifestInvalid
  | RegistryError.DigestMismatch

/**
 * Errors of `manifestDigest` (a HEAD, and a GET when the registry sends no digest
 * header): the same as {@link GetManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export type ManifestDigestError = GetManifestError

/**
 * Errors of `putManifest`: a bad repository, tag or digest, a manifest the
 * registry refuses (invalid, referencing unknown blobs, an unverified schema1
 * signature), bytes that do not hash to the digest reference or to the digest the
 * registry stored, a registry that refuses pushes (`Unsupported`). Includes the
 * failures of keeping the referrers fallback index up to date.
 *
 * @since 0.1.0
 * @category errors
 */
export type PutManifestError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.TagInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.ManifestInvalid
  | RegistryError.ManifestBlobUnknown
  | RegistryError.ManifestUnverified
  | RegistryError.DigestMismatch
  | RegistryError.Unsupported

/**
 * Errors of `deleteManifest`: an unknown manifest (or repository), and a registry
 * with deletes disabled (`Unsupported`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteManifestError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.ManifestUnknown
  | RegistryError.Unsupported

/**
 * Errors of `downloadBlob`: an unknown blob, a range that cannot be satisfied,
 * and bytes that do not match the digest or the announced size (whole reads).
 *
 * @since 0.1.0
 * @category errors
 */
export type DownloadBlobError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.BlobUnknown
  | RegistryError.DigestMismatch
  | RegistryError.SizeMismatch
  | RegistryError.RangeInvalid

/**
 * Errors of `hasBlob`: never `BlobUnknown` (an absent blob is `false`), and no
 * registry error code at all (a HEAD answer has no body), only bad input and the
 * {@link BaseError}s.
 *
 * @since 0.1.0
 * @category errors
 */
export type HasBlobError = BaseError | RegistryError.NameInvalid | RegistryError.DigestInvalid

/**
 * Errors of `blobMetadata` (a HEAD): {@link HasBlobError} and `BlobUnknown`.
 *
 * @since 0.1.0
 * @category errors
 */
export type BlobMetadataError = HasBlobError | RegistryError.BlobUnknown

/**
 * Errors of `uploadBlob` (besides the source's own errors, which pass through
 * unchanged): the upload session refused or lost, a chunk out of order, bytes that
 * do not match the digest or size, a one-shot source that cannot be read again, a
 * registry that refuses pushes.
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadBlobError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.BlobUploadUnknown
  | RegistryError.BlobUploadInvalid
  | RegistryError.RangeInvalid
  | RegistryError.DigestMismatch
  | RegistryError.SizeMismatch
  | RegistryError.UploadNotResumable
  | RegistryError.Unsupported

/**
 * Errors of `mountBlob` (besides the source's own errors): the same as
 * {@link UploadBlobError}; a refused mount without a `source` is `Unauthorized` or `Denied`.
 *
 * @since 0.1.0
 * @category errors
 */
export type MountBlobError = UploadBlobError

/**
 * Errors of `deleteBlob`: an unknown blob (or repository), and a registry with
 * deletes disabled (`Unsupported`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteBlobError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.BlobUnknown
  | RegistryError.Unsupported

/**
 * Errors of either delete (`deleteManifest`, `deleteBlob`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteError = DeleteManifestError | DeleteBlobError

/**
 * Errors of `cancelUpload` and `uploadStatus` on an upload session: a session the
 * registry does not know (cancelled, expired) or refuses (a stale `Location`).
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadSessionError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.NameUnknown
  | RegistryError.BlobUploadUnknown
  | RegistryError.BlobUploadInvalid

/**
 * Errors of `referrers`: a bad repository or digest, an unknown repository, and,
 * from the tag-schema fallback index, an index that does not decode or does not
 * hash to its digest.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReferrersError =
  | BaseError
  | RegistryError.NameInvalid
  | RegistryError.DigestInvalid
  | RegistryError.NameUnknown
  | RegistryError.ManifestInvalid
  | RegistryError.DigestMismatch

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
 * Page size for listings (`n`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly n?: number | undefined
  /**
   * `tags` and `repositories` only: collect at most this many names; more fail with `UnexpectedResponse`
   * (reason `TooLarge`) instead of holding them all. Default {@link DefaultMaxItems}. To go through
   * listings of any length, use `tagsStream` / `repositoriesStream`, which hold one page at a time.
   */
  readonly maxItems?: number | undefined
}

/**
 * Default of {@link ListOptions.maxItems}: 100 000 names.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxItems = 100_000

/**
 * Default of {@link Options.bodyTimeout}: 2 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultBodyTimeout: Duration.Duration = Request.DefaultBodyTimeout

/**
 * @since 0.1.0
 * @category models
 */
export interface GetManifestOptions {
  /** The media types asked for. Default {@link MediaType.AcceptAll}. */
  readonly accept?: ReadonlyArray<string> | undefined
}

/**
 * A manifest to push: a decoded one (its exact bytes are sent) or raw bytes with their media type.
 *
 * @since 0.1.0
 * @category models
 */
export type ManifestInput = Manifest.Any | { readonly bytes: Uint8Array; readonly mediaType: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface DownloadOptions {
  /** Read only bytes `start..end` (inclusive). Partial reads are not verified. */
  readonly range?: { readonly start: number; readonly end?: number | undefined } | undefined
  /** Read from this offset to the end (resume a partial download). Not verified. */
  readonly offset?: number | undefined
}

/**
 * What a HEAD of a blob tells.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobMetadata {
  readonly digest: Digest.Digest
  readonly size: number
  readonly mediaType: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions {
  /** The blob's size when known: a monolithic PUT with `Content-Length` unless `chunkSize` is set. */
  readonly size?: number | undefined
  /** Send `PATCH`es of this many bytes (raised to the registry's `OCI-Chunk-Min-Length`). */
  readonly chunkSize?: number | undefined
  /**
   * Hash the bytes as they are sent and abort the upload before its final `PUT` when they do not match
   * the digest (`DigestMismatch`). Default `true`. With `false` the client only counts the bytes (a wrong
   * size still fails with `SizeMismatch`) and leaves the digest to the registry, which checks it at the
   * final `PUT` and refuses a mismatch (`DigestInvalid`), as containers/image does when the digest is
   * known: one hash of every byte less on the client's CPU.
   */
  readonly verifyDigest?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UploadResult {
  readonly digest: Digest.Digest
  /** Bytes sent (or the existing blob's size when skipped), when known. */
  readonly size: number | undefined
  /** The blob was already in the repository: nothing was sent. */
  readonly skipped: boolean
  /** The blob was mounted from another repository. */
  readonly mounted: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MountOptions<E, R> extends UploadOptions {
  /** Upload from here when the registry does not mount. Without it, an unmounted blob is reported as such. */
  readonly source?: BlobSource.BlobSource<E, R> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UploadStatus {
  /** The newest URL of the session. */
  readonly location: string
  /** Bytes the registry holds. */
  readonly offset: number
}

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
  readonly ping: () => Effect.Effect<void, PingError>
  /** Every repository of the catalog, all pages. */
  readonly repositories: (options?: ListOptions) => Effect.Effect<ReadonlyArray<string>, CatalogError>
  /** The catalog as a stream, page by page. */
  readonly repositoriesStream: (options?: ListOptions) => Stream.Stream<string, CatalogError>
  /** Every tag of a repository, all pages. */
  readonly tags: (repository: string, options?: ListOptions) => Effect.Effect<ReadonlyArray<string>, TagsError>
  /** The tags as a stream. */
  readonly tagsStream: (repository: string, options?: ListOptions) => Stream.Stream<string, TagsError>
  /** The manifest asking for schema1 only (what distribution converts to a signed schema1). */
  readonly manifest: (repository: string, reference: string) => Effect.Effect<Manifest.Any, GetManifestError>
  /** The manifest asking for Docker schema2 only. */
  readonly manifestV2: (repository: string, reference: string) => Effect.Effect<Manifest.Any, GetManifestError>
  /** Any kind of manifest, with its exact bytes, media type and digest. */
  readonly getManifest: (
    repository: string,
    reference: string,
    options?: GetManifestOptions
  ) => Effect.Effect<Manifest.Any, GetManifestError>
  /** The digest of a manifest (HEAD, GET when the registry sends no digest header). */
  readonly manifestDigest: (
    repository: string,
    reference: string,
    options?: GetManifestOptions
  ) => Effect.Effect<Digest.Digest, ManifestDigestError>
  /** A manifest HEAD: digest, media type, size and the registry's rate-limit headers. */
  readonly manifestHead: (
    repository: string,
    reference: string,
    options?: GetManifestOptions
  ) => Effect.Effect<RateLimit.ManifestHead, ManifestDigestError>
  /** Push a manifest's exact bytes under a tag or digest; returns its digest. */
  readonly putManifest: (
    repository: string,
    reference: string,
    manifest: ManifestInput
  ) => Effect.Effect<Digest.Digest, PutManifestError>
  /** Delete a manifest by digest. */
  readonly deleteManifest: (repository: string, digest: string) => Effect.Effect<void, DeleteManifestError>
  /** The bytes of a blob, verified when read whole. */
  readonly downloadBlob: (
    repository: string,
    digest: string,
    options?: DownloadOptions
  ) => Stream.Stream<Uint8Array, DownloadBlobError>
  /** Whether the repository has the blob. */
  readonly hasBlob: (
    repository: string,
    digest: string
  ) => Effect.Effect<boolean, HasBlobError>
  /** Digest, size and media type of a blob (HEAD). */
  readonly blobMetadata: (repository: string, digest: string) => Effect.Effect<BlobMetadata, BlobMetadataError>
  /** Upload a blob from a stream (one-shot) or a re-openable source. */
  readonly uploadBlob: <E = never, R = never>(
    repository: string,
    digest: string,
    source: BlobSource.BlobSource<E, R> | Stream.Stream<Uint8Array, E, R>,
    options?: UploadOptions
  ) => Effect.Effect<UploadResult, UploadBlobError | E, R>
  /** Mount a blob from another repository; upload from `source` when the registry does not mount. */
  readonly mountBlob: <E = never, R = never>(
    repository: string,
    digest: string,
    fromRepository: string,
    options?: MountOptions<E, R>
  ) => Effect.Effect<UploadResult, MountBlobError | E, R>
  /** Delete a blob from a repository. */
  readonly deleteBlob: (repository: string, digest: string) => Effect.Effect<void, DeleteBlobError>
  /** Cancel an upload session (`DELETE <location>`). */
  readonly cancelUpload: (location: string) => Effect.Effect<void, UploadSessionError>
  /** Where an upload session stands (`GET <location>`). */
  readonly uploadStatus: (location: string) => Effect.Effect<UploadStatus, UploadSessionError>
  /** The manifests that refer to `digest` (referrers API, or the tag-schema fallback). */
  readonly referrers: (
    repository: string,
    digest: string,
    options?: { readonly artifactType?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, ReferrersError>
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
 * @since 0.1.0
 * @category tags
 */
export class TransportTimeout extends Context.Tag("@effect-registry/core/RegistryClient/TransportTimeout")<
  TransportTimeout,
  { readonly headers: Duration.Duration }
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

// ---------------------------------------------------------------------------
// Narrowing: every operation declares the errors it can fail with; an error the
// internal mapping produced outside that set (an error code the registry is not
// expected to send on that route, a status such as 405 or 416 where it means
// nothing) becomes `UnexpectedResponse` (reason `Status`), keeping the status,
// the registry's `errors[]` and the detail, with the original error as `cause`.

/** Exactly the tags of `E`, each once: a missing or extra tag is a type error. */
type TagSet<E extends RegistryError.RegistryError> = { readonly [K in E["_tag"]]: true }

const toUnexpected = (e: RegistryError.RegistryError): RegistryError.UnexpectedResponse =>
  new RegistryError.UnexpectedResponse({
    ...(e.repository !== undefined ? { repository: e.repository } : {}),
    ...(e.reference !== undefined ? { reference: e.reference } : {}),
    ...(e.digest !== undefined ? { digest: e.digest } : {}),
    ...(e.request !== undefined ? { request: e.request } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.errors !== undefined ? { errors: e.errors } : {}),
    reason: "Status",
    detail: `${e._tag} is not an answer this operation expects` +
      (e.detail !== undefined && e.detail.length > 0 ? ` (${e.detail})` : ""),
    cause: e
  })

/**
 * The mapping of any registry error onto the union `E`: its members pass
 * unchanged, any other becomes `UnexpectedResponse`.
 */
const narrow = <E extends RegistryError.RegistryError>(tags: TagSet<E>) => {
  const allowed: ReadonlySet<string> = new Set(Object.keys(tags))
  const isAllowed = (e: RegistryError.RegistryError): e is E => allowed.has(e._tag)
  return (e: RegistryError.RegistryError): E | RegistryError.UnexpectedResponse => isAllowed(e) ? e : toUnexpected(e)
}

const baseTags: TagSet<BaseError> = {
  Unauthorized: true,
  Denied: true,
  TooManyRequests: true,
  RegistryUnavailable: true,
  TransportError: true,
  UnexpectedResponse: true
}
const toPingError = narrow<PingError>(baseTags)
const toCatalogError = narrow<CatalogError>({ ...baseTags, PaginationNumberInvalid: true, Unsupported: true })
const toTagsError = narrow<TagsError>({
  ...baseTags,
  NameInvalid: true,
  NameUnknown: true,
  PaginationNumberInvalid: true
})
const toGetManifestError = narrow<GetManifestError>({
  ...baseTags,
  NameInvalid: true,
  TagInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  ManifestUnknown: true,
  ManifestInvalid: true,
  DigestMismatch: true
})
const toPutManifestError = narrow<PutManifestError>({
  ...baseTags,
  NameInvalid: true,
  TagInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  ManifestInvalid: true,
  ManifestBlobUnknown: true,
  ManifestUnverified: true,
  DigestMismatch: true,
  Unsupported: true
})
const toDeleteManifestError = narrow<DeleteManifestError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  ManifestUnknown: true,
  Unsupported: true
})
const toDownloadBlobError = narrow<DownloadBlobError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  BlobUnknown: true,
  DigestMismatch: true,
  SizeMismatch: true,
  RangeInvalid: true
})
const toHasBlobError = narrow<HasBlobError>({ ...baseTags, NameInvalid: true, DigestInvalid: true })
const toBlobMetadataError = narrow<BlobMetadataError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  BlobUnknown: true
})
const toUploadBlobError = narrow<UploadBlobError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  BlobUploadUnknown: true,
  BlobUploadInvalid: true,
  RangeInvalid: true,
  DigestMismatch: true,
  SizeMismatch: true,
  UploadNotResumable: true,
  Unsupported: true
})
const toDeleteBlobError = narrow<DeleteBlobError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  BlobUnknown: true,
  Unsupported: true
})
const toUploadSessionError = narrow<UploadSessionError>({
  ...baseTags,
  NameInvalid: true,
  NameUnknown: true,
  BlobUploadUnknown: true,
  BlobUploadInvalid: true
})
const toReferrersError = narrow<ReferrersError>({
  ...baseTags,
  NameInvalid: true,
  DigestInvalid: true,
  NameUnknown: true,
  ManifestInvalid: true,
  DigestMismatch: true
})

/** A failure of the caller's blob source, kept apart so that narrowing never touches it. */
class SourceFailure<E> {
  readonly _tag = "SourceFailure"
  constructor(readonly error: E) {}
}

const markSource = <E, R>(source: BlobSource.BlobSource<E, R>): BlobSource.BlobSource<SourceFailure<E>, R> =>
  source._tag === "Reopenable"
    ? { ...source, open: (offset) => Stream.mapError(source.open(offset), (e) => new SourceFailure(e)) }
    : { ...source, stream: Stream.mapError(source.stream, (e) => new SourceFailure(e)) }

/** The source's own failure unchanged; a registry error narrowed to the upload union. */
const toUploadFailure = <E>(
  e: RegistryError.RegistryError | SourceFailure<E>
): UploadBlobError | E => e instanceof SourceFailure ? e.error : toUploadBlobError(e)

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

// Refused connections, unknown host names, TLS and protocol mismatches at the first request: asking again
// only delays the error (the registry is down, or the URL, `plainHttp` or the TLS settings are wrong).
const isMisaddressed = (e: RegistryError.RegistryError): boolean =>
  e._tag === "TransportError" && e.kind !== undefined && (
    e.kind === "ConnectionRefused" || e.kind === "NameNotResolved" || e.kind === "PlainHttpOnTls" ||
    e.kind === "TlsOnPlainHttp" || e.kind.startsWith("Tls") ||
    (e.kind === "ClosedBeforeAnswer" && e.url !== undefined && e.url.startsWith("http:"))
  )

// What https servers answer to plain http on their TLS port (Go's net/http, which the distribution registry
// uses; nginx).
const httpsOnlyAnswer = /http request to an https server|plain http request was sent to https port/i

const speaksOnlyHttps = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<boolean> =>
  response.status !== 400 || !response.request.url.startsWith("http:")
    ? Effect.succeed(false)
    : Request.readBounded(response, 4096).pipe(
      Effect.map(({ bytes }) => httpsOnlyAnswer.test(new TextDecoder().decode(bytes))),
      Effect.orElseSucceed(() => false)
    )

const Catalog = Schema.Struct({ repositories: Schema.NullishOr(Schema.Array(Schema.String)) })
const TagList = Schema.Struct({ tags: Schema.NullishOr(Schema.Array(Schema.String)) })
const decodeCatalog = FastDecode.decode(Catalog)
const decodeTagList = FastDecode.decode(TagList)

// Collects a listing, failing once it holds more than `maxItems` names.
const collectAtMost = <E, R>(
  stream: Stream.Stream<string, E, R>,
  maxItems: number,
  what: string,
  ctx: Request.ErrorContext
): Effect.Effect<ReadonlyArray<string>, E | RegistryError.UnexpectedResponse, R> =>
  Effect.flatMap(
    Stream.runCollect(Number.isFinite(maxItems) ? Stream.take(stream, maxItems + 1) : stream),
    (all) =>
      all.length > maxItems
        ? Effect.fail(
          new RegistryError.UnexpectedResponse({
            ...ctx,
            reason: "TooLarge",
            detail: `more than ${maxItems} ${what} (the maxItems option); raise it, or go through them with the ` +
              `${what === "tags" ? "tagsStream" : "repositoriesStream"} variant, which holds one page at a time`
          })
        )
        : Effect.succeed(Chunk.toReadonlyArray(all))
  )

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
    readIdleTimeout: timeout,
    maxUploadRestarts: options.maxUploadRestarts ?? 10,
    bodyTimeout: Duration.decode(options.bodyTimeout ?? Request.DefaultBodyTimeout)
  }
  const scopes = AuthService.scopes

  // The first contact: a registry that is not there, or is addressed the wrong way, is not asked again.
  const pingRetry = env.retry.pipe(Schedule.whileInput((e: RegistryError.RegistryError) => !isMisaddressed(e)))

  const ping = Effect.fn("RegistryClient.ping")(function*() {
    const url = `${baseUrl}/v2/`
    const ctx: Request.ErrorContext = {}
    const response = yield* Request.send(env, HttpClientRequest.get(url), [], ctx).pipe(
      Effect.flatMap((res) =>
        res.status === 200 || res.status === 401 || res.status >= 500
          ? Request.expect(env, res, [200], ctx, { scopes: [] })
          : Effect.flatMap(speaksOnlyHttps(res), (httpsOnly) =>
            Effect.fail(
              httpsOnly
                ? new RegistryError.TransportError({
                  request: Request.describeRequest("GET", url),
                  url: Request.safeUrl(url),
                  status: res.status,
                  reason: "Transport",
                  kind: "TlsOnPlainHttp"
                })
                : new RegistryError.UnexpectedResponse({
                  request: Request.describeRequest("GET", url),
                  status: res.status,
                  reason: "NotRegistry",
                  detail: `${url} answered ${res.status}`
                })
            ))
      ),
      Effect.retry(pingRetry)
    )
    void response
  }, (effect) => Effect.mapError(effect, toPingError))

  // A bound that is not a number of items is taken as the default one, never as no bound.
  const maxItemsOf = (options: ListOptions | undefined): number => {
    const n = options?.maxItems ?? DefaultMaxItems
    return Number.isNaN(n) ? DefaultMaxItems : Math.max(0, Math.floor(n))
  }

  const list = <A>(
    path: string,
    scope: string,
    ctx: Request.ErrorContext,
    decode: (u: unknown) => Option.Option<ReadonlyArray<A>>,
    options: ListOptions | undefined
  ): Stream.Stream<A, ResponseError> => {
    const first = new URL(`${baseUrl}${path}`)
    if (options?.n !== undefined) first.searchParams.set("n", String(options.n))
    return Pagination.paginate({
      registry: baseUrl,
      first: first.toString(),
      maxPages: env.maxPages,
      context: ctx,
      fetchPage: (url): Effect.Effect<Pagination.Page<A>, ResponseError> =>
        Effect.gen(function*() {
          const response = yield* Request.call(env, {
            request: HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson),
            scopes: [scope],
            context: ctx,
            ok: [200],
            retry: false
          })
          const fields = { ...ctx, request: Request.describeRequest("GET", url), status: 200 }
          const body = yield* Request.readBounded(response, 16 * 1024 * 1024, env.bodyTimeout).pipe(
            Effect.mapError((e) => Request.fromHttpClientError(e, ctx))
          )
          if (body.truncated) return yield* new RegistryError.UnexpectedResponse({ ...fields, reason: "TooLarge" })
          const json = Json.parse(body.bytes, 8)
          const items = Either.isRight(json) ? decode(json.right) : Option.none()
          if (Option.isNone(items)) {
            return yield* new RegistryError.UnexpectedResponse({ ...fields, reason: "Body", detail: "not a listing" })
          }
          return { items: items.value, next: LinkHeader.nextLink(response.headers["link"], url) }
        }).pipe((self) => Effect.retry(self, env.retry))
    })
  }

  const repositoriesStream = (options?: ListOptions): Stream.Stream<string, CatalogError> =>
    list(
      "/v2/_catalog",
      scopes.catalog,
      {},
      (u) => Option.map(Either.getRight(decodeCatalog(u)), (c) => c.repositories ?? []),
      options
    ).pipe(Stream.mapError(toCatalogError), Stream.withSpan("RegistryClient.repositoriesStream"))

  const repositories = Effect.fn("RegistryClient.repositories")(function*(options?: ListOptions) {
    return yield* collectAtMost(repositoriesStream(options), maxItemsOf(options), "repositories", {})
  })

  const tagsStream = (repository: string, options?: ListOptions): Stream.Stream<string, TagsError> =>
    Stream.unwrap(Effect.map(Reference.repository(repository), (repo) =>
      list(
        `/v2/${repo}/tags/list`,
        scopes.pull(repo),
        { repository: repo },
        (u) => Option.map(Either.getRight(decodeTagList(u)), (t) => t.tags ?? []),
        options
      ))).pipe(
        Stream.mapError(toTagsError),
        Stream.withSpan("RegistryClient.tagsStream", { attributes: { repository } })
      )

  const tags = Effect.fn("RegistryClient.tags")(function*(repository: string, options?: ListOptions) {
    yield* Effect.annotateCurrentSpan({ repository })
    return yield* collectAtMost(tagsStream(repository, options), maxItemsOf(options), "tags", { repository })
  })

  const validRef = (repository: string, reference: string) =>
    Effect.all({ repo: Reference.repository(repository), ref: Reference.tagOrDigest(reference) })

  const getManifest = Effect.fn("RegistryClient.getManifest")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      return yield* ManifestOps.getManifest(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )
  const manifest = Effect.fn("RegistryClient.manifest")(function*(repository: string, reference: string) {
    yield* Effect.annotateCurrentSpan({ repository, reference })
    const { ref, repo } = yield* validRef(repository, reference)
    return yield* ManifestOps.getManifest(env, repo, ref, MediaType.AcceptSchema1, [scopes.pull(repo)])
  }, (effect) => Effect.mapError(effect, toGetManifestError))
  const manifestV2 = Effect.fn("RegistryClient.manifestV2")(function*(repository: string, reference: string) {
    yield* Effect.annotateCurrentSpan({ repository, reference })
    const { ref, repo } = yield* validRef(repository, reference)
    return yield* ManifestOps.getManifest(env, repo, ref, MediaType.AcceptSchema2, [scopes.pull(repo)])
  }, (effect) => Effect.mapError(effect, toGetManifestError))
  const manifestDigest = Effect.fn("RegistryClient.manifestDigest")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      const digest = yield* ManifestOps.manifestDigest(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
      yield* Effect.annotateCurrentSpan({ digest })
      return digest
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )

  const manifestHead = Effect.fn("RegistryClient.manifestHead")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      return yield* ManifestOps.manifestHead(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )

  const putManifest = Effect.fn("RegistryClient.putManifest")(
    function*(repository: string, reference: string, input: ManifestInput) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      if (input.bytes.length > env.maxManifestSize) {
        return yield* new RegistryError.ManifestInvalid({
          repository: repo,
          reference,
          reason: "TooLarge",
          detail: `${input.bytes.length} bytes, the limit is ${env.maxManifestSize}`
        })
      }
      const decoded: Option.Option<Manifest.Any> = "kind" in input
        ? Option.some(input)
        : yield* Effect.option(Manifest.decode(input.bytes, {
          contentType: input.mediaType,
          maxSize: env.maxManifestSize
        }))
      const digest = "kind" in input ? input.digest : yield* Manifest.digestOf(input.bytes, input.mediaType)
      yield* Effect.annotateCurrentSpan({ digest })
      const pushScopes = [scopes.push(repo)]
      const result = yield* ManifestOps.putManifest(
        env,
        repo,
        ref,
        {
          bytes: input.bytes,
          mediaType: input.mediaType
        },
        digest,
        pushScopes
      )
      const subject = Option.flatMap(decoded, Manifest.subject)
      if (Option.isSome(subject) && !result.subjectHeader && Option.isSome(decoded)) {
        const m = decoded.value
        const annotations = m.kind === "oci" || m.kind === "index" ? m.manifest.annotations : undefined
        const artifactType = Option.getOrUndefined(Manifest.artifactType(m))
        const entry: Descriptor.Descriptor = {
          mediaType: m.mediaType,
          digest: result.digest,
          size: m.bytes.length,
          ...(artifactType !== undefined ? { artifactType } : {}),
          ...(annotations !== undefined ? { annotations } : {})
        }
        yield* ReferrersOps.addToFallback(env, repo, subject.value.digest, entry, pushScopes)
      }
      return result.digest
    },
    (effect) => Effect.mapError(effect, toPutManifestError)
  )

  const deleteManifest = Effect.fn("RegistryClient.deleteManifest")(function*(repository: string, digest: string) {
    yield* Effect.annotateCurrentSpan({ repository, digest })
    const repo = yield* Reference.repository(repository)
    const d = yield* Digest.parse(digest)
    yield* Request.call(env, {
      request: HttpClientRequest.del(ManifestOps.manifestUrl(env, repo, d)),
      scopes: [scopes.delete(repo)],
      context: { repository: repo, digest: d, reference: d },
      ok: [200, 202, 204],
      retry: true,
      notFound: (fields) => new RegistryError.ManifestUnknown(fields)
    })
  }, (effect) => Effect.mapError(effect, toDeleteManifestError))

  const validBlob = (repository: string, digest: string) =>
    Effect.all({ repo: Reference.repository(repository), d: Digest.parse(digest) })

  const downloadBlob = (
    repository: string,
    digest: string,
    options?: DownloadOptions
  ): Stream.Stream<Uint8Array, DownloadBlobError> =>
    Stream.unwrap(
      Effect.map(validBlob(repository, digest), ({ d, repo }) =>
        DownloadOps.download(env, repo, d, [scopes.pull(repo)], options))
    ).pipe(
      Stream.mapError(toDownloadBlobError),
      Stream.withSpan("RegistryClient.downloadBlob", { attributes: { repository, digest } })
    )

  const hasBlob = Effect.fn("RegistryClient.hasBlob")(function*(repository: string, digest: string) {
    yield* Effect.annotateCurrentSpan({ repository, digest })
    const { d, repo } = yield* validBlob(repository, digest)
    const found = yield* UploadOps.headBlob(env, repo, d, [scopes.pull(repo)])
    return Option.isSome(found)
  }, (effect) => Effect.mapError(effect, toHasBlobError))

  const blobMetadata = Effect.fn("RegistryClient.blobMetadata")(function*(repository: string, digest: string) {
    yield* Effect.annotateCurrentSpan({ repository, digest })
    const { d, repo } = yield* validBlob(repository, digest)
    const ctx = { repository: repo, digest: d }
    const url = UploadOps.blobUrl(env, repo, d)
    const raw = yield* DownloadOps.sendFollowingRedirects(env, HttpClientRequest.head(url), [scopes.pull(repo)], ctx)
      .pipe(
        Effect.flatMap((res) =>
          Request.expect(env, res, [200], ctx, {
            scopes: [scopes.pull(repo)],
            notFound: (fields) => new RegistryError.BlobUnknown(fields)
          })
        ),
        Effect.retry(env.retry)
      )
    const size = Range.parseLength(raw.headers["content-length"])
    if (Option.isNone(size)) {
      return yield* new RegistryError.UnexpectedResponse({
        ...ctx,
        request: Request.describeRequest("HEAD", url),
        status: raw.status,
        reason: "Header",
        detail: "no Content-Length on the blob HEAD"
      })
    }
    const announced = raw.headers["docker-content-digest"]?.trim()
    const mediaType = raw.headers["content-type"]
    return {
      digest: announced !== undefined && Digest.isDigest(announced) ? announced : d,
      size: size.value,
      mediaType: mediaType !== undefined ? MediaType.normalize(mediaType) : "application/octet-stream"
    }
  }, (effect) => Effect.mapError(effect, toBlobMetadataError))

  // Checked before any request: a size or chunk size that no upload can honour would open a session for nothing.
  const validUploadOptions = (options: UploadOptions | undefined, repository: string, digest: Digest.Digest) => {
    const refuse = (detail: string) => Effect.fail(new RegistryError.BlobUploadInvalid({ repository, digest, detail }))
    const size = options?.size
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) {
      return refuse(
        `size must be a non-negative integer number of bytes, got ${String(size)}; leave it out when unknown`
      )
    }
    const chunkSize = options?.chunkSize
    if (chunkSize !== undefined && !(Number.isSafeInteger(chunkSize) && chunkSize > 0)) {
      return refuse(`chunkSize must be a positive integer number of bytes, got ${String(chunkSize)}`)
    }
    return Effect.void
  }

  const toSource = <E, R>(
    source: BlobSource.BlobSource<E, R> | Stream.Stream<Uint8Array, E, R>
  ): BlobSource.BlobSource<E, R> => Stream.StreamTypeId in source ? BlobSource.oneShot(source) : source

  const uploadBlob = <E = never, R = never>(
    repository: string,
    digest: string,
    source: BlobSource.BlobSource<E, R> | Stream.Stream<Uint8Array, E, R>,
    options?: UploadOptions
  ): Effect.Effect<UploadResult, UploadBlobError | E, R> =>
    Effect.gen(function*() {
      yield* Effect.annotateCurrentSpan({ repository, digest })
      const { d, repo } = yield* validBlob(repository, digest)
      yield* validUploadOptions(options, repo, d)
      return yield* UploadOps.upload(env, repo, d, markSource(toSource(source)), options, [scopes.push(repo)])
    }).pipe(
      Effect.mapError(toUploadFailure<E>),
      Effect.withSpan("RegistryClient.uploadBlob", { attributes: { repository, digest } })
    )

  const mountBlob = <E = never, R = never>(
    repository: string,
    digest: string,
    fromRepository: string,
    options?: MountOptions<E, R>
  ): Effect.Effect<UploadResult, MountBlobError | E, R> =>
    Effect.gen(function*() {
      const { d, repo } = yield* validBlob(repository, digest)
      yield* validUploadOptions(options, repo, d)
      const source = options?.source !== undefined ? markSource(options.source) : undefined
      const from = yield* Reference.repository(fromRepository)
      const mountScopes = scopes.mount(repo, from)
      const ctx = { repository: repo, digest: d }
      const attempt = yield* Effect.either(UploadOps.mount(env, repo, d, from, mountScopes))
      if (Either.isRight(attempt) && attempt.right.mounted) {
        return { digest: d, size: options?.size, skipped: false, mounted: true }
      }
      if (Either.isLeft(attempt)) {
        const e = attempt.left
        const refused = e._tag === "Unauthorized" || e._tag === "Denied"
        if (!refused || source === undefined) return yield* Effect.fail(e)
        return yield* UploadOps.upload(env, repo, d, source, options, [scopes.push(repo)])
      }
      const session = attempt.right.session
      if (source === undefined) {
        if (session !== undefined) yield* UploadOps.cancelQuietly(env, session.location, mountScopes, ctx)
        return { digest: d, size: undefined, skipped: false, mounted: false }
      }
      return yield* UploadOps.upload(env, repo, d, source, options, [scopes.push(repo)], session)
    }).pipe(
      Effect.mapError(toUploadFailure<E>),
      Effect.withSpan("RegistryClient.mountBlob", { attributes: { repository, digest, fromRepository } })
    )

  const deleteBlob = Effect.fn("RegistryClient.deleteBlob")(function*(repository: string, digest: string) {
    yield* Effect.annotateCurrentSpan({ repository, digest })
    const { d, repo } = yield* validBlob(repository, digest)
    yield* Request.call(env, {
      request: HttpClientRequest.del(UploadOps.blobUrl(env, repo, d)),
      scopes: [scopes.delete(repo)],
      context: { repository: repo, digest: d },
      ok: [200, 202, 204],
      retry: true,
      notFound: (fields) => new RegistryError.BlobUnknown(fields)
    })
  }, (effect) => Effect.mapError(effect, toDeleteBlobError))

  // An upload URL: resolved against the registry; the repository read from its path for the scopes.
  const uploadLocation = (location: string) =>
    Effect.gen(function*() {
      const url = yield* Request.followLocation(env, location, `${baseUrl}/v2/`, {})
      const path = Either.getOrElse(Either.try(() => new URL(url).pathname), () => "")
      const match = /\/v2\/(.+)\/blobs\/uploads\/[^/]*$/.exec(path)
      const repository = match !== null ? match[1] : undefined
      return { url, repository, scopes: repository !== undefined ? [scopes.push(repository)] : [] }
    })

  const cancelUpload = Effect.fn("RegistryClient.cancelUpload")(function*(location: string) {
    const at = yield* uploadLocation(location)
    yield* Effect.annotateCurrentSpan({ repository: at.repository ?? "" })
    yield* Request.call(env, {
      request: HttpClientRequest.del(at.url),
      scopes: at.scopes,
      context: { repository: at.repository },
      ok: [200, 202, 204],
      notFound: (fields) => new RegistryError.BlobUploadUnknown(fields)
    })
  }, (effect) => Effect.mapError(effect, toUploadSessionError))

  const uploadStatus = Effect.fn("RegistryClient.uploadStatus")(function*(location: string) {
    const at = yield* uploadLocation(location)
    yield* Effect.annotateCurrentSpan({ repository: at.repository ?? "" })
    const response = yield* Request.call(env, {
      request: HttpClientRequest.get(at.url),
      scopes: at.scopes,
      context: { repository: at.repository },
      ok: [200, 204],
      notFound: (fields) => new RegistryError.BlobUploadUnknown(fields)
    })
    const next = response.headers["location"] !== undefined
      ? yield* Request.followLocation(env, response.headers["location"], at.url, { repository: at.repository })
      : at.url
    const offset = Range.uploadedBytes(response.headers["range"])
    if (Option.isNone(offset)) {
      return yield* new RegistryError.UnexpectedResponse({
        repository: at.repository,
        request: Request.describeRequest("GET", at.url),
        status: response.status,
        reason: "Header",
        detail: "missing or malformed Range on the upload status"
      })
    }
    return { location: next, offset: offset.value }
  }, (effect) => Effect.mapError(effect, toUploadSessionError))

  const referrers = Effect.fn("RegistryClient.referrers")(
    function*(repository: string, digest: string, options?: { readonly artifactType?: string | undefined }) {
      yield* Effect.annotateCurrentSpan({ repository, digest })
      const { d, repo } = yield* validBlob(repository, digest)
      return yield* ReferrersOps.referrers(env, repo, d, options?.artifactType, [scopes.pull(repo)])
    },
    (effect) => Effect.mapError(effect, toReferrersError)
  )

  const client = RegistryClient.of({
    url: baseUrl,
    ping,
    repositories,
    repositoriesStream,
    tags,
    tagsStream,
    manifest,
    manifestV2,
    getManifest,
    manifestDigest,
    manifestHead,
    putManifest,
    deleteManifest,
    downloadBlob,
    hasBlob,
    blobMetadata,
    uploadBlob,
    mountBlob,
    deleteBlob,
    cancelUpload,
    uploadStatus,
    referrers
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
): Layer.Layer<RegistryClient, PingError, HttpClient.HttpClient | AuthService.AuthService | Hash.Hash> =>
  Layer.effect(RegistryClient, make(options))
