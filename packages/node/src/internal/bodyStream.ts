/**
 * Response bodies as streams: undici's (or node:http's) body read as its own buffers as they arrive, bounded by a
 * limit per body and a budget shared by a client's bodies; and the wrapping of a platform answer whose body is
 * read that way. `NodeHttp` re-exports the public parts.
 *
 * The wrapping reads `response.original.source.body`, a private field of `@effect/platform-node`'s undici
 * client: {@link isWrapped} tells whether it was taken, and a test fails when an upgrade changes that shape
 * (the answer would otherwise silently be read the platform's slower way).
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as NodeStreams from "node:stream"

export const DefaultBodyBuffer = 16 * 1024 * 1024
export const DefaultMemoryBudget = 2 * 1024 * 1024

// @effect/platform answers with a wrapper (`original`: the undici answer, whose `source.body` is undici's
// body stream). When that shape is there, the body is read by `bodyStream`; otherwise (another platform
// version) the answer is left as it is.
const undiciBody = (response: HttpClientResponse.HttpClientResponse): NodeStreams.Readable | undefined => {
  const original: unknown = Predicate.hasProperty(response, "original") ? response.original : undefined
  const source: unknown = Predicate.hasProperty(original, "source") ? original.source : undefined
  const body: unknown = Predicate.hasProperty(source, "body") ? source.body : undefined
  return body instanceof NodeStreams.Readable ? body : undefined
}

/**
 * A count of response-body bytes received but not yet taken, shared by the bodies of one client
 * ({@link layer}'s `memoryBudget`): see {@link bodyStream}. `waiting` is what the bodies hold right now and
 * `peak` the most they held at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyBudget {
  readonly limit: number
  readonly waiting: number
  readonly peak: number
}

interface MutableBudget extends BodyBudget {
  waiting: number
  peak: number
  readonly paused: Set<() => void>
}

/**
 * A {@link BodyBudget} of `limit` bytes (at least 1) to share between several {@link bodyStream}s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBodyBudget = (limit: number): BodyBudget => {
  const budget: MutableBudget = {
    limit: Math.max(1, Math.floor(limit)),
    waiting: 0,
    peak: 0,
    paused: new Set()
  }
  return budget
}

const MinShare = 64 * 1024

// The bytes a body may hold whatever the others hold.
const shareOf = (budget: BodyBudget): number => Math.max(MinShare, Math.floor(budget.limit / 16))

const isMutable = (budget: BodyBudget): budget is MutableBudget =>
  Predicate.hasProperty(budget, "paused") && budget.paused instanceof Set

/**
 * A Node `Readable` of bytes as a `Stream`, without copying: the stream runs in flowing mode, and each pull
 * takes every piece that arrived since the last one (one `Chunk`), or waits for the next piece when none
 * did. Nothing is held back to fill a batch: a consumer keeping up takes each socket read as it arrives, so
 * the buffers are dropped while young and the garbage collector frees them in its cheap young-generation
 * pass (buffers held across two of those passes are moved to the old generation, whose external memory
 * then forces full collections). The readable is paused while `limit` bytes or more wait. With a shared `budget` ({@link makeBodyBudget}) it is
 * also paused while the bodies sharing it hold the budget's limit or more and this one holds at least its
 * share (a sixteenth of that limit, at least 64 KiB); pieces waiting in a paused body are handed over at
 * the next pull. Received pieces always come before an error or the end. The readable is destroyed when the
 * stream stops before its end.
 *
 * @since 0.1.0
 * @category utils
 */
export const bodyStream = <E>(
  readable: NodeStreams.Readable,
  onError: (cause: unknown) => E,
  limit: number = DefaultBodyBuffer,
  budget?: BodyBudget
): Stream.Stream<Uint8Array, E> => freshBodyStream(readable, onError, limit, budget, false)

/**
 * {@link bodyStream}, with `fresh` telling that each piece the readable emits is a buffer of its own that nothing
 * else holds (what Node's HTTP parser emits: it copies every piece of a body): such pieces are marked with
 * `BlobSource.markFresh`, so that a reader that declares them its own (`BlobSource.releasedOnceWritten`) lets
 * the writer free them; `onClaimed` is told when that reader claims one (see `BlobSource.markFresh`).
 *
 * @internal
 */
