/**
 * The pure part of the blob upload state machine (`upload.ts` runs it): how an
 * upload is sent, where a step stands after each answer of the registry, and
 * what a lost session comes to.
 *
 * An upload runs in sessions. A session is opened (POST, or the one a mount
 * fell back to), its bytes are sent in steps, and it is closed:
 *
 * - `Monolithic` (size known): one PUT carrying the whole blob.
 * - `Chunked` (a chunk size): one PATCH step per chunk, then the closing PUT step.
 * - `Streamed` (no size, no chunk size): one PATCH step streaming the whole
 *   source, then the closing PUT step.
 *
 * Each step is a small state machine over a {@link Step}: `Sending` from an
 * offset the registry confirmed; after a lost or refused answer, `Resuming`
 * (ask the registry's `Range`, then go on from there); `Done`; or `Lost` when
 * the session cannot continue from what the client holds. A lost session is
 * cancelled (DELETE) and the upload restarts in a new session when the source
 * can give its bytes again, else fails with `UploadNotResumable`.
 *
 * Retry budgets:
 *
 * - Each step has its own budget: the upload retry schedule (`uploadRetrySchedule`,
 *   honouring `Retry-After`), started afresh for every chunk, for the streamed
 *   PATCH and for the closing PUT. A step that makes progress (part of a chunk
 *   confirmed) keeps the budget it has left; the next step starts a new one.
 * - Restarts in a new session have a budget of their own: the same schedule,
 *   intersected with at most `maxUploadRestarts` restarts. A restarted session's
 *   steps start with fresh step budgets.
 *
 * So one upload sends at most `(maxUploadRestarts + 1) × steps × (retries + 1)`
 * requests carrying bytes, each bounded by the client's timeouts.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Option from "effect/Option"
import type * as RegistryError from "../../RegistryError.js"
import * as RetryPolicy from "../../RetryPolicy.js"

/**
 * How the bytes of an upload are sent in a session.
 *
 * @since 0.1.0
 */
export type Plan = Data.TaggedEnum<{
  /** One PUT with the whole blob (its size is known). */
  Monolithic: { readonly size: number }
  /** One PATCH per chunk of `chunkSize` bytes (the last one shorter), then the closing PUT. */
  Chunked: { readonly chunkSize: number }
  /** One PATCH streaming the whole source, then the closing PUT. */
  Streamed: {}
}>

/** @since 0.1.0 */
export const Plan = Data.taggedEnum<Plan>()

/**
 * The plan for a session: a chunk size wins (raised to the registry's
 * `OCI-Chunk-Min-Length` and to at least 1 byte), then a known size; else the
 * source is streamed.
 *
 * @since 0.1.0
 */
export const plan = (
  options: { readonly size?: number | undefined; readonly chunkSize?: number | undefined },
  minChunk: number
): Plan =>
  options.chunkSize !== undefined
    ? Plan.Chunked({ chunkSize: Math.max(1, options.chunkSize, minChunk) })
    : options.size !== undefined
    ? Plan.Monolithic({ size: options.size })
    : Plan.Streamed()

/**
 * Where one step of a session stands.
 *
 * @since 0.1.0
 */
export type Step = Data.TaggedEnum<{
  /** The registry holds every byte before `from`: send from there. */
  Sending: { readonly from: number }
  /**
   * An answer was lost or refused: ask the registry how many bytes it holds
   * (`confirmed` is the offset last known to be held) and go on from there.
   */
  Resuming: { readonly confirmed: number }
  /** The registry holds every byte of the step. */
  Done: {}
  /** The session cannot be continued from what the client holds. */
  Lost: { readonly why: RegistryError.UploadNotResumableReason }
}>

/** @since 0.1.0 */
export const Step = Data.taggedEnum<Step>()

/**
 * Whether a failed step is worth resuming: a transient failure, a session the
 * registry refused or does not know (it may have taken the bytes before the
 * answer was lost), an out-of-order range, a token that expired on the way.
 *
 * @since 0.1.0
 */
export const isRecoverable = (error: RegistryError.RegistryError): boolean =>
  RetryPolicy.isTransient(error) ||
  error._tag === "BlobUploadInvalid" ||
  error._tag === "BlobUploadUnknown" ||
  error._tag === "RangeInvalid" ||
  (error._tag === "Unauthorized" && error.reason === "InvalidToken")

