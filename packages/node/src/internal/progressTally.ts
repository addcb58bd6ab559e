import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Digest from "@effect-registry/core/Digest"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as Progress from "../Progress.js"

/**
 * Bytes moved and blob bytes seen for one image.
 *
 * @internal
 */
export interface Tally {
  bytes: number
  total: number
  transferred: number
  existed: number
  mounted: number
}

/** @internal */
export const make = (): Tally => ({ bytes: 0, total: 0, transferred: 0, existed: 0, mounted: 0 })

/**
 * Counts the bytes of a stream of the blob, from `offset`.
 *
 * @internal
 */
export type Wrap = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, offset?: number) => Stream.Stream<Uint8Array, E, R>

/**
 * A re-openable source whose every opening is counted.
 *
 * @internal
 */
export const wrapSource = <E, R>(source: BlobSource.Reopenable<E, R>, wrap: Wrap): BlobSource.BlobSource<E, R> =>
  BlobSource.reopenable((offset) => wrap(source.open(offset), offset))

/**
 * One blob transfer: `BlobStart`, the `BlobProgress` events of whatever `run`
 * streams through `wrap`, `BlobDone` with the outcome `run` returns.
 *
 * @internal
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
 * @internal
 */
export const imageDone = (tally: Tally, digest: Digest.Digest): Effect.Effect<void> =>
  Progress.emit({ _tag: "ImageDone", digest, bytes: tally.bytes, total: tally.total })