export const freshBodyStream = <E>(
  readable: NodeStreams.Readable,
  onError: (cause: unknown) => E,
  limit: number,
  budget: BodyBudget | undefined,
  fresh: boolean,
  onClaimed?: () => void
): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    const shared = budget !== undefined && isMutable(budget) ? budget : undefined
    const share = shared === undefined ? limit : Math.min(limit, shareOf(shared))
    let pieces: Array<Uint8Array> = []
    let waiting = 0
    let ended = false
    let failure: { readonly cause: unknown } | undefined
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      if (w !== undefined) w()
    }
    const resumeSelf = () => {
      if (readable.isPaused() && failure === undefined && !ended) readable.resume()
    }
    const onData = (piece: Uint8Array) => {
      if (fresh) BlobSource.markFresh(piece, onClaimed)
      pieces.push(piece)
      waiting += piece.length
      let full = waiting >= limit
      if (shared !== undefined) {
        shared.waiting += piece.length
        if (shared.waiting > shared.peak) shared.peak = shared.waiting
        if (!full && waiting >= share && shared.waiting >= shared.limit) {
          full = true
          shared.paused.add(resumeSelf)
        }
      }
      if (full) readable.pause()
      notify()
    }
    // gives back what this body held to the shared budget; the bodies it paused go on once it has room
    const release = () => {
      if (shared === undefined) return
      shared.waiting -= waiting
      shared.paused.delete(resumeSelf)
      if (shared.waiting < shared.limit && shared.paused.size > 0) {
        const all = [...shared.paused]
        shared.paused.clear()
        for (const resume of all) resume()
      }
    }
    const onEnd = () => {
      ended = true
      notify()
    }
    const onFailure = (cause: unknown) => {
      failure ??= { cause }
      notify()
    }
    // a body that already ended or failed before we listened
    if (readable.readableEnded) ended = true
    else if (readable.errored !== null) failure = { cause: readable.errored }
    else if (readable.destroyed) failure = { cause: new Error("the response body was destroyed") }
    readable.on("data", onData)
    readable.on("end", onEnd)
    readable.on("error", onFailure)
    readable.on("close", onEnd)
    const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> = Effect.suspend(() => {
      if (pieces.length > 0) {
        const out = pieces
        release()
        pieces = []
        waiting = 0
        resumeSelf()
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      if (failure !== undefined) return Effect.fail(Option.some(onError(failure.cause)))
      if (ended) {
        // "close" without "end": the body stopped before its end
        return readable.readableEnded
          ? Effect.fail(Option.none())
          : Effect.fail(Option.some(onError(new Error("the response body closed before its end"))))
      }
      return Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<E>>((resume) => {
        wake = () => resume(pull)
        return Effect.sync(() => {
          wake = undefined
        })
      })
    })
    return Stream.repeatEffectChunkOption(pull).pipe(
      Stream.ensuring(Effect.sync(() => {
        release()
        pieces = []
        waiting = 0
        readable.off("data", onData)
        readable.off("end", onEnd)
        readable.off("error", onFailure)
        readable.off("close", onEnd)
        if (!readable.readableEnded && !readable.destroyed) readable.destroy()
      }))
    )
  })

const Wrapped = Symbol.for("@effect-registry/node/NodeHttp/wrapped")

/**
 * Whether an answer's body is read by {@link bodyStream} (the platform's private body field was found).
 *
 * @since 0.1.0
 */
export const isWrapped = (response: HttpClientResponse.HttpClientResponse): boolean =>
  Predicate.hasProperty(response, Wrapped)

export const bareUrl = (url: string): string => {
  const at = url.search(/[?#]/)
  return (at < 0 ? url : url.slice(0, at)).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1")
}

export const withBodyStream = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  budget: BodyBudget
): HttpClientResponse.HttpClientResponse => {
  // an answer to HEAD has no body to read
  if (response.request.method === "HEAD") return response
  const body = undiciBody(response)
  if (body === undefined || !Predicate.hasProperty(response, "original")) return response
  // The error names a bare request (method, and URL without query): its message may be logged, and neither
  // the headers nor a presigned query belong there.
  const request = HttpClientRequest.make(response.request.method)(bareUrl(response.request.url))
  const stream = bodyStream(
    body,
    (cause) => new HttpClientError.ResponseError({ request, response, reason: "Decode", cause }),
    limit,
    budget
  )
  // Everything else (status, headers, text, json, the abort of the request when the stream ends) stays the
  // wrapper's own: only the stream of the undici answer it wraps is replaced.
  const original: unknown = Object.create(response.original as object, { stream: { get: () => stream } })
  const wrapped: unknown = Object.create(response, { original: { value: original }, [Wrapped]: { value: true } })
  return wrapped as HttpClientResponse.HttpClientResponse
}
