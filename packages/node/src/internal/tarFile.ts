import * as BlobSource from "@effect-registry/core/BlobSource"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import * as FileWriter from "./fileWriter.js"
import * as Release from "./release.js"
import * as SafeFile from "./safeFile.js"

// A small reader and writer of tar archives (POSIX ustar, with PAX `x` and GNU `L`/`K` long names on
// reading), for the Docker and OCI archives. The reader never extracts: it scans the headers once into an
// index of members (name, type, offset and size of the data) and then streams a member's bytes straight
// from the archive file, so layers are never held in memory and never land on disk as links.

/**
 * Why an archive could not be read or written.
 */
export interface Failure {
  readonly reason: "Read" | "Write" | "NotATar" | "Truncated" | "UnsafeEntry" | "Invalid"
  readonly path: string
  readonly entry?: string | undefined
  readonly detail?: string | undefined
  readonly cause?: unknown
}

/** @since 0.2.0 */
export type EntryType = "File" | "Directory" | "Symlink" | "Hardlink" | "Other"

/** A member of the archive. @since 0.2.0 */
export interface Entry {
  readonly name: string
  readonly type: EntryType
  /** Where the member's bytes start in the archive file. */
  readonly offset: number
  readonly size: number
  readonly linkName: string | undefined
}

/** The members of an archive file, by normalized name (a later member of the same name wins). @since 0.2.0 */
export interface Index {
  readonly path: string
  readonly entries: ReadonlyMap<string, Entry>
  /** The archive file as scanned: every later reading must find the same file. */
  readonly file: SafeFile.Opened
}

/** At most this many members, and PAX or GNU long-name records of at most this many bytes. @internal */
export const MaxEntries = 100_000
const MaxExtendedHeader = 1024 * 1024
const Block = 512
const ChunkSize = 1024 * 1024

const fail = (failure: Failure): Effect.Effect<never, Failure> => Effect.fail(failure)

const fromOpen = (path: string, entry?: string) => (f: SafeFile.OpenFailure): Failure =>
  f._tag === "Changed"
    ? { reason: "Read", path, entry, detail: "the archive changed while it was read; read it again" }
    : f._tag === "NotFound"
    ? { reason: "Read", path, detail: "no such file", cause: f.cause }
    : f._tag === "NotAFile"
    ? { reason: "Read", path, detail: "not a regular file" }
    : { reason: "Read", path, cause: f.cause }

// Bytes [start, end) of an open file, each piece read into `buffer()` when given (else a new buffer); fails
// (`Changed`) when the file is shorter.
const range = (
  opened: SafeFile.Opened,
  start: number,
  end: number,
  buffer?: () => Uint8Array
): Stream.Stream<Uint8Array, SafeFile.OpenFailure> =>
  SafeFile.stream({ ...opened, size: end }, start, ChunkSize, buffer)

const readRange = (opened: SafeFile.Opened, start: number, length: number) =>
  BlobSource.collectBytes(range(opened, start, start + length))

const text = (bytes: Uint8Array): string => {
  const end = bytes.indexOf(0)
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes)
}

// A numeric field: octal digits (spaces and NULs around them), or base-256 (first byte 0x80).
const numeric = (field: Uint8Array): number | undefined => {
  if (field[0] === 0x80) {
    let n = 0
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]
    return Number.isSafeInteger(n) ? n : undefined
  }
  const s = text(field).trim()
  if (s === "") return 0
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : undefined
}

const checksumOk = (header: Uint8Array): boolean => {
  const stored = numeric(header.subarray(148, 156))
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < Block; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return stored === unsigned || stored === signed
}

// PAX records: "<length> <key>=<value>\n".
const paxRecords = (bytes: Uint8Array): Map<string, string> | undefined => {
  const out = new Map<string, string>()
  let at = 0
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at)
    if (space < 0) return undefined
    const length = Number(new TextDecoder().decode(bytes.subarray(at, space)))
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > bytes.length) return undefined
    const record = new TextDecoder().decode(bytes.subarray(space + 1, at + length - 1))
    const eq = record.indexOf("=")
    if (eq < 0) return undefined
    out.set(record.slice(0, eq), record.slice(eq + 1))
    at += length
  }
  return out
}

/**
 * The name of a member as used in the index: no leading `./`, no trailing `/` (`""` for the archive's
 * root, `./`); none when the name is absolute, empty, has a NUL or a `..` part (a name that could lead
 * out of the archive).
 *
 * @internal
 */
export const normalizeName = (name: string): string | undefined => {
  if (name === "" || name.includes("\0") || name.startsWith("/") || name.includes("\\")) return undefined
  const parts = name.split("/").filter((p) => p !== "" && p !== ".")
  if (parts.includes("..")) return undefined
  return parts.join("/")
}

