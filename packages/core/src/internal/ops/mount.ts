/**
 * `mountBlob`: a cross-repository mount (`POST …/blobs/uploads/?mount=&from=`); when the
 * registry refuses it (`Unauthorized`, `Denied`) or opens an upload session instead, the
 * blob is uploaded from `source` when there is one, else the session is cancelled and
 * the blob reported as not mounted.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as AuthService from "../../AuthService.js"
import * as Reference from "../../Reference.js"
import type { MountBlobError } from "../../RegistryClientError.js"
import type { MountOptions, UploadResult } from "../../RegistryClientTypes.js"
import type * as Request from "../http/index.js"
import * as UploadOps from "./upload.js"
import { markSource, toUploadFailure, validUploadOptions } from "./uploadBlob.js"
import { validBlob } from "./validate.js"

const scopes = AuthService.scopes

/**
 * The `mountBlob` operation of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
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
  return { mountBlob }
}
