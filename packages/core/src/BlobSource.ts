/**
 * Where the bytes of a blob upload come from.
 *
 * A `OneShot` source is a stream that can be read once (a socket, stdin, a
 * pipe): when the registry drops an upload session, the client cannot send the
 * bytes again and fails with `UploadNotResumable`. A `Reopenable` source can be
 * read again from any offset (a file, bytes in memory): the client resumes or
 * restarts uploads from it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * @since 0.1.0
 * @category models
 */
export interface OneShot<E = never, R = never> {
  readonly _tag: "OneShot"
  readonly stream: Stream.Stream<Uint8Array, E, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Reopenable<E = never, R = never> {
  readonly _tag: "Reopenable"
  /** The bytes of the blob from `offset` to the end. */
  readonly open: (offset: number) => Stream.Stream<Uint8Array, E, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export type BlobSource<E = never, R = never> = OneShot<E, R> | Reopenable<E, R>

/**
 * A source that can be read only once.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const source = BlobSource.oneShot(Stream.make(new Uint8Array([1, 2, 3])))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const oneShot = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): BlobSource<E, R> => ({
  _tag: "OneShot",
  stream
})

/**
 * A source that can be opened again at any offset.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const bytes = new Uint8Array([1, 2, 3])
 * const source = BlobSource.reopenable((offset) => Stream.make(bytes.subarray(offset)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const reopenable = <E, R>(open: (offset: number) => Stream.Stream<Uint8Array, E, R>): BlobSource<E, R> => ({
  _tag: "Reopenable",
  open
})

/**
 * A re-openable source over bytes held in memory.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 *
 * const source = BlobSource.fromBytes(new TextEncoder().encode("hello"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBytes = (bytes: Uint8Array): BlobSource =>
  reopenable((offset) => offset >= bytes.length ? Stream.empty : Stream.make(bytes.subarray(offset)))

/**
 * The pieces joined into one array (one copy). For bodies that are held whole
 * anyway (manifests, signed payloads, standard input); blobs move as streams.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 *
 * BlobSource.concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]) // Uint8Array [1, 2, 3]
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const concatBytes = (parts: Iterable<Uint8Array>): Uint8Array => {
  const list = Array.from(parts)
  let size = 0
  for (const part of list) size += part.length
  const out = new Uint8Array(size)
  let at = 0
  for (const part of list) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/**
 * Runs a byte stream and joins its pieces ({@link concatBytes}). Holds the
 * whole stream in memory: for small bodies only.
 *
 * @since 0.1.0
 * @category utils
 */
export const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  Effect.map(Stream.runCollect(stream), concatBytes)

/**
 * Collects a byte stream into one array, holding at most `max` bytes: as soon as more arrive, the stream
 * is abandoned (its reading interrupted) and the effect fails with `onExceed(received)`, where `received`
 * counts the bytes that arrived (at most `max` plus one piece). For a blob whose size a descriptor gives,
 * `max` is that size: a registry that sends more cannot make the reader hold more.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const bytes = BlobSource.collectBytesAtMost(Stream.make(new Uint8Array(3)), 2, (n) => `${n} bytes`)
 * // fails with "3 bytes"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const collectBytesAtMost = <E, R, E2>(
  stream: Stream.Stream<Uint8Array, E, R>,
  max: number,
  onExceed: (received: number) => E2
): Effect.Effect<Uint8Array, E | E2, R> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let received = 0
    return Stream.runForEach(stream, (chunk): Effect.Effect<void, E2> => {
      received += chunk.length
      if (received > max) return Effect.fail(onExceed(received))
      chunks.push(chunk)
      return Effect.void
    }).pipe(Effect.map(() => concatBytes(chunks)))
  })

/**
 * Regroups a byte stream into pieces of exactly `size` bytes (the last one may be
 * shorter). Unlike `Stream.rechunk`, which counts elements, this counts bytes.
 * Holds at most one piece in memory. Pieces that lie whole inside one input
 * are views of it (no copy); the others are assembled in a fresh buffer.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * // [3, 5, 4] bytes -> [5, 5, 2] bytes
 * const pieces = Stream.make(new Uint8Array(3), new Uint8Array(5), new Uint8Array(4)).pipe(BlobSource.rechunkBytes(5))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const rechunkBytes =
  (size: number) => <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      const pieceSize = Math.max(1, Math.floor(size))
      let buffer = new Uint8Array(pieceSize)
      let filled = 0
      const take = (bytes: Uint8Array): Array<Uint8Array> => {
        const out: Array<Uint8Array> = []
        let offset = 0
        while (offset < bytes.length) {
          if (filled === 0 && bytes.length - offset >= pieceSize) {
            // a whole piece inside the input: a view, not a copy
            out.push(bytes.subarray(offset, offset + pieceSize))
            offset += pieceSize
            continue
          }
          const n = Math.min(pieceSize - filled, bytes.length - offset)
          buffer.set(bytes.subarray(offset, offset + n), filled)
          filled += n
          offset += n
          if (filled === pieceSize) {
            out.push(buffer)
            buffer = new Uint8Array(pieceSize)
            filled = 0
          }
        }
        return out
      }
      return self.pipe(
        Stream.mapConcat(take),
        Stream.concat(Stream.suspend(() => filled > 0 ? Stream.make(buffer.subarray(0, filled)) : Stream.empty))
      )
    })
