/**
 * The errors of the registry client's operations: each operation's union is
 * derived from one list of tags (`TagsErrorTags` gives `TagsError`), from which
 * the client also narrows what an operation fails with at run time. An error
 * outside an operation's list becomes `UnexpectedResponse` (reason `Status`),
 * with the original error as its `cause`. `RegistryClient` re-exports the types.
 *
 * @since 0.1.0
 */
import * as RegistryError from "./RegistryError.js"

type ByTag<T extends RegistryError.Tag> = RegistryError.ByTag<T>

/**
 * The tags of {@link ResponseError}: every error an answer of the registry can be mapped to (declared in
 * `RegistryError`).
 *
 * @since 0.1.0
 * @category errors
 */
export const ResponseErrorTags = RegistryError.ResponseErrorTags

/**
 * Every error an answer of the registry can be mapped to, whatever the route.
 * Each operation fails with a narrower union (see {@link TagsError},
 * {@link GetManifestError}, ...); this wide one remains as their common supertype.
 *
 * @since 0.1.0
 * @category errors
 */
export type ResponseError = RegistryError.ResponseError

/**
 * The tags of {@link ManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const ManifestErrorTags = [...ResponseErrorTags, "DigestMismatch", "ManifestInvalid"] as const

/**
 * A wide union covering the manifest operations; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type ManifestError = ByTag<typeof ManifestErrorTags[number]>

/**
 * The tags of {@link BlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const BlobErrorTags = [...ResponseErrorTags, "DigestMismatch", "SizeMismatch"] as const

/**
 * A wide union covering the blob reads; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type BlobError = ByTag<typeof BlobErrorTags[number]>

/**
 * The tags of {@link UploadError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const UploadErrorTags = [...ResponseErrorTags, "DigestMismatch", "SizeMismatch", "UploadNotResumable"] as const

/**
 * A wide union covering the blob uploads; prefer the per-operation unions.
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadError = ByTag<typeof UploadErrorTags[number]>

/**
 * The tags of {@link BaseError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const BaseErrorTags = [
  "Unauthorized",
  "Denied",
  "TooManyRequests",
  "RegistryUnavailable",
  "TransportError",
  "UnexpectedResponse"
] as const

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
export type BaseError = ByTag<typeof BaseErrorTags[number]>

/**
 * The tags of {@link PingError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const PingErrorTags = BaseErrorTags

/**
 * Errors of `ping` (`GET /v2/`), and of building the client (`RegistryClient.make`, `RegistryClient.layer`).
 *
 * @since 0.1.0
 * @category errors
 */
export type PingError = ByTag<typeof PingErrorTags[number]>

/**
 * The tags of {@link CatalogError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const CatalogErrorTags = [...BaseErrorTags, "PaginationNumberInvalid", "Unsupported"] as const

/**
 * Errors of `repositories` / `repositoriesStream` (`GET /v2/_catalog`): a page size
 * the registry refuses, or a registry that does not offer the catalog.
 *
 * @since 0.1.0
 * @category errors
 */
export type CatalogError = ByTag<typeof CatalogErrorTags[number]>

/**
 * The tags of {@link TagsError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const TagsErrorTags = [...BaseErrorTags, "NameInvalid", "NameUnknown", "PaginationNumberInvalid"] as const

/**
 * Errors of `tags` / `tagsStream` (`GET /v2/<name>/tags/list`).
 *
 * @since 0.1.0
 * @category errors
 */
export type TagsError = ByTag<typeof TagsErrorTags[number]>

/**
 * The tags of {@link GetManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const GetManifestErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "TagInvalid",
  "DigestInvalid",
  "NameUnknown",
  "ManifestUnknown",
  "ManifestInvalid",
  "DigestMismatch"
] as const

/**
 * Errors of `getManifest`, `manifest` and `manifestV2`: a bad repository, tag or
 * digest (checked before any request, or refused by the registry), an unknown
 * repository or manifest, a manifest that does not decode or is too large, bytes
 * that do not hash to the digest announced or asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export type GetManifestError = ByTag<typeof GetManifestErrorTags[number]>

/**
 * The tags of {@link ManifestDigestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const ManifestDigestErrorTags = GetManifestErrorTags

/**
 * Errors of `manifestDigest` (a HEAD, and a GET when the registry sends no digest
 * header): the same as {@link GetManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export type ManifestDigestError = ByTag<typeof ManifestDigestErrorTags[number]>

/**
 * The tags of {@link PutManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const PutManifestErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "TagInvalid",
  "DigestInvalid",
  "NameUnknown",
  "ManifestInvalid",
  "ManifestBlobUnknown",
  "ManifestUnverified",
  "DigestMismatch",
  "Unsupported"
] as const

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
export type PutManifestError = ByTag<typeof PutManifestErrorTags[number]>

/**
 * The tags of {@link DeleteManifestError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const DeleteManifestErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "DigestInvalid",
  "NameUnknown",
  "ManifestUnknown",
  "Unsupported"
] as const

/**
 * Errors of `deleteManifest`: an unknown manifest (or repository), and a registry
 * with deletes disabled (`Unsupported`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteManifestError = ByTag<typeof DeleteManifestErrorTags[number]>

/**
 * The tags of {@link DownloadBlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const DownloadBlobErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "DigestInvalid",
  "NameUnknown",
  "BlobUnknown",
  "DigestMismatch",
  "SizeMismatch",
  "RangeInvalid"
] as const

/**
 * Errors of `downloadBlob`: an unknown blob, a range that cannot be satisfied,
 * and bytes that do not match the digest or the announced size (whole reads).
 *
 * @since 0.1.0
 * @category errors
 */
