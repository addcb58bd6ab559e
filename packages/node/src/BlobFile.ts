/**
 * Blobs on disk: a re-openable upload source over a file (retries and resumed
 * uploads re-open it at an offset), and an atomic download target (bytes go to
 * a temporary file in the same directory, which is renamed onto the target only
 * after the digest and size are verified, and removed on any failure or
 * interruption).
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import * as RegistryErrors from "@effect-registry/core/RegistryError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import * as FileWriter from "./internal/fileWriter.js"
import * as Release from "./internal/release.js"
import * as SafeFile from "./internal/safeFile.js"

/**
 * A file operation failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class BlobFileError extends Data.TaggedError("BlobFileError")<{
  readonly reason: "Stat" | "NotAFile" | "Symlink" | "Changed" | "Read" | "Write" | "Rename" | "Offset"
  readonly path: string
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<BlobFileError["reason"], string> = {
      Stat: "cannot stat",
      NotAFile: "not a regular file",
      Symlink: "a symbolic link, not followed (give the file it points at)",
      Changed: "the file was replaced or shortened while being read; read it again",
      Read: "cannot read",
      Write: "cannot write",
      Rename: "cannot move into place",
      Offset: "offset outside the file"
    }
    return `${why[this.reason]}: ${this.path}`
  }
}

/**
 * A file as an upload source: `open(offset)` streams the file from `offset`
 * to its end. It is a core `BlobSource` (`_tag: "Reopenable"`) that also knows
 * its size and path. Every opening reads the same file as the first one (same
 * device, inode and size, else `Changed`) and never more than `size` bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Source extends BlobSource.Reopenable<BlobFileError> {
  readonly path: string
  /** The size of the file when the source was made, in bytes. */
  readonly size: number
}

/**
 * Options of {@link source}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceOptions {
  /** Bytes per chunk read from disk. Default 1 MiB. */
  readonly chunkSize?: number | undefined
  /**
   * Follow a symbolic link at `path`. Default `true`; `false` refuses a link (`Symlink`), for files whose
   * path comes from content that is not trusted (a layout, an archive).
   */
  readonly followSymlinks?: boolean | undefined
}

const DefaultChunkSize = 1024 * 1024

/**
 * A re-openable source over a file.
 *
 * @example
 * ```ts
 * import { BlobFile } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const tail = Effect.flatMap(BlobFile.source("layer.tar.gz"), (source) => Stream.runCollect(source.open(1024)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const source = (
  path: string,
  options?: SourceOptions
): Effect.Effect<Source, BlobFileError> =>
  Effect.gen(function*() {
    const follow = options?.followSymlinks !== false
    const failed = (first: boolean) => (f: SafeFile.OpenFailure) =>
      new BlobFileError({
        reason: f._tag === "Symlink" || f._tag === "NotAFile" || f._tag === "Changed"
          ? f._tag
          : first
          ? "Stat"
          : "Read",
        path,
        cause: f.cause
      })
    const first = yield* Effect.mapError(Effect.scoped(SafeFile.open(path, { follow })), failed(true))
    const size = first.size
    const chunkSize = Math.max(1, Math.floor(options?.chunkSize ?? DefaultChunkSize))
    const openInto = (offset: number, buffer?: () => Uint8Array): Stream.Stream<Uint8Array, BlobFileError> => {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
        return Stream.fail(new BlobFileError({ reason: "Offset", path }))
      }
      if (offset === size) return Stream.empty
      return Stream.unwrapScoped(Effect.gen(function*() {
        const again = yield* SafeFile.open(path, { follow })
        if (!SafeFile.sameFile(first, again)) return yield* Effect.fail<SafeFile.OpenFailure>({ _tag: "Changed" })
        return SafeFile.stream(again, offset, chunkSize, buffer)
      })).pipe(Stream.mapError(failed(false)))
    }
    // an upload reads the file into buffers it reuses (`BlobSource.openIntoOf`)
    const reopenable = BlobSource.reopenableInto((offset) => openInto(offset), openInto)
    return { _tag: "Reopenable", open: reopenable.open, path, size }
  })

const CheckBytes = 1024 * 1024

/**
 * The digest and size of a source's file, hashed with the `Hash` service in one pass: read in pieces of
 * 1 MiB into two buffers used in turn (each piece is hashed before the next is read), taken from `buffers`
 * when given (a `BlobSource.bufferPool` shared by several checks; rings of at least 2 buffers).
 *
 * @example
 * ```ts
 * import { BlobFile, NodeHash } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const described = Effect.flatMap(BlobFile.source("layer.tar.gz"), (s) => BlobFile.sourceDigest(s)).pipe(
 *   Effect.provide(NodeHash.layer)
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const sourceDigest = (
  source: Source,
  algorithm: Digest.Algorithm = "sha256",
  buffers?: BlobSource.BufferPool
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, BlobFileError, Hash.Hash> => {
  const into = BlobSource.openIntoOf(source)
  if (into === undefined) return Hash.digestOf(source.open(0), algorithm)
  return Hash.digestOf(
    buffers === undefined ? into(0, BlobSource.bufferRing(2, CheckBytes)) : buffers((buffer) => into(0, buffer)),
    algorithm
  )
}

/**
 * A pool for {@link sourceDigest}: rings of two 1 MiB buffers.
 *
 * @since 0.2.0
 * @category constructors
 */
export const digestBuffers = (): BlobSource.BufferPool => BlobSource.bufferPool(2, CheckBytes)

