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
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BlobSource from "../../BlobSource.js"
import * as Digest from "../../Digest.js"
import type { UploadOptions, UploadResult } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as ByteStream from "../byteStream.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"
import * as UploadBody from "./uploadBody.js"
import * as UploadSession from "./uploadSession.js"
import * as UploadState from "./uploadState.js"

export {
  /** @since 0.1.0 */
  blobUrl,
  /** @since 0.1.0 */
  cancelQuietly,
  /** @since 0.1.0 */
  headBlob,
  /** @since 0.1.0 */
  mount,
  /** @since 0.1.0 */
  startSession
} from "./uploadSession.js"
export type {
  /** @since 0.1.0 */
  MountResult,
  /** @since 0.1.0 */
  Session
} from "./uploadSession.js"

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

/** A failure to retry: the attempt runs again after a pause of the retry schedule, which is fed `error`. */
class Retry extends Data.TaggedError("Retry")<{ readonly error: UploadFailure }> {}

// `attempt` again, after a pause of `policy` (fed the failure), while it fails with `Retry`; once the policy
// ends, the last retried failure. Each call starts `policy` afresh: the attempt has a budget of its own.
const retried = <A, E, R>(
  attempt: Effect.Effect<A, E | Retry, R>,
  policy: RetryPolicy.Policy
): Effect.Effect<A, E | UploadFailure, R> =>
  attempt.pipe(
    Effect.map((a): Either.Either<A, E | UploadFailure> => Either.right(a)),
    Effect.catchAll((e) => e instanceof Retry ? Effect.fail(e) : Effect.succeed(Either.left(e))),
    Effect.retry(Schedule.mapInput(policy, (retry: Retry) => retry.error)),
    Effect.catchAll((retry) => Effect.succeed(Either.left(retry.error))),
    Effect.flatMap((outcome) => outcome)
  )

const isUploadFailure = (u: unknown): u is UploadFailure => Predicate.hasProperty(u, RegistryError.TypeId)