const typeOf = (flag: number): EntryType =>
  flag === 0x30 || flag === 0 || flag === 0x37
    ? "File"
    : flag === 0x35
    ? "Directory"
    : flag === 0x32
    ? "Symlink"
    : flag === 0x31
    ? "Hardlink"
    : "Other"

/**
 * Scans the headers of the archive at `path` (never its data) into an index. Fails with `NotATar` when the
 * first header is not a tar header, `Invalid` on a damaged header later on, `Truncated` when a member's
 * data runs past the end of the file, and `UnsafeEntry` for a member named outside the archive (absolute,
 * or with a `..` part).
 *
 * @since 0.2.0
 */
export const scan = (path: string): Effect.Effect<Index, Failure, Scope.Scope> =>
  Effect.gen(function*() {
    const file = yield* Effect.mapError(SafeFile.open(path, { follow: true }), fromOpen(path))
    const read = (start: number, length: number) => Effect.mapError(readRange(file, start, length), fromOpen(path))
    const entries = new Map<string, Entry>()
    let position = 0
    let count = 0
    let longName: string | undefined
    let longLink: string | undefined
    let pax: Map<string, string> | undefined
    while (true) {
      if (position === file.size) break // no end-of-archive blocks: taken as the end, as Go's reader does
      if (position + Block > file.size) {
        return yield* fail({ reason: "Truncated", path, detail: `a header at offset ${position} is cut short` })
      }
      const header = yield* read(position, Block)
      if (header.every((b) => b === 0)) break
      if (!checksumOk(header)) {
        return yield* fail(
          position === 0
            ? { reason: "NotATar", path, detail: "the first block is not a tar header" }
            : { reason: "Invalid", path, detail: `damaged tar header at offset ${position} (bad checksum)` }
        )
      }
      if (++count > MaxEntries) {
        return yield* fail({ reason: "Invalid", path, detail: `more than ${MaxEntries} members` })
      }
      const flag = header[156]
      const headerSize = numeric(header.subarray(124, 136))
      const size = pax?.has("size") === true ? Number(pax.get("size")) : headerSize
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
        return yield* fail({ reason: "Invalid", path, detail: `bad member size at offset ${position}` })
      }
      const offset = position + Block
      if (offset + size > file.size) {
        return yield* fail({
          reason: "Truncated",
          path,
          detail: `a member at offset ${position} needs ${size} bytes; the file ends first`
        })
      }
      position = offset + Math.ceil(size / Block) * Block
      // extended headers apply to the next member
      if (flag === 0x78 || flag === 0x4c || flag === 0x4b) {
        if (size > MaxExtendedHeader) {
          return yield* fail({ reason: "Invalid", path, detail: `an extended header of ${size} bytes` })
        }
        const data = yield* read(offset, size)
        if (flag === 0x78) {
          const records = paxRecords(data)
          if (records === undefined) {
            return yield* fail({ reason: "Invalid", path, detail: `bad PAX header at offset ${offset - Block}` })
          }
          pax = records
        } else if (flag === 0x4c) {
          longName = text(data)
        } else {
          longLink = text(data)
        }
        continue
      }
      if (flag === 0x67) continue // a global PAX header: nothing in it matters here
      const ustar = text(header.subarray(257, 263)) === "ustar"
      const prefix = ustar ? text(header.subarray(345, 500)) : ""
      const shortName = text(header.subarray(0, 100))
      const rawName = pax?.get("path") ?? longName ?? (prefix !== "" ? `${prefix}/${shortName}` : shortName)
      const linkName = pax?.get("linkpath") ?? longLink ?? text(header.subarray(157, 257))
      pax = undefined
      longName = undefined
      longLink = undefined
      const name = normalizeName(rawName)
      if (name === undefined) {
        return yield* fail({
          reason: "UnsafeEntry",
          path,
          entry: rawName,
          detail: "a member named outside the archive (absolute, or with a `..` part)"
        })
      }
      const type = typeOf(flag)
      if (name === "") {
        if (type === "Directory") continue // `./`, as GNU tar writes for `-C dir .`
        return yield* fail({
          reason: "UnsafeEntry",
          path,
          entry: rawName,
          detail: "a member named as the archive's root"
        })
      }
      entries.set(name, {
        name,
        type,
        offset,
        size: type === "File" ? size : 0,
        linkName: type === "Symlink" || type === "Hardlink" ? linkName : undefined
      })
    }
    return { path, entries, file }
  })

/**
 * The regular file a name stands for: the member itself, or where its symbolic or hard links lead inside
 * the archive (at most 16 hops, never out of it). `undefined` when no member has the name.
 *
 * @internal
 */
