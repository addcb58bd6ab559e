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
import { globalValue } from "effect/GlobalValue"
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
 * Opens a source at `offset` like `open`, but reads each piece into the buffer `buffer()` returns at that
 * moment (filling as much of it as the source has) instead of a new one, and emits that buffer (or the part
 * of it filled). The caller decides when a buffer comes back: it hands out a buffer again only once it is
 * done with the piece read into it before (see {@link reopenableInto}).
 *
 * @since 0.2.0
 * @category models
 */
export type OpenInto<E = never, R = never> = (
  offset: number,
  buffer: () => Uint8Array
) => Stream.Stream<Uint8Array, E, R>

// Keyed by the `open` function: a wrapper that replaces `open` (to map its errors, count its bytes...)
// loses the capability unless it hands on one of its own, so no wrapper is ever bypassed.
const intoByOpen = new WeakMap<object, OpenInto<unknown, unknown>>()

/**
 * A re-openable source that can also read its pieces into buffers the reader hands it ({@link OpenInto}):
 * an upload from a file then reuses a few buffers rather than allocating one per piece, which spares the
 * garbage collector most of its work. `openInto` must give the same bytes as `open`. The capability
 * belongs to this `open` function: a source made from this one with another `open` does not have it
 * unless it is made with `reopenableInto` too.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const bytes = new Uint8Array([1, 2, 3])
 * const source = BlobSource.reopenableInto(
 *   (offset) => Stream.make(bytes.slice(offset)),
 *   (offset, buffer) =>
 *     Stream.sync(() => {
 *       const into = buffer()
 *       const n = Math.min(into.length, bytes.length - offset)
 *       into.set(bytes.subarray(offset, offset + n))
 *       return into.subarray(0, n)
 *     })
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const reopenableInto = <E, R>(
  open: (offset: number) => Stream.Stream<Uint8Array, E, R>,
  openInto: OpenInto<E, R>
): Reopenable<E, R> => {
  const opener = (offset: number) => open(offset)
  intoByOpen.set(opener, openInto as OpenInto<unknown, unknown>)
  return { _tag: "Reopenable", open: opener }
}

/**
 * `count` buffers of `size` bytes for an {@link OpenInto}, handed out in turn (each made when first
 * needed): the buffer handed out `n`-th comes back as the `(n + count)`-th, so whoever reads the pieces
 * must be done with each before `count - 1` more are read.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 *
 * const next = BlobSource.bufferRing(2, 1024)
 * const [a, b, c] = [next(), next(), next()] // c === a
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const bufferRing = (count: number, size: number): () => Uint8Array => {
  const buffers: Array<Uint8Array> = []
  const n = Math.max(1, Math.floor(count))
  let next = 0
  return () => {
    const at = next
    next = (next + 1) % n
    const existing = buffers[at]
    if (existing !== undefined) return existing
    const made = new Uint8Array(Math.max(1, Math.floor(size)))
    buffers[at] = made
    return made
  }
}

/**
 * Buffers for the runs of {@link OpenInto} streams: each run of a stream made with the pool takes a
 * {@link bufferRing} (one that a run which ended gave back, else a new one) and gives it back when it ends.
 * A ring goes on with its turn from one run to the next, so the buffers read into last are read into again
 * last. Runs side by side have rings of their own: the pool holds as many rings as runs were ever at once.
 *
 * @since 0.2.0
 * @category models
 */
export type BufferPool = <A, E, R>(
  use: (buffer: () => Uint8Array) => Stream.Stream<A, E, R>
) => Stream.Stream<A, E, R>

/**
 * A {@link BufferPool} of rings of `count` buffers of `size` bytes.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const pool = BlobSource.bufferPool(2, 1024 * 1024)
 * const source = BlobSource.fromBytes(new Uint8Array(10))
 * const into = BlobSource.openIntoOf(source)
 * const stream = into === undefined ? source.open(0) : pool((buffer) => into(0, buffer))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const bufferPool = (count: number, size: number): BufferPool => {
  const free: Array<() => Uint8Array> = []
  return (use) =>
    Stream.unwrapScoped(
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => free.pop() ?? bufferRing(count, size)),
          (ring) =>
            Effect.sync(() => {
              free.push(ring)
            })
        ),
        use
      )
    )
}

/**
 * The {@link OpenInto} of a source made with {@link reopenableInto}, if it has one.
 *
 * @since 0.2.0
 * @category utils
 */
export const openIntoOf = <E, R>(source: BlobSource<E, R>): OpenInto<E, R> | undefined =>
  source._tag === "Reopenable" ? intoByOpen.get(source.open) as OpenInto<E, R> | undefined : undefined

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

