/**
 * Writes a stream's bytes to an open file through two buffers of its own: each received piece is copied into
 * the buffer being filled and dropped at once, while the other buffer is written. The file is still written
 * asynchronously (the event loop never waits for the disk), but the pieces no longer wait for their write: a
 * socket read of a download that waits for the disk lives long enough to be promoted to V8's old generation,
 * whose external memory only full collections free. The two buffers are reused for the whole file.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"

/**
 * Bytes of each of the two buffers; a smaller file gets buffers of its own size. 256 KiB rather than 1 MiB:
 * a pull writes up to 4 files at once, and 6 MiB of buffers was a tenth of what a pull adds to the process
 * (issue 19); a write of 256 KiB is still one system call per 4 socket reads.
 */
export const BufferSize = 256 * 1024

interface Write {
  done: boolean
  error: NodeJS.ErrnoException | undefined
  waiter: (() => void) | undefined
}

/** Writes `length` bytes of `buffer` at `position` (again for what a short write left); `done` at the end. */
const startWrite = (fd: number, buffer: Uint8Array, length: number, position: number): Write => {
  const write: Write = { done: false, error: undefined, waiter: undefined }
  const finish = (error: NodeJS.ErrnoException | undefined) => {
    write.done = true
    write.error = error
    const waiter = write.waiter
    write.waiter = undefined
    if (waiter !== undefined) waiter()
  }
  const step = (offset: number): void =>
    Fs.write(fd, buffer, offset, length - offset, position + offset, (error, written) => {
      if (error !== null) return finish(error)
      // a write that moved nothing and reported no error would otherwise be retried forever
      if (written === 0) return finish(Object.assign(new Error("the file system accepted no bytes"), { code: "EIO" }))
      if (offset + written < length) return step(offset + written)
      finish(undefined)
    })
  step(0)
  return write
}

/**
 * A writer of one file, or of one run of bytes of it from `start` on (an archive's member): `put` copies pieces
 * in (waiting only while both buffers are taken), `end` writes what is left and waits for it, `settle` waits for
 * a write still running (for a scope closing early: the file must not be closed under a running write).
 *
 * @since 0.1.0
 */
export const make = (fd: number, sizeHint: number | undefined, start = 0) => {
  const capacity = Math.max(1, Math.min(BufferSize, sizeHint ?? BufferSize))
  const buffers: Array<Uint8Array | undefined> = [undefined, undefined]
  let current = 0
  let fill = 0
  let position = start
  let running: Write | undefined

  const awaitRunning: Effect.Effect<void, NodeJS.ErrnoException> = Effect.suspend(() => {
    const write = running
    if (write === undefined) return Effect.void
    const result = () => {
      running = undefined
      return write.error === undefined ? Effect.void : Effect.fail(write.error)
    }
    if (write.done) return result()
    return Effect.async<void, NodeJS.ErrnoException>((resume) => {
      write.waiter = () => resume(result())
    })
  })

  // writes the buffer being filled (once the running write is done) and goes on with the other one
  const flush: Effect.Effect<void, NodeJS.ErrnoException> = Effect.zipRight(
    awaitRunning,
    Effect.sync(() => {
      const buffer = buffers[current]
      if (fill === 0 || buffer === undefined) return
      running = startWrite(fd, buffer, fill, position)
      position += fill
      current = 1 - current
      fill = 0
    })
  )

  const put = (
    pieces: ReadonlyArray<Uint8Array>,
    from: number,
    offset: number
  ): Effect.Effect<void, NodeJS.ErrnoException> => {
    let i = from
    let at = offset
    while (i < pieces.length) {
      const piece = pieces[i]
      const buffer = buffers[current] ?? (buffers[current] = new Uint8Array(capacity))
      const n = Math.min(piece.length - at, capacity - fill)
      buffer.set(at === 0 && n === piece.length ? piece : piece.subarray(at, at + n), fill)
      fill += n
      at += n
      if (at === piece.length) {
        i++
        at = 0
      }
      if (fill === capacity) {
        const next = i
        const nextAt = at
        return Effect.zipRight(flush, Effect.suspend(() => put(pieces, next, nextAt)))
      }
    }
    // nothing being written: write what there is now rather than wait for a full buffer
    if (fill > 0 && (running === undefined || running.done)) return flush
    return Effect.void
  }

  return {
    put: (pieces: ReadonlyArray<Uint8Array>) => Effect.suspend(() => put(pieces, 0, 0)),
    end: Effect.zipRight(flush, awaitRunning),
    settle: Effect.suspend(() => {
      const write = running
      if (write === undefined || write.done) return Effect.void
      return Effect.async<void>((resume) => {
        write.waiter = () => resume(Effect.void)
      })
    })
  }
}
