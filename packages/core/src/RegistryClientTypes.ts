/**
 * The option and result types of the registry client's operations. `RegistryClient`
 * re-exports them all (`RegistryClient.UploadOptions`, ...).
 *
 * @since 0.1.0
 */
import type * as BlobSource from "./BlobSource.js"
import type * as Digest from "./Digest.js"
import type * as Manifest from "./Manifest.js"

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
 * @since 0.1.0
 * @category models
 */
export interface GetManifestOptions {
  /** The media types asked for. Default `MediaType.AcceptAll`. */
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
  /**
   * The blob's size as its descriptor gives it: a whole read fails with `SizeMismatch` as soon as more bytes
   * arrive (never more is read), or before reading when the registry announces another `Content-Length`.
   * Without it, the answer's `Content-Length` is the bound (an answer without one is read to its end).
   */
  readonly size?: number | undefined
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