// The buffers a transport made for one reader and that nothing else holds, each with what to tell the transport
// once its reader claims it (see `markFresh`).
const fresh = globalValue(
  Symbol.for("@effect-registry/core/BlobSource/freshClaims"),
  () => new WeakMap<ArrayBuffer, () => void>()
)

const unwatched = (): void => {}

// The buffers whose memory a transport or writer may free once it has written them (see `releasedOnceWritten`).
// Both sets are shared by every copy of this module in a program, so that a transport, the code that marked the
// bytes and the writer agree.
const releasable = globalValue(
  Symbol.for("@effect-registry/core/BlobSource/releasable"),
  () => new WeakSet<ArrayBuffer>()
)

const wholeBuffer = (bytes: Uint8Array): ArrayBuffer | undefined => {
  const buffer = bytes.buffer
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength
    ? buffer
    : undefined
}

/**
 * Marks the bytes of a stream as the reader's alone: once a transport has handed a piece to the network, or a
 * file writer has copied it, it may free the piece's memory at once (the piece then reads as empty) instead of
 * leaving it to the garbage collector. A blob streamed from one registry to another (or to a file) otherwise
 * leaves each piece it moved in memory until V8's next young-generation collection, and V8 lets up to 32 MiB of
 * such pieces wait for one: with this mark a transfer holds little more than the pieces in flight.
 * `NodeHttp`'s transport honours the mark for stream request bodies, `BlobFile.writeAtomic` for the pieces it
 * writes.
 *
 * Only pieces that their transport marked as fresh ({@link markFresh}: made for this reader, held by nothing
 * else, such as the pieces `NodeHttp.layer` reads from a response) and that are the whole of their buffer are
 * marked; bytes a source keeps (a blob of an in-memory registry, a cache) never are. Mark a stream only when
 * nothing on the way keeps its pieces: no other reader of the same bytes, and no code that reads a
 * piece again after it was written (an upload that holds pieces to send them again must copy them first, as
 * `rechunkBytes` does for pieces smaller than a chunk). And mark it only when it goes to a writer that frees
 * what it has written: a transport may read a marked body in larger pieces (`NodeHttp.layer` does), which costs
 * memory when nothing frees them. `ImageCopy` marks the blobs it streams from its source registry to its target,
 * `OciLayout.pull` the blobs it downloads.
 *
 * @example
 * ```ts
 * import { BlobSource } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * // what a transport does with a piece it made for this reader alone
 * const piece = new Uint8Array([1, 2, 3])
 * BlobSource.markFresh(piece)
 * // the reader declares the stream's fresh pieces its own: a writer that honours the mark frees them once written
 * const pieces = BlobSource.releasedOnceWritten(Stream.make(piece))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const releasedOnceWritten = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.mapChunks(self, (chunk) => {
    for (const bytes of chunk) {
      const buffer = wholeBuffer(bytes)
      if (buffer === undefined) continue
      const claimed = fresh.get(buffer)
      if (claimed === undefined) continue
      fresh.delete(buffer)
      releasable.add(buffer)
      claimed()
    }
    return chunk
  })

/**
 * For a transport: `bytes` is a buffer of its own, made for the one reader it is handed to, that nothing else
 * holds (Node's HTTP parser copies each piece of a body into such a buffer). Only pieces marked so can be
 * declared the reader's alone by {@link releasedOnceWritten}: bytes a source keeps (a blob held in memory, a
 * cache) are never freed, whoever reads them. Views into a larger buffer are not marked.
 *
 * `onClaimed`, when given, is called when a reader declares the piece its own, before the piece goes on: a sign
 * for the transport that this reader's pieces are likely to be freed once written, so that it may read what
 * follows in larger pieces (`NodeHttp.layer` does on plain-HTTP connections: fewer, larger pieces cost less per
 * byte, and do not pile up in memory when they are freed at once). It is kept with the piece until the piece is
 * claimed or collected, so it should hold what it needs weakly.
 *
 * @since 0.2.0
 * @category utils
 */
export const markFresh = (bytes: Uint8Array, onClaimed?: () => void): void => {
  const buffer = wholeBuffer(bytes)
  if (buffer !== undefined) fresh.set(buffer, onClaimed ?? unwatched)
}

/**
 * For a transport or writer that has written `bytes`: their buffer when it was marked by
 * {@link releasedOnceWritten} (and `bytes` is the whole of it), unmarked from then on; the writer may free it.
 * Otherwise `undefined`.
 *
 * @since 0.2.0
 * @category utils
 */
export const takeReleasable = (bytes: Uint8Array): ArrayBuffer | undefined => {
  const buffer = wholeBuffer(bytes)
  return buffer !== undefined && releasable.delete(buffer) ? buffer : undefined
}
