/**
 * Upload sessions by their `Location`: `cancelUpload` (`DELETE`) and `uploadStatus` (`GET`).
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as AuthService from "../../AuthService.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"

const scopes = AuthService.scopes
const toUploadSessionError = ErrorUnion.narrow(RegistryClientError.UploadSessionErrorTags)

/**
 * The `cancelUpload` and `uploadStatus` operations of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  // An upload URL: resolved against the registry; the repository read from its path for the scopes.
  const uploadLocation = (location: string) =>
    Effect.gen(function*() {
      const url = yield* Request.followLocation(env, location, `${env.baseUrl}/v2/`, {})
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
  return { cancelUpload, uploadStatus }
}
