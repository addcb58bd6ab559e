/**
 * `uploadBlob` and `mountBlob`: inputs checked before any request, the caller's
 * source errors kept apart from the registry's, then the upload state machine
 * (`upload.ts`); a mount the registry refuses or does not perform falls back to
 * an upload from `source` when there is one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as AuthService from "../../AuthService.js"
import * as BlobSource from "../../BlobSource.js"
import type * as Digest from "../../Digest.js"
import * as Reference from "../../Reference.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { MountBlobError, UploadBlobError } from "../../RegistryClientError.js"
import type { MountOptions, UploadOptions, UploadResult } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import type * as Request from "../http/index.js"
import * as UploadOps from "./upload.js"
import { validBlob } from "./validate.js"

const scopes = AuthService.scopes
const toUploadBlobError = ErrorUnion.narrow(RegistryClientError.UploadBlobErrorTags)

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

/**
 * The `uploadBlob` and `mountBlob` operations of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
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
  return { uploadBlob, mountBlob }
}
