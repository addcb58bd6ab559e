/**
 * Blob existence, metadata and deletion (`HEAD` and `DELETE /v2/<name>/blobs/<digest>`).
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as AuthService from "../../AuthService.js"
import * as Digest from "../../Digest.js"
import * as MediaType from "../../MediaType.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"
import * as DownloadOps from "./download.js"
import * as UploadOps from "./upload.js"
import { validBlob } from "./validate.js"

const scopes = AuthService.scopes
const toHasBlobError = ErrorUnion.narrow(RegistryClientError.HasBlobErrorTags)
const toBlobMetadataError = ErrorUnion.narrow(RegistryClientError.BlobMetadataErrorTags)
const toDeleteBlobError = ErrorUnion.narrow(RegistryClientError.DeleteBlobErrorTags)

/**
 * The `hasBlob`, `blobMetadata` and `deleteBlob` operations of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
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
  return { hasBlob, blobMetadata, deleteBlob }
}
