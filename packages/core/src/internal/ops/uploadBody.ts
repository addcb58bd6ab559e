/**
 * Request bodies of an upload: a source read into a few reused buffers.
 *
 * @since 0.2.0
 */
import * as Stream from "effect/Stream"
import * as BlobSource from "../../BlobSource.js"

/**
 * Bytes of each buffer an upload reads a source into (see {@link openFrom}).
 *
 * @since 0.2.0
 */
export const PieceBytes = 1024 * 1024

/**
 * Pieces shorter than this are copied before they leave (see {@link openFrom}).
 *
 * @since 0.2.0
 */
export const SmallPiece = 256 * 1024

/**
 * The pool of a client's upload bodies, when its transport allows reuse (`RequestBodyReuse`): rings of
 * `piecesAhead + 2` buffers of {@link PieceBytes}.
 *
 * @since 0.2.0
 */
export const pool = (piecesAhead: number): BlobSource.BufferPool =>
  BlobSource.bufferPool(Math.max(0, Math.floor(piecesAhead)) + 2, PieceBytes)

/**
 * The source's bytes from `offset`: read into the buffers of `buffers` when there is a pool and the source
 * can ({@link BlobSource.openIntoOf}), else `open` as it is. A piece shorter than {@link SmallPiece} (the
 * last one of a file or chunk) is copied: the transport's socket may keep a short piece queued after it
 * pulled the next one, never a long one (it waits until the socket took it).
 *
 * @since 0.2.0
 */
export const openFrom = <E, R>(
  source: BlobSource.Reopenable<E, R>,
  offset: number,
  buffers: BlobSource.BufferPool | undefined
): Stream.Stream<Uint8Array, E, R> => {
  const into = buffers === undefined ? undefined : BlobSource.openIntoOf(source)
  return into === undefined || buffers === undefined
    ? source.open(offset)
    : buffers((buffer) =>
      Stream.map(into(offset, buffer), (piece) => piece.length < SmallPiece ? piece.slice() : piece)
    )
}
