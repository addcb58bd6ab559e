/**
 * `uploadBlob`: inputs checked before any request, the caller's source errors
 * kept apart from the registry's, then the upload state machine (`upload.ts`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as AuthService from "../../AuthService.js"
import * as BlobSource from "../../BlobSource.js"
import type * as Digest from "../../Digest.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { UploadBlobError } from "../../RegistryClientError.js"
import type { UploadOptions, UploadResult } from "../../RegistryClientTypes.js"
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

/**
 * The source with its failures marked as the caller's.
 *
 * @since 0.1.0
 */
export const markSource = <E, R>(source: BlobSource.BlobSource<E, R>): BlobSource.BlobSource<SourceFailure<E>, R> => {
  const mark = <A>(stream: Stream.Stream<A, E, R>) => Stream.mapError(stream, (e) => new SourceFailure(e))
  if (source._tag === "OneShot") return { ...source, stream: mark(source.stream) }
  const into = BlobSource.openIntoOf(source)
  return into === undefined
    ? { ...source, open: (offset) => mark(source.open(offset)) }
    : BlobSource.reopenableInto((offset) => mark(source.open(offset)), (offset, buffer) => mark(into(offset, buffer)))
}

/**
 * The source's own failure unchanged; a registry error narrowed to the upload union.
 *
 * @since 0.1.0
 */
export const toUploadFailure = <E>(
  e: RegistryError.RegistryError | SourceFailure<E>
): UploadBlobError | E => e instanceof SourceFailure ? e.error : toUploadBlobError(e)

/**
 * Checks the size and chunk size of an upload before any request: one that no upload can honour would
 * open a session for nothing.
 *
 * @since 0.1.0
 */
export const validUploadOptions = (options: UploadOptions | undefined, repository: string, digest: Digest.Digest) => {
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

/**
 * The `uploadBlob` operation of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
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
  return { uploadBlob }
}