const withDigest = (location: string, digest: Digest.Digest): string =>
  Either.match(Either.try(() => new URL(location)), {
    onLeft: () => location,
    onRight: (url) => {
      url.searchParams.set("digest", digest)
      return url.toString()
    }
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
  session?: UploadSession.Session
): Effect.Effect<UploadResult, UploadFailure | E, R> =>
  Effect.gen(function*() {
    const ctx: Request.ErrorContext = { repository, digest }
    const size = options?.size
    if (session === undefined) {
      const existing = yield* UploadSession.headBlob(env, repository, digest, scopes)
      if (Option.isSome(existing)) {
        const length = Option.getOrUndefined(Range.parseLength(existing.value.headers["content-length"]))
        return { digest, size: length ?? size, skipped: true, mounted: false }
      }
    }
    const context = yield* Effect.context<R>()
    const algorithm = Digest.algorithm(digest)
    const hasher = options?.verifyDigest !== false ? env.hash.make(algorithm) : undefined

    // What the source has given, over every session of this upload.
    const given = {
      /** Bytes hashed and counted, by absolute offset: each byte once, however often it is sent. */
      hashed: 0,
      /** The one-shot stream was handed to a request; some of its bytes were pulled. */
      opened: false,
      pulled: false,
      digest: undefined as string | undefined,
      /** The failure of the body being sent (the source's own, or the verification at its end). */
      failure: Option.none<E | RegistryError.DigestMismatch | RegistryError.SizeMismatch>()
    }
    const sourceUse = (): UploadState.SourceUse => ({
      reopenable: source._tag === "Reopenable",
      opened: given.opened,
      pulled: given.pulled
    })

    const tracked = (from: number, stream: Stream.Stream<Uint8Array, E, R>) =>
      Stream.suspend(() => {
        let at = from
        // one step per chunk of pieces (not per piece)
        return Stream.mapChunksEffect(stream, (chunk) => {
          given.pulled = true
          for (const bytes of chunk) {
            const fresh = UploadState.unhashedFrom(given.hashed, at, bytes.length)
            at += bytes.length
            if (Option.isSome(fresh)) {
              hasher?.update(fresh.value === 0 ? bytes : bytes.subarray(fresh.value))
              given.hashed = at
            }
            if (size !== undefined && given.hashed > size) {
              return Effect.fail(
                new RegistryError.SizeMismatch({
                  ...ctx,
                  expected: size,
                  actual: given.hashed,
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
        if (size !== undefined && given.hashed !== size) {
          return Effect.fail(new RegistryError.SizeMismatch({ ...ctx, expected: size, actual: given.hashed }))
        }
        if (hasher === undefined) return Effect.void
        given.digest ??= `${algorithm}:${hasher.digestHex().toLowerCase()}`
        return given.digest === digest
          ? Effect.void
          : Effect.fail(
            new RegistryError.DigestMismatch({
              ...ctx,
              expected: digest,
              actual: given.digest,
              detail: "the bytes sent do not hash to the digest"
            })
          )
      }
    )

    const lost = (cause: UploadFailure, why: RegistryError.UploadNotResumableReason) => new SessionLost({ cause, why })
    const consumed = () =>
      lost(new RegistryError.UploadNotResumable({ ...ctx, reason: "SourceConsumed" }), "SourceConsumed")

    const open = (offset: number): Effect.Effect<Stream.Stream<Uint8Array, E, R>, SessionLost> => {
      if (!UploadState.canOpen(sourceUse(), offset)) return Effect.fail(consumed())
      if (source._tag === "Reopenable") return Effect.succeed(UploadBody.openFrom(source, offset, env.bodyBuffers))
      given.opened = true
      return Effect.succeed(source.stream)
    }

    // A request body from the source at `offset`, ending with the verification; its failure is recorded.
    const bodyAt = (offset: number) =>
      Effect.map(open(offset), (stream) =>
        tracked(offset, stream).pipe(
          Stream.concat(Stream.drain(Stream.fromEffect(verify))),
          Stream.tapError((e) =>
            Effect.sync(() => {
              given.failure = Option.some(e)
            })
          ),
          (body) => ByteStream.provideContextOnce(body, context)
        ))

    // A request body of the bytes [from, end) of a re-openable source, read again for every request (the
    // last chunk, `end` = `size`, is not cut: a source longer than announced fails in `tracked`); one that
    // ends early fails with `SizeMismatch`. Its failure is recorded.
    const bodyRange = (from: number, end: number) =>
      Effect.map(open(from), (stream) => {
        let sent = from
        return tracked(from, end < (size ?? end) ? ByteStream.takeBytes(end - from)(stream) : stream).pipe(
          Stream.mapChunks((chunk) => {
            for (const bytes of chunk) sent += bytes.length
            return chunk
          }),
          Stream.concat(Stream.drain(Stream.fromEffect(Effect.suspend(() =>
            sent >= end ? Effect.void : Effect.fail(
              new RegistryError.SizeMismatch({
                ...ctx,
                expected: size ?? end,
                actual: sent,
                detail: "the source ended before its announced size"
              })
            )
          )))),
          Stream.tapError((e) =>
            Effect.sync(() => {
              given.failure = Option.some(e)
            })
          ),
          (body) => ByteStream.provideContextOnce(body, context)
        )
      })

    // The session's current `Location`: every answer may move it.
    const location = yield* Ref.make("")

    const sendOn = (request: HttpClientRequest.HttpClientRequest, ok: ReadonlyArray<number>) =>
      Effect.flatMap(
        Request.send(env, request, scopes, ctx),
        (response) => Request.expect(env, response, ok, ctx, { scopes })
      ).pipe(
        // a body that failed on the client's side is that failure, whatever the answer
        Effect.tap(() => Option.match(given.failure, { onNone: () => Effect.void, onSome: Effect.fail }))
      )

    const moveTo = (response: HttpClientResponse.HttpClientResponse) =>
      response.headers["location"] === undefined
        ? Effect.void
        : Effect.flatMap(
          Request.followLocation(env, response.headers["location"], response.request.url, ctx),
          (next) => Ref.set(location, next)
        )

    // How many bytes the session holds (`GET <location>`); a session the registry cannot tell of is lost.
    const status = (confirmed: number) =>
      Effect.gen(function*() {
        const response = yield* Request.call(env, {
          request: HttpClientRequest.get(yield* Ref.get(location)),
          scopes,
          context: ctx,
          ok: [200, 204],
          notFound: (fields) => new RegistryError.BlobUploadUnknown(fields)
        })
        yield* moveTo(response)
        return Range.uploadedBytes(response.headers["range"], confirmed)
      }).pipe(Effect.mapError((e) => lost(e, e._tag === "BlobUploadUnknown" ? "SessionLost" : "StatusUnknown")))

    const checkStored = (response: HttpClientResponse.HttpClientResponse) => {
      const announced = response.headers["docker-content-digest"]?.trim()
      if (
        announced !== undefined && Digest.isDigest(announced) &&
        Digest.algorithm(announced as Digest.Digest) === algorithm && announced !== digest
      ) {
        return Effect.fail(
          new RegistryError.DigestMismatch({
            ...ctx,
            expected: digest,
            actual: announced,
            detail: "the registry stored the blob under another digest"
          })
        )
      }
      return Effect.void
    }

    const blobExists = UploadSession.headBlob(env, repository, digest, scopes).pipe(Effect.map(Option.isSome))

    // A step, with the failure that led to its state (the cause when the session is lost).
    interface Position {
      readonly step: UploadState.Step
      readonly failure: UploadFailure | undefined
    }
    type Active = UploadState.Step & { readonly _tag: "Sending" | "Resuming" }
    type StepFailure = UploadFailure | SessionLost | E | RegistryError.DigestMismatch | RegistryError.SizeMismatch
    const at = (step: UploadState.Step, failure?: UploadFailure): Position => ({ step, failure })
    // (a step only resumes or is lost after a failure)
    const causeOf = (p: Position): UploadFailure => p.failure ?? new RegistryError.BlobUploadInvalid(ctx)
    // A failure of a request sent from `from`. The body's own failure, a lost session or a failure that asking
    // again does not change: as is. A recoverable one: resume from `from` (or what `otherwise` says).
    const onFailure =
      (from: number, otherwise?: (error: UploadFailure) => Effect.Effect<Position, UploadFailure>) =>
      <X>(error: X): Effect.Effect<Position, X | E | UploadFailure> => {
        if (Option.isSome(given.failure)) return Effect.fail(given.failure.value)
        if (!isUploadFailure(error) || !UploadState.isRecoverable(error)) return Effect.fail(error)
        return otherwise !== undefined
          ? otherwise(error)
          : Effect.succeed(at(UploadState.Step.Resuming({ confirmed: from }), error))
      }

    // Runs a step from `initial` until `Done`, `advance` taking it from one state to the next. A failure that
    // leads to `Resuming` pauses (the upload schedule: each step has a budget of its own), then the step goes
    // on from `Resuming`. `Lost` ends the session.
    const runStep = (initial: UploadState.Step, advance: (step: Active) => Effect.Effect<Position, StepFailure>) =>
      Effect.flatMap(Ref.make(at(initial)), (current) => {
        const attempt = Effect.flatMap(Ref.get(current), (start) =>
          Effect.iterate(start, {
            while: (p): p is Position & { readonly step: Active } =>
              p.step._tag === "Sending" || p.step._tag === "Resuming",
            body: (p) =>
              advance(p.step).pipe(
                // the failure that led here stays the cause until another one comes
                Effect.map((next) => at(next.step, next.failure ?? p.failure)),
                Effect.tap((next) => Ref.set(current, next)),
                Effect.tap((next) =>
                  p.step._tag === "Sending" && next.step._tag === "Resuming"
                    ? Effect.fail(new Retry({ error: causeOf(next) }))
                    : Effect.void
                )
              )
          }))
        return retried(attempt, env.uploadRetry).pipe(
          Effect.flatMap((end) =>
            end.step._tag === "Lost" ? Effect.fail(lost(causeOf(end), end.step.why)) : Effect.void
          )
        )
      })

    // One chunk [start, end): PATCH from what the registry holds; after a lost or refused answer, its `Range`.
    // `withBody(from)` sets the bytes [from, end) as the request's body.
    const sendChunk = (
      chunk: { readonly start: number; readonly end: number },
      withBody: (from: number) => Effect.Effect<
        (request: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest,
        SessionLost
      >
    ) =>
      runStep(UploadState.Step.Sending({ from: chunk.start }), (step) =>
        step._tag === "Resuming"
          ? Effect.map(status(step.confirmed), (held) => at(UploadState.resumeChunk(held, chunk)))
          : Effect.gen(function*() {
            const body = yield* withBody(step.from)
            const request = HttpClientRequest.patch(yield* Ref.get(location)).pipe(
              HttpClientRequest.setHeader("content-range", `${step.from}-${chunk.end - 1}`),
              body
            )
            const response = yield* sendOn(request, [202, 204])
            yield* moveTo(response)
            const next = UploadState.afterChunkAnswer(
              Range.uploadedBytes(response.headers["range"], chunk.end),
              chunk,
              step.from
            )
            const detail = next._tag === "Lost"
              ? "the registry lost bytes of earlier chunks"
              : "the registry kept only part of the chunk"
            return at(next, next._tag === "Done" ? undefined : new RegistryError.BlobUploadInvalid({ ...ctx, detail }))
          }).pipe(Effect.catchAll(onFailure(step.from))))

    // The closing PUT of a chunked or streamed upload of `total` bytes. After a lost or refused answer: done
    // if the blob is there; else, after a pause, the PUT again only if the registry holds exactly `total`.
    const close = (total: number) =>
      runStep(UploadState.Step.Sending({ from: total }), (step) =>
        step._tag === "Resuming"
          ? Effect.map(status(total), (held) => at(UploadState.resumeClose(held, total)))
          : Effect.gen(function*() {
            const request = HttpClientRequest.put(withDigest(yield* Ref.get(location), digest)).pipe(
              HttpClientRequest.bodyUint8Array(new Uint8Array(0), OctetStream)
            )
            yield* checkStored(yield* sendOn(request, [201, 204]))
            return at(UploadState.Step.Done())
          }).pipe(Effect.catchAll(onFailure(total, (error) =>
            Effect.map(
              blobExists,
              (exists) => at(exists ? UploadState.Step.Done() : UploadState.Step.Resuming({ confirmed: total }), error)
            )))))

    // One PUT with the whole blob. A body cannot be resumed: after a lost answer, done if the blob is there.
    const monolithic = (total: number) =>
      runStep(UploadState.Step.Sending({ from: 0 }), () =>
        Effect.gen(function*() {
          const body = yield* bodyAt(0)
          const request = HttpClientRequest.put(withDigest(yield* Ref.get(location), digest)).pipe(
            HttpClientRequest.bodyStream(body, { contentType: OctetStream, contentLength: total })
          )
          const response = yield* sendOn(request, [201, 204])
          yield* verify
          yield* checkStored(response)
          return at(UploadState.Step.Done())
        }).pipe(Effect.catchAll(onFailure(0, (error) =>
          Effect.map(
            blobExists,
            (exists) => at(exists ? UploadState.Step.Done() : UploadState.Step.Lost({ why: "RequestFailed" }), error)
          )))))

    // Unknown size, no chunk size: one PATCH streaming the source (resumed from the registry's `Range` when
    // the source can be opened there again), then the closing PUT.
    const streamed = Effect.gen(function*() {
      yield* runStep(UploadState.Step.Sending({ from: 0 }), (step) =>
        step._tag === "Resuming"
          ? Effect.map(
            status(step.confirmed),
            (held) =>
              at(UploadState.resumeStream(held, { reopenable: source._tag === "Reopenable", given: given.hashed }))
          )
          : Effect.gen(function*() {
            const body = yield* bodyAt(step.from)
            const request = HttpClientRequest.patch(yield* Ref.get(location)).pipe(
              HttpClientRequest.bodyStream(body, { contentType: OctetStream })
            )
            yield* moveTo(yield* sendOn(request, [202, 204]))
            return at(UploadState.Step.Done())
          }).pipe(Effect.catchAll(onFailure(step.from))))
      yield* verify
      yield* close(given.hashed)
    })

    // One PATCH step per chunk, then the closing PUT. A re-openable source of known size is read again for
    // each request (only the pieces in flight are held); else each chunk is held until the registry has it.
    const chunked = (chunkSize: number) =>
      Effect.gen(function*() {
        if (source._tag === "Reopenable" && size !== undefined) {
          for (let start = 0; start < size; start += chunkSize) {
            const end = Math.min(start + chunkSize, size)
            yield* sendChunk(
              { start, end },
              (from) =>
                Effect.map(
                  bodyRange(from, end),
                  (body) => HttpClientRequest.bodyStream(body, { contentType: OctetStream, contentLength: end - from })
                )
            )
          }
          yield* verify
          return yield* close(size)
        }
        const stream = yield* open(0)
        const total = yield* Stream.runFoldEffect(
          tracked(0, stream).pipe(BlobSource.rechunkBytes(chunkSize)),
          0,
          (offset, bytes) =>
            Effect.as(
              sendChunk(
                { start: offset, end: offset + bytes.length },
                (from) => Effect.succeed(HttpClientRequest.bodyUint8Array(bytes.subarray(from - offset), OctetStream))
              ),
              offset + bytes.length
            )
        )
        yield* verify
        yield* close(total)
      })

    // One session: opened (the one given first, then a new one), its bytes sent, closed. On failure it is
    // cancelled (DELETE), so no session the client can still address is left open.
    const given0 = yield* Ref.make(Option.fromNullable(session))
    const attempt = Effect.gen(function*() {
      given.failure = Option.none()
      const first = yield* Ref.getAndSet(given0, Option.none())
      const opened = Option.isSome(first)
        ? { mounted: false, session: first.value } as const
        : yield* UploadSession.startSession(env, repository, scopes, ctx)
      if (opened.mounted) return { digest, size, skipped: false, mounted: true }
      yield* Ref.set(location, opened.session.location)
      const sent = UploadState.Plan.$match(
        UploadState.plan({ size, chunkSize: options?.chunkSize }, opened.session.minChunk),
        {
          Monolithic: ({ size }) => monolithic(size),
          Chunked: ({ chunkSize }) => chunked(chunkSize),
          Streamed: () => streamed
        }
      )
      yield* Effect.tapError(
        sent,
        () => Effect.flatMap(Ref.get(location), (at) => UploadSession.cancelQuietly(env, at, scopes, ctx))
      )
      return { digest, size: given.hashed, skipped: false, mounted: false }
    })

    // A lost session restarts in a new one (its own budget: the upload schedule, at most `maxUploadRestarts`
    // times) while the source can give its bytes again; else the upload is not resumable.
    return yield* retried(
      Effect.catchIf(
        attempt,
        (e): e is SessionLost => e instanceof SessionLost,
        (lostSession): Effect.Effect<never, Retry | UploadFailure> => {
          if (UploadState.canRestart(sourceUse())) return Effect.fail(new Retry({ error: lostSession.cause }))
          return Effect.fail(
            lostSession.cause._tag === "UploadNotResumable"
              ? lostSession.cause
              : new RegistryError.UploadNotResumable({ ...ctx, reason: lostSession.why, cause: lostSession.cause })
          )
        }
      ),
      Schedule.intersect(env.uploadRetry, Schedule.recurs(env.maxUploadRestarts))
    )
  })