/**
 * After a chunk `[start, end)` sent from `from` was answered with success and
 * the registry's `Range` (`held` bytes; `None` when absent or unreadable,
 * taken as the whole chunk): `Done`; `Resuming` when the registry kept only
 * part of the chunk; `Lost` (`BytesLost`) when it no longer holds the bytes of
 * earlier chunks.
 *
 * @since 0.1.0
 */
export const afterChunkAnswer = (
  held: Option.Option<number>,
  chunk: { readonly start: number; readonly end: number },
  from: number
): Step => {
  if (Option.isNone(held) || held.value >= chunk.end) return Step.Done()
  if (held.value < chunk.start) return Step.Lost({ why: "BytesLost" })
  return Step.Resuming({ confirmed: from })
}

/**
 * After asking the registry's `Range` during a chunk `[start, end)`: `Lost`
 * when it cannot tell (`StatusUnknown`) or lost bytes of earlier chunks
 * (`BytesLost`); `Done` when it holds the whole chunk; else `Sending` from
 * the first byte it lacks.
 *
 * @since 0.1.0
 */
export const resumeChunk = (
  held: Option.Option<number>,
  chunk: { readonly start: number; readonly end: number }
): Step => {
  if (Option.isNone(held)) return Step.Lost({ why: "StatusUnknown" })
  if (held.value < chunk.start) return Step.Lost({ why: "BytesLost" })
  if (held.value >= chunk.end) return Step.Done()
  return Step.Sending({ from: held.value })
}

/**
 * After asking the registry's `Range` during a streamed PATCH: `Lost` when it
 * cannot tell (`StatusUnknown`), when the source cannot be opened again at an
 * offset (`reopenable` false: its bytes are gone), or when the registry claims
 * more bytes than the source has given (`RequestFailed`); else `Sending` from
 * the first byte it lacks.
 *
 * @since 0.1.0
 */
export const resumeStream = (
  held: Option.Option<number>,
  source: { readonly reopenable: boolean; readonly given: number }
): Step => {
  if (Option.isNone(held)) return Step.Lost({ why: "StatusUnknown" })
  if (!source.reopenable || held.value > source.given) return Step.Lost({ why: "RequestFailed" })
  return Step.Sending({ from: held.value })
}

/**
 * After asking the registry's `Range` before the closing PUT is sent again:
 * `Lost` when it cannot tell (`StatusUnknown`) or does not hold exactly the
 * `total` bytes sent (`BytesLost`); else `Sending` the PUT again.
 *
 * @since 0.1.0
 */
export const resumeClose = (held: Option.Option<number>, total: number): Step => {
  if (Option.isNone(held)) return Step.Lost({ why: "StatusUnknown" })
  if (held.value !== total) return Step.Lost({ why: "BytesLost" })
  return Step.Sending({ from: total })
}

/**
 * What the source can give again: a re-openable source any offset; a one-shot
 * stream only its start, and only while none of its bytes was pulled.
 *
 * @since 0.1.0
 */
export interface SourceUse {
  readonly reopenable: boolean
  /** The one-shot stream was handed to a request. */
  readonly opened: boolean
  /** Bytes of the source were pulled. */
  readonly pulled: boolean
}

/**
 * Whether the source can give its bytes from `offset` (see {@link SourceUse}).
 *
 * @since 0.1.0
 */
export const canOpen = (source: SourceUse, offset: number): boolean =>
  source.reopenable || (offset === 0 && (!source.opened || !source.pulled))

/**
 * Whether a lost session can be restarted in a new one: the source must be
 * able to give its bytes from the start.
 *
 * @since 0.1.0
 */
export const canRestart = (source: SourceUse): boolean => source.reopenable || !source.pulled

/**
 * How much of `length` bytes pulled at absolute offset `at` was not hashed yet
 * (every byte is hashed once, by offset, so a resend or a re-opened source is
 * not hashed twice): the index in the piece from which to hash, or `None` when
 * all of it was.
 *
 * @since 0.1.0
 */
export const unhashedFrom = (hashed: number, at: number, length: number): Option.Option<number> =>
  at + length > hashed ? Option.some(Math.max(0, hashed - at)) : Option.none()