export const resolve = (index: Index, name: string): Effect.Effect<Entry | undefined, Failure> =>
  Effect.suspend(() => {
    const start = normalizeName(name)
    if (start === undefined || start === "") {
      return fail({ reason: "UnsafeEntry", path: index.path, entry: name, detail: "a name outside the archive" })
    }
    let current = index.entries.get(start)
    for (let hop = 0; current !== undefined && hop <= 16; hop++) {
      if (current.type === "File") return Effect.succeed(current)
      if (current.type !== "Symlink" && current.type !== "Hardlink") {
        return fail({ reason: "Invalid", path: index.path, entry: name, detail: "not a regular file" })
      }
      const link = current.linkName ?? ""
      const target = current.type === "Hardlink"
        ? normalizeName(link)
        : link.startsWith("/")
        ? undefined
        : normalizeName(Path.posix.normalize(Path.posix.join(Path.posix.dirname(current.name), link)))
      if (target === undefined) {
        return fail({
          reason: "UnsafeEntry",
          path: index.path,
          entry: name,
          detail: `a link to ${JSON.stringify(link)}, outside the archive; links are never followed out of it`
        })
      }
      current = index.entries.get(target)
      if (current === undefined) {
        return fail({
          reason: "Invalid",
          path: index.path,
          entry: name,
          detail: `a link to a missing member ${target}`
        })
      }
    }
    return current === undefined
      ? Effect.succeed(undefined)
      : fail({ reason: "Invalid", path: index.path, entry: name, detail: "too many links" })
  })

/**
 * The bytes of a member from `offset` on, read from the archive file (which must still be the file scanned): each
 * piece into `buffer()` when given (a `BlobSource.OpenInto` reader that hands a buffer out again only once done
 * with the piece read into it before), else into a new buffer.
 *
 * @since 0.2.0
 */
export const open = (
  index: Index,
  entry: Entry,
  offset = 0,
  buffer?: () => Uint8Array
): Stream.Stream<Uint8Array, Failure> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const again = yield* SafeFile.open(index.path, { follow: true })
    if (!SafeFile.sameFile(index.file, again)) return yield* Effect.fail<SafeFile.OpenFailure>({ _tag: "Changed" })
    return range(again, entry.offset + offset, entry.offset + entry.size, buffer)
  })).pipe(Stream.mapError(fromOpen(index.path, entry.name)))

/** What a member is read in, for a reader that hashes or copies each piece before it reads the next. */
export const PieceBytes = ChunkSize

/**
 * A member read whole, refused beyond `maxBytes`.
 *
 * @internal
 */
export const readAll = (index: Index, entry: Entry, maxBytes: number): Effect.Effect<Uint8Array, Failure> =>
  entry.size > maxBytes
    ? fail({
      reason: "Invalid",
      path: index.path,
      entry: entry.name,
      detail: `${entry.size} bytes, larger than the limit of ${maxBytes} for this member`
    })
    : BlobSource.collectBytes(open(index, entry))

// --- writing -----------------------------------------------------------------------------------------------

const field = (header: Uint8Array, at: number, length: number, value: string) => {
  header.set(new TextEncoder().encode(value).subarray(0, length), at)
}

const octal = (n: number, length: number): string => n.toString(8).padStart(length - 1, "0")

const header = (name: string, type: "File" | "Directory", size: number): Uint8Array => {
  const h = new Uint8Array(Block)
  field(h, 0, 100, name)
  field(h, 100, 8, octal(type === "Directory" ? 0o755 : 0o644, 8))
  field(h, 108, 8, octal(0, 8))
  field(h, 116, 8, octal(0, 8))
  if (size < 8 ** 11) {
    field(h, 124, 12, octal(size, 12))
  } else {
    // base-256, as GNU tar, Go and Docker read it
    h[124] = 0x80
    let n = size
    for (let i = 135; i > 124; i--) {
      h[i] = n % 256
      n = Math.floor(n / 256)
    }
  }
  field(h, 136, 12, octal(0, 12))
  h[156] = type === "Directory" ? 0x35 : 0x30
  field(h, 257, 6, "ustar")
  field(h, 263, 2, "00")
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  field(h, 148, 8, `${octal(sum, 7)}\0`)
  return h
}

/** Appends members to an archive being written. @since 0.2.0 */
export interface Writer {
  readonly directory: (name: string) => Effect.Effect<void, Failure>
  readonly bytes: (name: string, bytes: Uint8Array) => Effect.Effect<void, Failure>
  /** A member from a stream whose length is not known in advance; returns its size. */
  readonly stream: <E, R>(name: string, bytes: Stream.Stream<Uint8Array, E, R>) => Effect.Effect<number, E | Failure, R>
}

/**
 * Writes an archive to `path` atomically: members go to a temporary file in the same directory, which
 * gets the end-of-archive blocks, is flushed to disk and renamed onto `path` when `build` succeeds; on any
 * failure or interruption it is removed and `path` is left as it was. Every member has mode 0644 (0755
 * for directories), owner 0 and time 0, as skopeo writes them. Names must be at most 100 bytes.
 *
 * @since 0.2.0
 */