/**
 * The digest and size of a file, hashed with the `Hash` service.
 *
 * @example
 * ```ts
 * import { BlobFile, NodeHash } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const described = BlobFile.digest("layer.tar.gz").pipe(Effect.provide(NodeHash.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const digest = (
  path: string,
  algorithm: Digest.Algorithm = "sha256"
): Effect.Effect<
  { readonly digest: Digest.Digest; readonly size: number },
  BlobFileError,
  Hash.Hash
> => Effect.flatMap(source(path), (s) => sourceDigest(s, algorithm))

/**
 * Options of {@link writeAtomic}.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  /** The digest the bytes must hash to. */
  readonly digest: Digest.Digest
  /** The exact size, when known: more bytes fail as soon as they arrive. */
  readonly size?: number | undefined
  /** File mode of the result. Default `0o644`. */
  readonly mode?: number | undefined
  /**
   * Flush the file (and then its directory) to disk before and after the rename. Default `true`: the file
   * survives a crash once this returns. `false` keeps the atomic rename (never a half-written `path`) but
   * leaves the flush to the operating system: faster for bulk pulls that can be repeated after a crash.
   */
  readonly fsync?: boolean | undefined
  /**
   * The stream verifies its own digest and fails before its end on a mismatch, as
   * `RegistryClient.downloadBlob` does: the bytes are not hashed a second time (the size, when given, is
   * still checked). Default `false`.
   */
  readonly verified?: boolean | undefined
}

/**
 * Whether a file name is one of {@link writeAtomic}'s temporary files:
 * `.<name>.<random hex>.partial`, in the target's directory (so the final
 * rename stays on one file system).
 *
 * @since 0.1.0
 * @category utils
 */
export const isPartialName = (name: string): boolean => /^\..+\.[0-9a-f]+\.partial$/.test(name)

/**
 * Write a stream of blob bytes to `path` atomically. The bytes go to a
 * temporary file in the same directory; when the stream ends, the digest (and
 * size, if given) are checked, the file is flushed to disk (`fsync`, unless
 * `fsync: false`) and renamed onto `path`. On a digest or size mismatch, a failure of the stream, or
 * interruption, the temporary file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import { BlobFile, NodeHash } from "@effect-registry/node"
 * import type { Digest } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * declare const digest: Digest.Digest
 * declare const bytes: Stream.Stream<Uint8Array>
 * const written = BlobFile.writeAtomic("blob.bin", bytes, { digest }).pipe(Effect.provide(NodeHash.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeAtomic = <E, R>(
  path: string,
  stream: Stream.Stream<Uint8Array, E, R>,
  options: WriteOptions
): Effect.Effect<
  { readonly path: string; readonly digest: Digest.Digest; readonly size: number },
  E | BlobFileError | RegistryError.DigestMismatch | RegistryError.SizeMismatch,
  R | FileSystem.FileSystem | Hash.Hash
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = Path.resolve(path)
    const random = yield* Effect.sync(() => Crypto.randomBytes(8).toString("hex"))
    const temp = Path.join(Path.dirname(target), `.${Path.basename(target)}.${random}.partial`)
    const outer = yield* Effect.scope
    const writeError = (cause: unknown) => new BlobFileError({ reason: "Write", path: temp, cause })
    const sync = options.fsync !== false
    let size = 0
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "wx", mode: options.mode ?? 0o644 }).pipe(Effect.mapError(writeError))
      // Registered only once the file exists and is ours: removed unless everything succeeded.
      yield* Scope.addFinalizerExit(
        outer,
        (exit) => Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(temp, { force: true }))
      )
      const expected = options.size
      const tooLong = (actual: number, detail?: string) =>
        new RegistryErrors.SizeMismatch({
          digest: options.digest,
          expected: expected ?? 0,
          actual,
          ...(detail !== undefined ? { detail } : {})
        })
      // the pieces are copied into the writer's two buffers and dropped at once (see internal/fileWriter.ts)
      const writer = FileWriter.make(file.fd, expected)
      // runs before the file is closed (finalizers run in reverse order): never close it under a running write
      yield* Effect.addFinalizer(() => writer.settle)
      yield* (options.verified === true ? stream : Hash.verify(stream, { digest: options.digest, size: expected }))
        .pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.suspend((): Effect.Effect<void, BlobFileError | RegistryError.SizeMismatch> => {
              const pieces = Chunk.toReadonlyArray(chunk)
              for (const bytes of pieces) size += bytes.length
              if (expected !== undefined && size > expected) {
                return Effect.fail(tooLong(size, "more bytes than expected (counted so far)"))
              }
              return Effect.mapError(writer.put(pieces), writeError).pipe(
                // copied into the writer's buffers: pieces marked as ours alone are freed now
                Effect.tap(() => Release.releaseWritten(pieces))
              )
            })
          )
        )
      yield* Effect.mapError(writer.end, writeError)
      if (expected !== undefined && size !== expected) return yield* tooLong(size)
      if (sync) yield* Effect.mapError(file.sync, writeError)
    }))
    yield* fs.rename(temp, target).pipe(
      Effect.mapError((cause) => new BlobFileError({ reason: "Rename", path: target, cause }))
    )
    // Make the rename itself durable; not every platform can fsync a directory.
    if (!sync) return { path: target, digest: options.digest, size }
    yield* Effect.scoped(Effect.flatMap(fs.open(Path.dirname(target), { flag: "r" }), (dir) => dir.sync)).pipe(
      Effect.ignore
    )
    return { path: target, digest: options.digest, size }
  }).pipe(Effect.scoped)
