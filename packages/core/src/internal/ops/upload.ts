/**
 * The blob upload state machine: monolithic, chunked and streamed uploads,
 * resume from the registry's `Range`, restart in a new session from a
 * re-openable source, cross-repository mounts.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BlobSource from "../../BlobSource.js"
import * as Digest from "../../Digest.js"
import type { UploadOptions, UploadResult } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"

const OctetStream = "application/octet-stream"

/** @since 0.1.0 */
export type UploadFailure =
  | Request.ResponseFailure
  | RegistryError.DigestMismatch
  | RegistryError.SizeMismatch
  | RegistryError.UploadNotResumable

/** The session is gone or cannot be continued from what the client holds. */
// The bytes of the upload are needed again; `why` says why (see `UploadNotResumableReason`).
class SessionLost extends Data.TaggedError("SessionLost")<{
  readonly cause: UploadFailure
  readonly why: RegistryError.UploadNotResumableReason
}> {}

const isRecoverable = (error: RegistryError.RegistryError): boolean =>
  RetryPolicy.isTransient(error) ||
  error._tag === "BlobUploadInvalid" ||
  error._tag === "BlobUploadUnknown" ||
  error._tag === "RangeInvalid" ||
  (error._tag === "Unauthorized" && error.reason === "InvalidToken")

const withDigest = (location: string, digest: Digest.Digest): string =>
  Either.match(Either.try(() => new URL(location)), {
    onLeft: () => location,
    onRight: (url) => {
      url.searchParams.set("digest", digest)
      return url.toString()
    }
  })

/** @since 0.1.0 */
export const blobUrl = (env: Request.OpsEnv, repository: string, digest: Digest.Digest): string =>
  `${env.baseUrl}/v2/${repository}/blobs/${digest}`

/**
 * HEAD a blob: its size when present, `None` when the registry answers 404.
 *
 * @since 0.1.0
 */
export const headBlob = (
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  scopes: ReadonlyArray<string>
): Effect.Effect<
  Option.Option<HttpClientResponse.HttpClientResponse>,
  Exclude<Request.ResponseFailure, RegistryError.BlobUnknown>
> =>
  Request.call(env, {
    request: HttpClientRequest.head(blobUrl(env, repository, digest)),
    scopes,
    context: { repository, digest },
    ok: [200],
    notFound: (fields) => new RegistryError.BlobUnknown(fields)
  }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("BlobUnknown", () => Effect.succeed(Option.none()))
  )

/**
 * DELETE an upload session, ignoring any failure.
 *
 * @since 0.1.0
 */
export const cancelQuietly = (
  env: Request.OpsEnv,
  location: string,
  scopes: ReadonlyArray<string>,
  ctx: Request.ErrorContext
): Effect.Effect<void> =>
  Effect.ignore(Request.call(env, {
    request: HttpClientRequest.del(location),
    scopes,
    context: ctx,
    ok: [200, 202, 204],
    // a DELETE is idempotent: a lost or refused answer is asked again, so no session the client can
    // still address is left open
    retry: true
  }))

/** @since 0.1.0 */
export interface Session {
  readonly location: string
  readonly minChunk: number
}

/**
 * POST a new upload session (optionally a mount).
 *
 * @since 0.1.0
 */
export const startSession = (
  env: Request.OpsEnv,
  repository: string,
  scopes: ReadonlyArray<string>,
  ctx: Request.ErrorContext,
  mount?: { readonly digest: Digest.Digest; readonly from: string }
): Effect.Effect<
  { readonly mounted: true } | { readonly mounted: false; readonly session: Session },
  Request.ResponseFailure
> =>
  Effect.gen(function*() {
    const url = new URL(`${env.baseUrl}/v2/${repository}/blobs/uploads/`)
    if (mount !== undefined) {
      url.searchParams.set("mount", mount.digest)
      url.searchParams.set("from", mount.from)
    }
    const response = yield* Request.call(env, {
      request: HttpClientRequest.post(url.toString()),
      scopes,
      context: ctx,
      ok: mount !== undefined ? [201, 202] : [202],
      retry: true
    })
    if (response.status === 201) return { mounted: true } as const
    const location = yield* Request.followLocation(env, response.headers["location"], response.request.url, {
      ...ctx,
      request: Request.describeRequest("POST", url.toString()),
      status: response.status
    })
    const minChunk = Option.getOrElse(Range.parseLength(response.headers["oci-chunk-min-length"]), () => 0)
    return { mounted: false, session: { location, minChunk } } as const
  })

