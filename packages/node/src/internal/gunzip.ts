/**
 * A gzip stream inflated by Node's zlib, with bounded memory: the compressed pieces are written one at a time,
 * each only once zlib has taken the one before (its writable side below its high-water mark), and the inflated
 * pieces wait in a buffer of at most `outputLimit` bytes before the reader takes them. A download that runs
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
import type * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
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
 * The bytes of the gzip stream `self`, inflated. A failure of `self` is the result's failure as it is; gzip data
 * that does not inflate (corrupt, truncated, trailing garbage that zlib refuses) fails with `onError` of zlib's
 * error. zlib is destroyed when the stream ends, fails or is interrupted. Compressed pieces marked as the
 * reader's alone (`BlobSource.releasedOnceWritten`) are freed once zlib has inflated them.
 *
 * @since 0.2.0
 */
export const gunzip = <E, R, E2>(
  self: Stream.Stream<Uint8Array, E, R>,
  onError: (cause: unknown) => E2,
  options?: { readonly chunkSize?: number | undefined; readonly outputLimit?: number | undefined }
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const zlib = yield* Effect.acquireRelease(
      Effect.sync(() => Zlib.createGunzip({ chunkSize: options?.chunkSize ?? ChunkSize })),
      (z) => Effect.sync(() => z.destroy())
    )
    // a chunk's pieces in order, each once zlib has room for it; a destroyed zlib (it failed) takes nothing more
    const writeChunk = (chunk: Chunk.Chunk<Uint8Array>) =>
      Effect.async<void>((resume) => {
        const pieces = Chunk.toReadonlyArray(chunk)
        let at = 0
        const next = (): void => {
          zlib.off("drain", next)
          zlib.off("close", next)
          while (at < pieces.length) {
            if (zlib.destroyed) return resume(Effect.void)
            const piece = pieces[at++]
            // inflated: a piece that is ours alone is freed now
            const room = zlib.write(piece, (error) => {
              if (error === null || error === undefined) Release.releaseWritten([piece])
            })
            if (!room) {
              zlib.on("drain", next)
              zlib.on("close", next)
              return
            }
          }
          resume(Effect.void)
        }
        next()
        return Effect.sync(() => {
          zlib.off("drain", next)
          zlib.off("close", next)
        })
      })
    let inputFailure: Cause.Cause<E> | undefined
    yield* self.pipe(
      Stream.takeWhile(() => !zlib.destroyed),
      Stream.runForEachChunk(writeChunk),
      Effect.matchCauseEffect({
        onFailure: (cause) =>
          Effect.sync(() => {
            inputFailure = cause
            zlib.destroy(Object.assign(new Error("the compressed stream failed"), { [InputFailed]: true }))
          }),
        onSuccess: () =>
          Effect.sync(() => {
            if (!zlib.destroyed) zlib.end()
          })
      }),
      Effect.forkScoped
    )
    const fromInput = (cause: unknown): boolean =>
      inputFailure !== undefined && typeof cause === "object" && cause !== null && InputFailed in cause
    return Body.bodyStream<E2 | typeof InputFailed>(
      zlib,
      (cause) => fromInput(cause) ? InputFailed : onError(cause),
      options?.outputLimit ?? OutputLimit
    ).pipe(
      Stream.catchAll((error): Stream.Stream<never, E | E2> =>
        error !== InputFailed
          ? Stream.fail(error)
          : inputFailure !== undefined
          ? Stream.failCause(inputFailure)
          : Stream.fail(onError(new Error("the compressed stream failed")))
      )
    )
  }))
