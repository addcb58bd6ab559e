/**
 * Request bodies of an upload: a source read into a few reused buffers, and a chunk of a source cut at its
 * end.
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as BlobSource from "../../BlobSource.js"

/**
 * Bytes of each buffer an upload reads a source into (see {@link openFrom}).
 *
 * @since 0.2.0
 */
export const PieceBytes = 1024 * 1024

/**
 * The buffers of one upload's request bodies, which run one after another: a body reads into them while it
 * runs, going on with the turn where the body before it left off (so the pieces sent last are the last to
 * be read into again); a body that starts while another still holds them gets buffers of its own.
 *
 * @since 0.2.0
 */
export type Buffers = <A, E, R>(use: (buffer: () => Uint8Array) => Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>

/**
 * {@link Buffers}: `count` buffers of {@link PieceBytes}, each made when first needed; `undefined` below 2
 * (the transport may hold every piece: a new buffer per piece).
 *
 * @since 0.2.0
 */
export const sharedBuffers = (count: number): Buffers | undefined => {
  if (!(count >= 2)) return undefined
  const shared = BlobSource.bufferRing(count, PieceBytes)
  let held = false
  return (use) =>
    Stream.unwrapScoped(
      Effect.acquireRelease(
        Effect.sync(() => {
          const mine = !held
          held = true
          return mine
        }),
        (mine) =>
          Effect.sync(() => {
            if (mine) held = false
          })
      ).pipe(Effect.map((mine) => use(mine ? shared : BlobSource.bufferRing(count, PieceBytes))))
    )
}

/**
 * The source's bytes from `offset`: read into `buffers` when there are some and the source can
 * ({@link BlobSource.openIntoOf}), else `open` as it is.
 *
 * @since 0.2.0
 */
export const openFrom = <E, R>(
  source: BlobSource.Reopenable<E, R>,
  offset: number,
  buffers: Buffers | undefined
): Stream.Stream<Uint8Array, E, R> => {
  const into = buffers === undefined ? undefined : BlobSource.openIntoOf(source)
  return into === undefined || buffers === undefined
    ? source.open(offset)
    : buffers((buffer) => into(offset, buffer))
}

/**
 * The first `n` bytes of a byte stream (the piece that crosses `n` cut); the rest is not pulled.
 *
 * @since 0.2.0
 */
export const takeBytes =
  (n: number) => <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    n <= 0 ? Stream.empty : Stream.suspend(() => {
      let left = n
      let seen = 0
      return self.pipe(
        Stream.mapChunks((chunk) => {
          const out: Array<Uint8Array> = []
          for (const bytes of chunk) {
            if (left <= 0) break
            const piece = bytes.length <= left ? bytes : bytes.subarray(0, left)
            left -= piece.length
            out.push(piece)
          }
          return Chunk.unsafeFromArray(out)
        }),
        Stream.takeUntil((piece) => (seen += piece.length) >= n)
      )
    })
