/**
 * A gzip stream inflated by Node's zlib, with bounded memory: the compressed pieces are written one at a time,
 * each only once zlib has taken the one before (its writable side below its high-water mark), and the inflated
 * pieces wait in a buffer of at most `OutputLimit` bytes before the reader takes them. A download that runs
 * faster than the inflating (zlib works on libuv's thread pool) therefore waits, instead of queueing the whole
 * compressed layer inside zlib.
 *
 * Why not the platform's helpers (measured on a 64 MiB layer from a local registry, the live `ArrayBuffer`s
 * sampled after full collections): `NodeStream.pipeThroughDuplex` of `@effect/platform-node` waits for `drain`
 * only between the pieces of one `Chunk`, never after a chunk's last one, so a download's stream of one-piece
 * chunks was written into zlib as fast as it arrived; `Stream.runForEachWhile` held every piece it had seen until
 * the stream ended (63 MiB live at the end of the layer, against 15 MiB with `Stream.runForEachChunk`); and
 * `Stream.interruptWhen` (to end the reading when the writing fails) nearly doubled the time (1.96 s against
 * 1.10 s), since every piece then crosses between two fibers.
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Zlib from "node:zlib"
import * as Body from "./bodyStream.js"
import * as Release from "./release.js"

/** zlib's output pieces: 64 KiB like a socket read (its default, 16 KiB, makes four times as many to stream). */
export const ChunkSize = 64 * 1024

/** The inflated bytes that may wait for the reader: four pieces. */
export const OutputLimit = 4 * ChunkSize

// what zlib is destroyed with when the compressed stream failed: the reader then fails with that stream's cause
const InputFailed: unique symbol = Symbol("@effect-registry/node/internal/gunzip/InputFailed")

/**
 * The bytes of the gzip stream `self`, inflated. A failure of `self` is the result's failure as it is, even
 * after the inflated bytes ended (what follows the gzip data, such as zero padding, is read to the end of
 * `self` and dropped); gzip data that does not inflate (corrupt, truncated, trailing garbage that zlib refuses)
 * fails with `onError` of zlib's error. zlib is destroyed when the stream ends, fails or is interrupted.
 * Compressed pieces marked as the reader's alone (`BlobSource.releasedOnceWritten`) are freed once zlib has
 * inflated them.
 *
 * @since 0.2.0
 */
export const gunzip = <E, R, E2>(
  self: Stream.Stream<Uint8Array, E, R>,
  onError: (cause: unknown) => E2
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const zlib = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const z = Zlib.createGunzip({ chunkSize: ChunkSize })
        // errors are read by the reader while it listens; one that comes after (a destroy racing the reader's
        // end) must not be an unhandled 'error' event
        z.on("error", () => {})
        return z
      }),
      (z) => Effect.sync(() => z.destroy())
    )
    // Set once the inflated stream has ended: zlib may end before its input does (zero padding after the gzip
    // data), and the rest of the input is then read and dropped, so that the download still reaches its end and
    // its verdict (digest, size, a broken connection).
    let outputEnded = false
    let wakeWriter: (() => void) | undefined
    // a chunk's pieces in order, each once zlib has room for it; a destroyed zlib (it failed) takes nothing more
    const writeChunk = (chunk: Chunk.Chunk<Uint8Array>) =>
      Effect.async<void>((resume) => {
        const pieces = Chunk.toReadonlyArray(chunk)
        let at = 0
        const next = (): void => {
          zlib.off("drain", next)
          zlib.off("close", next)
          wakeWriter = undefined
          while (at < pieces.length) {
            if (zlib.destroyed || outputEnded) return resume(Effect.void)
            const piece = pieces[at++]
            // inflated: a piece that is ours alone is freed now
            const room = zlib.write(piece, (error) => {
              if (error === null || error === undefined) Release.releaseWritten([piece])
            })
            if (!room) {
              zlib.on("drain", next)
              zlib.on("close", next)
              wakeWriter = next
              return
            }
          }
          resume(Effect.void)
        }
        next()
        return Effect.sync(() => {
          zlib.off("drain", next)
          zlib.off("close", next)
          wakeWriter = undefined
        })
      })
    const writer = yield* self.pipe(
      Stream.takeWhile(() => !zlib.destroyed),
      Stream.runForEachChunk(writeChunk),
      Effect.zipRight(Effect.sync(() => {
        if (!zlib.destroyed) zlib.end()
      })),
      // the reader, waiting for output, learns of the failure through zlib; it then takes the writer's cause
      Effect.tapErrorCause(() =>
        Effect.sync(() =>
          zlib.destroy(Object.assign(new Error("the compressed stream failed"), { [InputFailed]: true }))
        )
      ),
      Effect.forkScoped
    )
    // the writer's outcome: the compressed stream's own failure, or its end
    const writerDone = Fiber.join(writer)
    return Body.bodyStream<E2 | typeof InputFailed>(
      zlib,
      (cause) => typeof cause === "object" && cause !== null && InputFailed in cause ? InputFailed : onError(cause),
      OutputLimit
    ).pipe(
      Stream.catchAll((error): Stream.Stream<never, E | E2> =>
        error !== InputFailed
          ? Stream.fail(error)
          : Stream.drain(Stream.fromEffect(Effect.zipRight(
            writerDone,
            Effect.fail(onError(new Error("the compressed stream failed")))
          )))
      ),
      // the inflated bytes are all there: the rest of the input is read to its end, and its failure is ours
      Stream.concat(Stream.drain(Stream.fromEffect(Effect.suspend(() => {
        outputEnded = true
        wakeWriter?.()
        return writerDone
      }))))
    )
  }))
