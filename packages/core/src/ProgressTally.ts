/**
 * Building blocks for transfers that report to the `Progress` service: a
 * tally of one image's bytes and outcomes, and the `BlobStart` /
 * `BlobProgress` / `BlobDone` / `ImageDone` events around each blob transfer.
 * Image copy (core) and OCI layout push and pull (node) use it; so can any
 * other transfer that wants the same events.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as BlobSource from "./BlobSource.js"
import type * as Digest from "./Digest.js"
import * as Progress from "./Progress.js"

/**
 * Bytes moved and blob bytes seen for one image.
 *
 * @since 0.2.0
 * @category models
 */
export interface Tally {
  bytes: number
  total: number
  transferred: number
  existed: number
  mounted: number
}

/**
 * A fresh tally.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): Tally => ({ bytes: 0, total: 0, transferred: 0, existed: 0, mounted: 0 })

/**
 * Counts the bytes of a stream of the blob, from `offset`.
 *
 * @since 0.2.0
 * @category models
 */
export type Wrap = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, offset?: number) => Stream.Stream<Uint8Array, E, R>

/**
 * A re-openable source whose every opening is counted.
 *
 * @since 0.2.0
 * @category combinators
 */
export const wrapSource = <E, R>(source: BlobSource.Reopenable<E, R>, wrap: Wrap): BlobSource.BlobSource<E, R> => {
  const into = BlobSource.openIntoOf(source)
  return into === undefined
    ? BlobSource.reopenable((offset) => wrap(source.open(offset), offset))
    : BlobSource.reopenableInto(
      (offset) => wrap(source.open(offset), offset),
      (offset, buffer) => wrap(into(offset, buffer), offset)
    )
}

/**
 * One blob transfer: `BlobStart`, the `BlobProgress` events of whatever `run`
 * streams through `wrap`, `BlobDone` with the outcome `run` returns.
 *
 * @since 0.2.0
 * @category combinators
 */
export const transfer = <E, R>(
  tally: Tally,
  digest: Digest.Digest,
  total: number | undefined,
  run: (wrap: Wrap) => Effect.Effect<Progress.Outcome, E, R>
): Effect.Effect<Progress.Outcome, E, R> =>
  Effect.suspend(() => {
    let moved = 0
    const onBytes = (n: number) => {
      moved += n
      tally.bytes += n
    }
    const wrap: Wrap = (stream, offset) => Progress.track({ digest, total, offset, onBytes })(stream)
    if (total !== undefined) tally.total += total
    return Progress.emit({ _tag: "BlobStart", digest, bytes: 0, total }).pipe(
      Effect.zipRight(run(wrap)),
      Effect.tap((outcome) => {
        if (outcome === "Transferred") tally.transferred++
        else if (outcome === "Existed") tally.existed++
        else tally.mounted++
        return Progress.emit({ _tag: "BlobDone", digest, bytes: moved, total, outcome })
      })
    )
  })

/**
 * The `ImageDone` event of a tally.
 *
 * @since 0.2.0
 * @category combinators
 */
export const imageDone = (tally: Tally, digest: Digest.Digest): Effect.Effect<void> =>
  Progress.emit({ _tag: "ImageDone", digest, bytes: tally.bytes, total: tally.total })
