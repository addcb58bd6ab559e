import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"

/**
 * Why a file could not be opened or read as a regular file.
 *
 * - `NotFound`: nothing at the path;
 * - `Symlink`: the path is a symbolic link and links are not followed;
 * - `NotAFile`: a directory, FIFO, socket or device;
 * - `TooLarge`: larger than the bound of a whole-file read;
 * - `Changed`: the file is not the one first opened, or shrank while being read;
 * - `Failed`: the file system refused (`cause`).
 *
 * @internal
 */
export interface OpenFailure {
  readonly _tag: "NotFound" | "Symlink" | "NotAFile" | "TooLarge" | "Changed" | "Failed"
  readonly cause?: unknown
}

/** An open regular file with its `fstat` at open time. @since 0.2.0 */
export interface Opened {
  readonly fd: number
  readonly size: number
  readonly dev: number
  readonly ino: number
}

// Missing on some platforms (Windows): the lstat before the open covers them.
const NoFollow: number = Fs.constants.O_NOFOLLOW ?? 0
// A FIFO at the path must not block the open; it is then refused by the fstat.
const NonBlock: number = Fs.constants.O_NONBLOCK ?? 0

const failure = (tag: OpenFailure["_tag"], cause?: unknown): OpenFailure =>
  cause === undefined ? { _tag: tag } : { _tag: tag, cause }

const fromErrno = (error: NodeJS.ErrnoException): OpenFailure =>
  error.code === "ENOENT" || error.code === "ENOTDIR"
    ? failure("NotFound", error)
    : error.code === "ELOOP"
    ? failure("Symlink", error)
    : failure("Failed", error)

const lstat = (path: string): Effect.Effect<Fs.Stats, OpenFailure> =>
  Effect.async<Fs.Stats, OpenFailure>((resume) => {
    Fs.lstat(path, (error, stats) => {
      resume(error === null ? Effect.succeed(stats) : Effect.fail(fromErrno(error)))
    })
  })

/**
 * What is at `path` without following a final symbolic link: `"Directory"`,
 * `"File"`, `"Symlink"`, `"Other"`, or none when nothing is there.
 *
 * @internal
 */
export const kind = (
  path: string
): Effect.Effect<Option.Option<"Directory" | "File" | "Symlink" | "Other">, OpenFailure> =>
  lstat(path).pipe(
    Effect.map((stats) =>
      Option.some(
        stats.isSymbolicLink() ? "Symlink" as const : stats.isDirectory()
          ? "Directory" as const
          : stats.isFile()
          ? "File" as const
          : "Other" as const
      )
    ),
    Effect.catchIf((f) => f._tag === "NotFound", () => Effect.succeed(Option.none()))
  )

/**
 * Opens a regular file for reading, closed with the scope. With
 * `follow: false` a symbolic link at `path` is refused (lstat first, then
 * `O_NOFOLLOW` where the platform has it, so a link swapped in between is
 * refused too). Never blocks on a FIFO.
 *
 * @internal
 */
export const open = (
  path: string,
  options: { readonly follow: boolean }
): Effect.Effect<Opened, OpenFailure, Scope.Scope> =>
  Effect.gen(function*() {
    if (!options.follow) {
      const stats = yield* lstat(path)
      if (stats.isSymbolicLink()) return yield* Effect.fail(failure("Symlink"))
    }
    const flags = Fs.constants.O_RDONLY | NonBlock | (options.follow ? 0 : NoFollow)
    const fd = yield* Effect.acquireRelease(
      Effect.async<number, OpenFailure>((resume) => {
        Fs.open(path, flags, (error, fd) => {
          resume(error === null ? Effect.succeed(fd) : Effect.fail(fromErrno(error)))
        })
      }),
      (fd) => Effect.async<void>((resume) => Fs.close(fd, () => resume(Effect.void)))
    )
    const stats = yield* Effect.async<Fs.Stats, OpenFailure>((resume) => {
      Fs.fstat(fd, (error, stats) => {
        resume(error === null ? Effect.succeed(stats) : Effect.fail(failure("Failed", error)))
      })
    })
    if (!stats.isFile()) return yield* Effect.fail(failure("NotAFile"))
    return { fd, size: stats.size, dev: stats.dev, ino: stats.ino }
  })

/** Whether two openings are the same file of the same size. @internal */
export const sameFile = (a: Opened, b: Opened): boolean => a.dev === b.dev && a.ino === b.ino && a.size === b.size

// Reads into `buffer` at `position`; the result is the part of `buffer` filled (empty at the end of the file).
// Interrupted while the read is in flight, it waits for the read to end: once it returns, nothing writes into
// `buffer` (which may be handed out again) or reads `fd` (which may be closed).
const readAt = (fd: number, buffer: Uint8Array, position: number): Effect.Effect<Uint8Array, OpenFailure> =>
  Effect.async<Uint8Array, OpenFailure>((resume) => {
    let ended = false
    let onEnd: (() => void) | undefined
    Fs.read(fd, buffer, 0, buffer.length, position, (error, read) => {
      ended = true
      onEnd?.()
      resume(error === null ? Effect.succeed(buffer.subarray(0, read)) : Effect.fail(failure("Failed", error)))
    })
    return Effect.async<void>((wake) => {
      if (ended) return wake(Effect.void)
      onEnd = () => wake(Effect.void)
    })
  })

// The buffer to read the piece at `position` into: the caller's (cut to what is left), else a new one.
const bufferFor = (
  opened: Opened,
  position: number,
  chunkSize: number,
  buffer: (() => Uint8Array) | undefined
): Uint8Array => {
  const left = opened.size - position
  const given = buffer?.()
  if (given === undefined || given.length === 0) return new Uint8Array(Math.min(chunkSize, left))
  return given.length <= left ? given : given.subarray(0, left)
}

/**
 * The bytes of an open file from `offset` to its size at open time, in chunks
 * of at most `chunkSize` (or read into the buffers `buffer` hands out, in
 * turn): never more (a file that grew is cut at its size) and never fewer (a
 * file that shrank fails with `Changed`).
 *
 * @internal
 */
export const stream = (
  opened: Opened,
  offset: number,
  chunkSize: number,
  buffer?: () => Uint8Array
): Stream.Stream<Uint8Array, OpenFailure> =>
  Stream.unfoldEffect(offset, (position) =>
    position >= opened.size
      ? Effect.succeed(Option.none())
      : Effect.flatMap(
        readAt(opened.fd, bufferFor(opened, position, chunkSize, buffer), position),
        (bytes) =>
          bytes.length === 0
            ? Effect.fail(failure("Changed"))
            : Effect.succeed(Option.some([bytes, position + bytes.length] as const))
      ))

/**
 * The whole of an open file, refused with `TooLarge` beyond `maxBytes`.
 *
 * @internal
 */
export const readAll = (opened: Opened, maxBytes: number): Effect.Effect<Uint8Array, OpenFailure> =>
  Effect.gen(function*() {
    if (opened.size > maxBytes) return yield* Effect.fail(failure("TooLarge"))
    const out = new Uint8Array(opened.size)
    let position = 0
    while (position < opened.size) {
      const bytes = yield* readAt(opened.fd, out.subarray(position), position)
      if (bytes.length === 0) return yield* Effect.fail(failure("Changed"))
      position += bytes.length
    }
    return out
  })