export const write = <A, E, R>(
  path: string,
  build: (writer: Writer) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Failure, R | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = Path.resolve(path)
    const random = yield* Effect.sync(() => Crypto.randomBytes(8).toString("hex"))
    const temp = Path.join(Path.dirname(target), `.${Path.basename(target)}.${random}.partial`)
    const writeError = (cause: unknown): Failure => ({ reason: "Write", path: temp, cause })
    return yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "wx", mode: 0o644 }).pipe(Effect.mapError(writeError))
      yield* Effect.addFinalizer((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(temp)))
      let position = 0
      const put = (bytes: Uint8Array, at: number) =>
        Effect.zipRight(file.seek(at, "start"), Effect.mapError(file.writeAll(bytes), writeError))
      const checkName = (name: string) =>
        new TextEncoder().encode(name).length <= 100 && normalizeName(name) === name
          ? Effect.void
          : fail({ reason: "Invalid", path: temp, entry: name, detail: "a member name longer than 100 bytes" })
      const pad = (size: number) => {
        const rest = (Block - (size % Block)) % Block
        return rest === 0 ? Effect.void : put(new Uint8Array(rest), position)
      }
      const writer: Writer = {
        directory: (name) =>
          Effect.gen(function*() {
            yield* checkName(name)
            yield* put(header(`${name}/`.slice(0, 100), "Directory", 0), position)
            position += Block
          }),
        bytes: (name, bytes) =>
          Effect.gen(function*() {
            yield* checkName(name)
            yield* put(header(name, "File", bytes.length), position)
            yield* put(bytes, position + Block)
            position += Block + bytes.length
            yield* pad(bytes.length)
            position += (Block - (bytes.length % Block)) % Block
          }),
        stream: (name, bytes) =>
          Effect.gen(function*() {
            yield* checkName(name)
            const at = position
            position += Block
            let size = 0
            // The pieces are copied into the two buffers of a file writer and dropped at once (the writer writes
            // 256 KiB at a time, whatever size the pieces are); pieces marked as ours alone
            // (`BlobSource.releasedOnceWritten`) are freed as soon as they are copied.
            const out = FileWriter.make(file.fd, undefined, position)
            yield* Stream.runForEachChunk(bytes, (chunk) =>
              Effect.suspend(() => {
                const pieces = Chunk.toReadonlyArray(chunk)
                for (const piece of pieces) size += piece.length
                return Effect.mapError(out.put(pieces), writeError).pipe(
                  Effect.tap(() => Release.releaseWritten(pieces))
                )
              })).pipe(
                Effect.zipRight(Effect.mapError(out.end, writeError)),
                // never leave a write running into a file that is about to be closed
                Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : out.settle)
              )
            position += size
            yield* pad(size)
            position += (Block - (size % Block)) % Block
            // the header goes in last, when the size is known
            yield* put(header(name, "File", size), at)
            return size
          })
      }
      const result = yield* build(writer)
      yield* put(new Uint8Array(2 * Block), position)
      yield* Effect.mapError(file.sync, writeError)
      yield* fs.rename(temp, target).pipe(
        Effect.mapError((cause): Failure => ({ reason: "Write", path: target, cause }))
      )
      return result
    }))
  })

/**
 * Extracts regular files and directories of the archive whose names `keep` accepts into `dir` (which
 * must exist and be empty): no member is ever written through a link, since links are never created; a
 * link or special file that `keep` accepts is refused with `UnsafeEntry`.
 *
 * @internal
 */
export const extract = (
  index: Index,
  dir: string,
  keep: (name: string) => boolean
): Effect.Effect<void, Failure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const writeError = (path: string) => (cause: unknown): Failure => ({ reason: "Write", path, cause })
    for (const entry of index.entries.values()) {
      if (!keep(entry.name)) continue
      const target = Path.join(dir, ...entry.name.split("/"))
      if (entry.type === "Directory") {
        yield* fs.makeDirectory(target, { recursive: true }).pipe(Effect.mapError(writeError(target)))
        continue
      }
      if (entry.type !== "File") {
        return yield* fail({
          reason: "UnsafeEntry",
          path: index.path,
          entry: entry.name,
          detail: entry.type === "Other"
            ? "a special file (device, FIFO…), where only regular files belong"
            : "a link, where only regular files belong; links are never followed"
        })
      }
      yield* fs.makeDirectory(Path.dirname(target), { recursive: true }).pipe(
        Effect.mapError(writeError(Path.dirname(target)))
      )
      // the sink writes each piece before it takes the next: two buffers used in turn are enough
      yield* Stream.run(
        open(index, entry, 0, BlobSource.bufferRing(2, ChunkSize)),
        Sink.mapError(fs.sink(target, { flag: "wx" }), writeError(target))
      )
    }
  })