/**
 * Upload a blob. When `session` is given (a mount that fell back to an upload), the
 * existence check is skipped and that session is used first.
 *
 * @since 0.1.0
 */
export const upload = <E, R>(
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  source: BlobSource.BlobSource<E, R>,
  options: UploadOptions | undefined,
  scopes: ReadonlyArray<string>,
  session?: Session
): Effect.Effect<UploadResult, UploadFailure | E, R> =>
  Effect.gen(function*() {
    const ctx: Request.ErrorContext = { repository, digest }
    const size = options?.size
    const chunkSize = options?.chunkSize
    if (session === undefined) {
      const existing = yield* headBlob(env, repository, digest, scopes)
      if (Option.isSome(existing)) {
        const length = Option.getOrUndefined(Range.parseLength(existing.value.headers["content-length"]))
        return { digest, size: length ?? size, skipped: true, mounted: false }
      }
    }
    const context = yield* Effect.context<R>()
    const algorithm = Digest.algorithm(digest)
    const verifyDigest = options?.verifyDigest !== false
    const hasher = verifyDigest ? env.hash.make(algorithm) : undefined
    let hashed = 0
    let pulled = false
    let finalDigest: string | undefined
    let sourceFailure: Option.Option<E | RegistryError.DigestMismatch | RegistryError.SizeMismatch> = Option.none()
    let oneShotOpened = false

    // Hashes each byte once, by absolute offset, so resends and re-opened sources are not hashed twice.
    const tracked = (from: number, stream: Stream.Stream<Uint8Array, E, R>) =>
      Stream.suspend(() => {
        let pos = from
        // one step per chunk of pieces (not per piece)
        return Stream.mapChunksEffect(stream, (chunk) => {
          pulled = true
          for (const bytes of chunk) {
            const end = pos + bytes.length
            if (end > hashed) {
              const skip = Math.max(0, hashed - pos)
              if (hasher !== undefined) hasher.update(skip === 0 ? bytes : bytes.subarray(skip))
              hashed = end
            }
            pos = end
            if (size !== undefined && hashed > size) {
              return Effect.fail(
                new RegistryError.SizeMismatch({
                  ...ctx,
                  expected: size,
                  actual: hashed,
                  detail: "the source has more bytes than announced"
                })
              )
            }
          }
          return Effect.succeed(chunk)
        })
      })

    const verify = Effect.suspend(
      (): Effect.Effect<void, RegistryError.DigestMismatch | RegistryError.SizeMismatch> => {
        if (size !== undefined && hashed !== size) {
          return Effect.fail(new RegistryError.SizeMismatch({ ...ctx, expected: size, actual: hashed }))
        }
        if (hasher === undefined) return Effect.void
        if (finalDigest === undefined) finalDigest = `${algorithm}:${hasher.digestHex().toLowerCase()}`
        return finalDigest === digest
          ? Effect.void
          : Effect.fail(
            new RegistryError.DigestMismatch({
              ...ctx,
              expected: digest,
              actual: finalDigest,
              detail: "the bytes sent do not hash to the digest"
            })
          )
      }
    )

    const open = (offset: number): Option.Option<Stream.Stream<Uint8Array, E, R>> => {
      if (source._tag === "Reopenable") return Option.some(source.open(offset))
      if (offset === 0 && (!oneShotOpened || !pulled)) {
        oneShotOpened = true
        return Option.some(source.stream)
      }
      return Option.none()
    }
    const canRestart = () => source._tag === "Reopenable" || !pulled

    // A request body from the source at `offset`, ending with the verification; failures are recorded.
    const bodyAt = (offset: number) =>
      Option.map(open(offset), (stream) =>
        tracked(offset, stream).pipe(
          Stream.concat(Stream.drain(Stream.fromEffect(verify))),
          Stream.tapError((e) =>
            Effect.sync(() => {
              sourceFailure = Option.some(e)
            })
          ),
          Stream.provideContext(context)
        ))

    const driver = yield* Schedule.driver(env.uploadRetry)
    const backoff = <X extends RegistryError.RegistryError>(error: X) =>
      Effect.mapError(driver.next(error), () => error)

    const state = { location: "" }
    const lost = (cause: UploadFailure, why: RegistryError.UploadNotResumableReason = "RequestFailed") =>
      new SessionLost({ cause, why })
    const consumed = () =>
      lost(new RegistryError.UploadNotResumable({ ...ctx, reason: "SourceConsumed" }), "SourceConsumed")

    const sendOn = (request: HttpClientRequest.HttpClientRequest, ok: ReadonlyArray<number>) =>
      Effect.flatMap(
        Request.send(env, request, scopes, ctx),
        (response) => Request.expect(env, response, ok, ctx, { scopes })
      )

    const nextLocation = (response: HttpClientResponse.HttpClientResponse) =>
      response.headers["location"] === undefined
        ? Effect.succeed(state.location)
        : Request.followLocation(env, response.headers["location"], response.request.url, ctx)

    const status = (confirmed: number) =>
      Effect.gen(function*() {
        const response = yield* Request.call(env, {
          request: HttpClientRequest.get(state.location),
          scopes,
          context: ctx,
          ok: [200, 204],
          notFound: (fields) => new RegistryError.BlobUploadUnknown(fields)
        })
        state.location = yield* nextLocation(response)
        return Range.uploadedBytes(response.headers["range"], confirmed)
      }).pipe(Effect.mapError((e) => lost(e, e._tag === "BlobUploadUnknown" ? "SessionLost" : "StatusUnknown")))

    const checkStored = (response: HttpClientResponse.HttpClientResponse) => {
      const announced = response.headers["docker-content-digest"]
      if (
        announced !== undefined && Digest.isDigest(announced.trim()) &&
        Digest.algorithm(announced.trim() as Digest.Digest) === algorithm && announced.trim() !== digest
      ) {
        return Effect.fail(
          new RegistryError.DigestMismatch({
            ...ctx,
            expected: digest,
            actual: announced.trim(),
            detail: "the registry stored the blob under another digest"
          })
        )
      }
      return Effect.void
    }

    const blobExists = headBlob(env, repository, digest, scopes).pipe(Effect.map(Option.isSome))

    // The closing PUT of a chunked or streamed upload.
    const close = (total: number) =>
      Effect.gen(function*() {
        while (true) {
          const result = yield* Effect.either(
            sendOn(
              HttpClientRequest.put(withDigest(state.location, digest)).pipe(
                HttpClientRequest.bodyUint8Array(new Uint8Array(0), OctetStream)
              ),
              [201, 204]
            )
          )
          if (Either.isRight(result)) return yield* checkStored(result.right)
          const error = result.left
          if (!isRecoverable(error)) return yield* error
          if (yield* blobExists) return
          yield* backoff(error)
          const at = yield* status(total)
          if (Option.isNone(at)) return yield* lost(error, "StatusUnknown")
          if (at.value !== total) return yield* lost(error, "BytesLost")
        }
      })

    const sendChunk = (chunk: Uint8Array, start: number) =>
      Effect.gen(function*() {
        let sent = 0
        while (true) {
          const piece = sent === 0 ? chunk : chunk.subarray(sent)
          const request = HttpClientRequest.patch(state.location).pipe(
            HttpClientRequest.setHeader("content-range", `${start + sent}-${start + chunk.length - 1}`),
            HttpClientRequest.bodyUint8Array(piece, OctetStream)
          )
          const result = yield* Effect.either(sendOn(request, [202, 204]))
          let error: UploadFailure
          if (Either.isRight(result)) {
            state.location = yield* nextLocation(result.right)
            const held = Range.uploadedBytes(result.right.headers["range"], start + chunk.length)
            if (Option.isNone(held) || held.value >= start + chunk.length) {
              // progress: the next step gets the whole retry budget again
              return yield* driver.reset
            }
            if (held.value < start) {
              return yield* lost(
                new RegistryError.BlobUploadInvalid({ ...ctx, detail: "the registry lost bytes of earlier chunks" }),
                "BytesLost"
              )
            }
            error = new RegistryError.BlobUploadInvalid({ ...ctx, detail: "the registry kept only part of the chunk" })
          } else {
            error = result.left
            if (!isRecoverable(error)) return yield* error
          }
          yield* backoff(error)
          const at = yield* status(start + sent)
          if (Option.isNone(at)) return yield* lost(error, "StatusUnknown")
          if (at.value < start) return yield* lost(error, "BytesLost")
          if (at.value >= start + chunk.length) return yield* driver.reset
          sent = at.value - start
        }
      })

    const monolithic = (total: number) =>
      Effect.gen(function*() {
        const body = bodyAt(0)
        if (Option.isNone(body)) return yield* consumed()
        const request = HttpClientRequest.put(withDigest(state.location, digest)).pipe(
          HttpClientRequest.bodyStream(body.value, { contentType: OctetStream, contentLength: total })
        )
        const result = yield* Effect.either(sendOn(request, [201, 204]))
        if (Option.isSome(sourceFailure)) return yield* Effect.fail(sourceFailure.value)
        if (Either.isRight(result)) {
          yield* verify
          return yield* checkStored(result.right)
        }
        const error = result.left
        if (!isRecoverable(error)) return yield* error
        if (yield* blobExists) return
        return yield* lost(error)
      })

    // Unknown size, no chunk size: one PATCH streaming the whole source, then the closing PUT.
    const streamed = Effect.gen(function*() {
      let offset = 0
      while (true) {
        const body = bodyAt(offset)
        if (Option.isNone(body)) return yield* consumed()
        const request = HttpClientRequest.patch(state.location).pipe(
          HttpClientRequest.bodyStream(body.value, { contentType: OctetStream })
        )
        const result = yield* Effect.either(sendOn(request, [202, 204]))
        if (Option.isSome(sourceFailure)) return yield* Effect.fail(sourceFailure.value)
        if (Either.isRight(result)) {
          state.location = yield* nextLocation(result.right)
          break
        }
        const error = result.left
        if (!isRecoverable(error)) return yield* error
        yield* backoff(error)
        const at = yield* status(offset)
        if (Option.isNone(at)) return yield* lost(error, "StatusUnknown")
        if (source._tag === "OneShot" || at.value > hashed) return yield* lost(error)
        offset = at.value
      }
      yield* verify
      yield* close(hashed)
    })

    const chunked = (pieceSize: number) =>
      Effect.gen(function*() {
        const stream = open(0)
        if (Option.isNone(stream)) return yield* consumed()
        const total = yield* Effect.scoped(Effect.gen(function*() {
          const pull = yield* Stream.toPull(tracked(0, stream.value).pipe(BlobSource.rechunkBytes(pieceSize)))
          let offset = 0
          while (true) {
            const next = yield* Effect.either(pull)
            if (Either.isLeft(next)) {
              if (Option.isNone(next.left)) break
              return yield* Effect.fail(next.left.value)
            }
            for (const chunk of next.right) {
              yield* sendChunk(chunk, offset)
              offset += chunk.length
            }
          }
          return offset
        }))
        yield* verify
        yield* close(total)
      })

    let pending = session
    let restarts = 0
    while (true) {
      sourceFailure = Option.none()
      let current: Session
      if (pending !== undefined) {
        current = pending
        pending = undefined
      } else {
        const started = yield* startSession(env, repository, scopes, ctx)
        if (started.mounted) return { digest, size, skipped: false, mounted: true }
        current = started.session
      }
      state.location = current.location
      const attempt = chunkSize !== undefined
        ? chunked(Math.max(1, chunkSize, current.minChunk))
        : size !== undefined
        ? monolithic(size)
        : streamed
      const outcome = yield* Effect.either(attempt)
      if (Either.isRight(outcome)) return { digest, size: hashed, skipped: false, mounted: false }
      const failure = outcome.left
      yield* cancelQuietly(env, state.location, scopes, ctx)
      if (failure instanceof SessionLost) {
        if (!canRestart()) {
          return yield* failure.cause._tag === "UploadNotResumable"
            ? Effect.fail(failure.cause)
            : new RegistryError.UploadNotResumable({ ...ctx, reason: failure.why, cause: failure.cause })
        }
        if (restarts >= env.maxUploadRestarts) return yield* Effect.fail(failure.cause)
        restarts++
        yield* backoff(failure.cause)
        continue
      }
      return yield* Effect.fail(failure)
    }
  })

/** @since 0.1.0 */
export interface MountResult {
  readonly mounted: boolean
  readonly session: Session | undefined
}

/**
 * Cross-repository mount: 201 → mounted; 202 → the session the registry opened instead.
 *
 * @since 0.1.0
 */
export const mount = (
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  from: string,
  scopes: ReadonlyArray<string>
): Effect.Effect<MountResult, Request.ResponseFailure> =>
  Effect.map(
    startSession(env, repository, scopes, { repository, digest }, { digest, from }),
    (r) => r.mounted ? { mounted: true, session: undefined } : { mounted: false, session: r.session }
  )