export type DownloadBlobError = ByTag<typeof DownloadBlobErrorTags[number]>

/**
 * The tags of {@link HasBlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const HasBlobErrorTags = [...BaseErrorTags, "NameInvalid", "DigestInvalid"] as const

/**
 * Errors of `hasBlob`: never `BlobUnknown` (an absent blob is `false`), and no
 * registry error code at all (a HEAD answer has no body), only bad input and the
 * {@link BaseError}s.
 *
 * @since 0.1.0
 * @category errors
 */
export type HasBlobError = ByTag<typeof HasBlobErrorTags[number]>

/**
 * The tags of {@link BlobMetadataError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const BlobMetadataErrorTags = [...HasBlobErrorTags, "BlobUnknown"] as const

/**
 * Errors of `blobMetadata` (a HEAD): {@link HasBlobError} and `BlobUnknown`.
 *
 * @since 0.1.0
 * @category errors
 */
export type BlobMetadataError = ByTag<typeof BlobMetadataErrorTags[number]>

/**
 * The tags of {@link UploadBlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const UploadBlobErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "DigestInvalid",
  "NameUnknown",
  "BlobUploadUnknown",
  "BlobUploadInvalid",
  "RangeInvalid",
  "DigestMismatch",
  "SizeMismatch",
  "UploadNotResumable",
  "Unsupported"
] as const

/**
 * Errors of `uploadBlob` (besides the source's own errors, which pass through
 * unchanged): the upload session refused or lost, a chunk out of order, bytes that
 * do not match the digest or size, a one-shot source that cannot be read again, a
 * registry that refuses pushes.
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadBlobError = ByTag<typeof UploadBlobErrorTags[number]>

/**
 * The tags of {@link MountBlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const MountBlobErrorTags = UploadBlobErrorTags

/**
 * Errors of `mountBlob` (besides the source's own errors): the same as
 * {@link UploadBlobError}; a refused mount without a `source` is `Unauthorized` or `Denied`.
 *
 * @since 0.1.0
 * @category errors
 */
export type MountBlobError = ByTag<typeof MountBlobErrorTags[number]>

/**
 * The tags of {@link DeleteBlobError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const DeleteBlobErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "DigestInvalid",
  "NameUnknown",
  "BlobUnknown",
  "Unsupported"
] as const

/**
 * Errors of `deleteBlob`: an unknown blob (or repository), and a registry with
 * deletes disabled (`Unsupported`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteBlobError = ByTag<typeof DeleteBlobErrorTags[number]>

/**
 * The tags of {@link DeleteError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const DeleteErrorTags = [...DeleteManifestErrorTags, ...DeleteBlobErrorTags] as const

/**
 * Errors of either delete (`deleteManifest`, `deleteBlob`).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteError = ByTag<typeof DeleteErrorTags[number]>

/**
 * The tags of {@link UploadSessionError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const UploadSessionErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "NameUnknown",
  "BlobUploadUnknown",
  "BlobUploadInvalid"
] as const

/**
 * Errors of `cancelUpload` and `uploadStatus` on an upload session: a session the
 * registry does not know (cancelled, expired) or refuses (a stale `Location`).
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadSessionError = ByTag<typeof UploadSessionErrorTags[number]>

/**
 * The tags of {@link ReferrersError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const ReferrersErrorTags = [
  ...BaseErrorTags,
  "NameInvalid",
  "DigestInvalid",
  "NameUnknown",
  "ManifestInvalid",
  "DigestMismatch"
] as const

/**
 * Errors of `referrers`: a bad repository or digest, an unknown repository, and,
 * from the tag-schema fallback index, an index that does not decode or does not
 * hash to its digest.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReferrersError = ByTag<typeof ReferrersErrorTags[number]>
