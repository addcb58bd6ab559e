// Type-level tests of the per-operation error unions, checked by `tsc -b` (tests are in tsconfig.test.json).
import type { RegistryClient, RegistryError } from "@effect-registry/core"
import { describe, it } from "@effect/vitest"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import { expectTypeOf } from "vitest"

type Service = RegistryClient.Service
type Err<K extends keyof Service> = Service[K] extends (...args: infer _A) => infer Out
  ? Out extends Effect.Effect<infer _X, infer E, infer _R> ? E
  : Out extends Stream.Stream<infer _X, infer E, infer _R> ? E
  : never
  : never
type Has<E, Tag extends string> = Extract<E, { readonly _tag: Tag }>

declare const _client: Service
class SourceError {
  readonly _tag = "SourceError"
}
type UploadErr = Effect.Effect.Error<ReturnType<typeof _client.uploadBlob<SourceError, never>>>
type MountErr = Effect.Effect.Error<ReturnType<typeof _client.mountBlob<SourceError, never>>>

describe("ErrorUnions (types)", () => {
  it("each operation fails with its exported union", () => {
    expectTypeOf<Err<"ping">>().toEqualTypeOf<RegistryClient.PingError>()
    expectTypeOf<Err<"repositories">>().toEqualTypeOf<RegistryClient.CatalogError>()
    expectTypeOf<Err<"repositoriesStream">>().toEqualTypeOf<RegistryClient.CatalogError>()
    expectTypeOf<Err<"tags">>().toEqualTypeOf<RegistryClient.TagsError>()
    expectTypeOf<Err<"tagsStream">>().toEqualTypeOf<RegistryClient.TagsError>()
    expectTypeOf<Err<"getManifest">>().toEqualTypeOf<RegistryClient.GetManifestError>()
    expectTypeOf<Err<"manifest">>().toEqualTypeOf<RegistryClient.GetManifestError>()
    expectTypeOf<Err<"manifestV2">>().toEqualTypeOf<RegistryClient.GetManifestError>()
    expectTypeOf<Err<"manifestDigest">>().toEqualTypeOf<RegistryClient.ManifestDigestError>()
    expectTypeOf<Err<"putManifest">>().toEqualTypeOf<RegistryClient.PutManifestError>()
    expectTypeOf<Err<"deleteManifest">>().toEqualTypeOf<RegistryClient.DeleteManifestError>()
    expectTypeOf<Err<"downloadBlob">>().toEqualTypeOf<RegistryClient.DownloadBlobError>()
    expectTypeOf<Err<"hasBlob">>().toEqualTypeOf<RegistryClient.HasBlobError>()
    expectTypeOf<Err<"blobMetadata">>().toEqualTypeOf<RegistryClient.BlobMetadataError>()
    expectTypeOf<Err<"deleteBlob">>().toEqualTypeOf<RegistryClient.DeleteBlobError>()
    expectTypeOf<Err<"cancelUpload">>().toEqualTypeOf<RegistryClient.UploadSessionError>()
    expectTypeOf<Err<"uploadStatus">>().toEqualTypeOf<RegistryClient.UploadSessionError>()
    expectTypeOf<Err<"referrers">>().toEqualTypeOf<RegistryClient.ReferrersError>()
    expectTypeOf<UploadErr>().toEqualTypeOf<RegistryClient.UploadBlobError | SourceError>()
    expectTypeOf<MountErr>().toEqualTypeOf<RegistryClient.MountBlobError | SourceError>()
  })

  it("every union holds the base errors and stays within the wide ResponseError family", () => {
    type All =
      | RegistryClient.PingError
      | RegistryClient.CatalogError
      | RegistryClient.TagsError
      | RegistryClient.GetManifestError
      | RegistryClient.PutManifestError
      | RegistryClient.DeleteError
      | RegistryClient.DownloadBlobError
      | RegistryClient.HasBlobError
      | RegistryClient.BlobMetadataError
      | RegistryClient.UploadBlobError
      | RegistryClient.UploadSessionError
      | RegistryClient.ReferrersError
    expectTypeOf<All>().toExtend<RegistryError.RegistryError>()
    expectTypeOf<RegistryClient.BaseError>().toExtend<RegistryClient.HasBlobError>()
    expectTypeOf<RegistryClient.BaseError>().toExtend<RegistryClient.TagsError>()
    expectTypeOf<RegistryClient.BaseError>().toExtend<RegistryClient.UploadSessionError>()
    expectTypeOf<RegistryClient.TagsError>().toExtend<RegistryClient.ResponseError>()
    expectTypeOf<RegistryClient.GetManifestError>().toExtend<RegistryClient.ManifestError>()
    expectTypeOf<RegistryClient.DownloadBlobError>().toExtend<RegistryClient.BlobError>()
    expectTypeOf<RegistryClient.UploadBlobError>().toExtend<RegistryClient.UploadError>()
  })

  it("hasBlob never fails with BlobUnknown, nor with a registry code (a HEAD has no body)", () => {
    expectTypeOf<Has<Err<"hasBlob">, "BlobUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"hasBlob">, "NameUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"hasBlob">, "DigestInvalid">>().toEqualTypeOf<RegistryError.DigestInvalid>()
    expectTypeOf<Has<Err<"blobMetadata">, "BlobUnknown">>().toEqualTypeOf<RegistryError.BlobUnknown>()
  })

  it("listings: tags may be NameUnknown, never a manifest or upload error", () => {
    expectTypeOf<Has<Err<"tags">, "NameUnknown">>().toEqualTypeOf<RegistryError.NameUnknown>()
    expectTypeOf<Has<Err<"tags">, "PaginationNumberInvalid">>().toEqualTypeOf<RegistryError.PaginationNumberInvalid>()
    expectTypeOf<Has<Err<"tags">, "ManifestBlobUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"tags">, "BlobUploadInvalid">>().toBeNever()
    expectTypeOf<Has<Err<"repositories">, "NameUnknown">>().toBeNever()
  })

  it("manifests: reads never fail with push errors, pushes never with ManifestUnknown", () => {
    expectTypeOf<Has<Err<"getManifest">, "ManifestUnknown">>().toEqualTypeOf<RegistryError.ManifestUnknown>()
    expectTypeOf<Has<Err<"getManifest">, "DigestMismatch">>().toEqualTypeOf<RegistryError.DigestMismatch>()
    expectTypeOf<Has<Err<"getManifest">, "ManifestBlobUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"getManifest">, "BlobUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"putManifest">, "ManifestBlobUnknown">>().toEqualTypeOf<RegistryError.ManifestBlobUnknown>()
    expectTypeOf<Has<Err<"putManifest">, "ManifestUnverified">>().toEqualTypeOf<RegistryError.ManifestUnverified>()
    expectTypeOf<Has<Err<"putManifest">, "Unsupported">>().toEqualTypeOf<RegistryError.Unsupported>()
    expectTypeOf<Has<Err<"putManifest">, "ManifestUnknown">>().toBeNever()
    expectTypeOf<Has<Err<"deleteManifest">, "Unsupported">>().toEqualTypeOf<RegistryError.Unsupported>()
    expectTypeOf<Has<Err<"deleteManifest">, "BlobUnknown">>().toBeNever()
  })

  it("blobs and uploads", () => {
    expectTypeOf<Has<Err<"downloadBlob">, "SizeMismatch">>().toEqualTypeOf<RegistryError.SizeMismatch>()
    expectTypeOf<Has<Err<"downloadBlob">, "RangeInvalid">>().toEqualTypeOf<RegistryError.RangeInvalid>()
    expectTypeOf<Has<Err<"downloadBlob">, "ManifestUnknown">>().toBeNever()
    expectTypeOf<Has<UploadErr, "UploadNotResumable">>().toEqualTypeOf<RegistryError.UploadNotResumable>()
    expectTypeOf<Has<UploadErr, "BlobUploadInvalid">>().toEqualTypeOf<RegistryError.BlobUploadInvalid>()
    expectTypeOf<Has<UploadErr, "BlobUnknown">>().toBeNever()
    expectTypeOf<Has<UploadErr, "ManifestInvalid">>().toBeNever()
    expectTypeOf<Has<Err<"uploadStatus">, "BlobUploadUnknown">>().toEqualTypeOf<RegistryError.BlobUploadUnknown>()
    expectTypeOf<Has<Err<"cancelUpload">, "DigestMismatch">>().toBeNever()
    expectTypeOf<Has<Err<"deleteBlob">, "BlobUnknown">>().toEqualTypeOf<RegistryError.BlobUnknown>()
    expectTypeOf<Has<Err<"referrers">, "ManifestUnknown">>().toBeNever()
  })
})
