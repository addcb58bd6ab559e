import * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import * as Manifest from "@effect-registry/core/Manifest"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Path from "node:path"
import { writeFileAtomic } from "./atomicFile.js"
import * as SafeFile from "./safeFile.js"

/** @internal */
export const RefName = "org.opencontainers.image.ref.name"

/** What skopeo writes to `oci-layout` (Go's literal, with its space and no newline). @internal */
export const LayoutFileContent = "{\"imageLayoutVersion\": \"1.0.0\"}"

/** @internal */
export type Failure = {
  readonly reason: "NotALayout" | "Read" | "Write" | "Invalid"
  readonly path: string
  readonly detail?: string
  readonly cause?: unknown
}

/** @internal */
export const blobPath = (dir: string, digest: Digest.Digest): string =>
  Path.join(dir, "blobs", Digest.algorithm(digest), Digest.encoded(digest))

/** @internal */
export interface IndexFile {
  /** The top-level fields as read (kept when written back). */
  readonly raw: Readonly<Record<string, unknown>>
  /** The entries as read (each kept as is when written back). */
  readonly rawEntries: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly manifests: ReadonlyArray<Descriptor.Descriptor>
}

const decodeDescriptor = Schema.decodeUnknownEither(Descriptor.Descriptor)

const parseJson = (text: string): Either.Either<unknown, unknown> => Either.try(() => JSON.parse(text) as unknown)

/** Bounds of the files read whole from a layout. @internal */
export const MaxLayoutFileBytes = 64 * 1024
/** @internal */
export const MaxIndexBytes = 4 * Manifest.DefaultMaxSize
/** @internal */
export const MaxManifestBytes = Manifest.DefaultMaxSize

const NotFollowed = "is a symbolic link, which is not followed: a layout's files must lie inside it"

const fromOpen = (path: string, maxBytes: number) => (f: SafeFile.OpenFailure): Failure =>
  f._tag === "Symlink"
    ? { reason: "Invalid", path, detail: NotFollowed }
    : f._tag === "NotAFile"
    ? { reason: "Invalid", path, detail: "not a regular file" }
    : f._tag === "TooLarge"
    ? { reason: "Invalid", path, detail: `larger than ${maxBytes} bytes, the limit for this file` }
    : { reason: "Read", path, cause: f.cause }

/**
 * A file of the layout read whole (at most `maxBytes`), never through a
 * symbolic link; none when missing.
 *
 * @internal
 */
export const readBounded = (path: string, maxBytes: number): Effect.Effect<Option.Option<Uint8Array>, Failure> =>
  Effect.scoped(Effect.flatMap(SafeFile.open(path, { follow: false }), (opened) => SafeFile.readAll(opened, maxBytes)))
    .pipe(
      Effect.map(Option.some),
      Effect.catchAll((f) =>
        f._tag === "NotFound" ? Effect.succeed(Option.none()) : Effect.fail(fromOpen(path, maxBytes)(f))
      )
    )

const readText = (path: string, maxBytes: number): Effect.Effect<Option.Option<string>, Failure> =>
  Effect.map(readBounded(path, maxBytes), Option.map((bytes) => new TextDecoder().decode(bytes)))

/**
 * Checks that `blobs` and `blobs/<algorithm>` of the layout, where they exist,
 * are directories and not symbolic links (which could lead out of the layout).
 *
 * @internal
 */
export const checkBlobDirs = (dir: string, algorithm: Digest.Algorithm): Effect.Effect<void, Failure> =>
  Effect.forEach([Path.join(dir, "blobs"), Path.join(dir, "blobs", algorithm)], (path) =>
    SafeFile.kind(path).pipe(
      Effect.mapError(fromOpen(path, 0)),
      Effect.flatMap((kind) =>
        Option.isNone(kind) || kind.value === "Directory"
          ? Effect.void
          : Effect.fail<Failure>({
            reason: "Invalid",
            path,
            detail: kind.value === "Symlink" ? NotFollowed : "not a directory"
          })
      )
    ), { discard: true })

/**
 * What is at the path of a blob: `Absent`, a regular `File`, or `Invalid`
 * (a symbolic link, a directory or a special file) with the failure to report.
 *
 * @internal
 */
export const blobKind = (
  dir: string,
  digest: Digest.Digest
): Effect.Effect<"Absent" | "File", Failure> =>
  Effect.gen(function*() {
    yield* checkBlobDirs(dir, Digest.algorithm(digest))
    const path = blobPath(dir, digest)
    const kind = yield* Effect.mapError(SafeFile.kind(path), fromOpen(path, 0))
    if (Option.isNone(kind)) return "Absent" as const
    if (kind.value === "File") return "File" as const
    return yield* Effect.fail<Failure>({
      reason: "Invalid",
      path,
      detail: kind.value === "Symlink" ? NotFollowed : "not a regular file"
    })
  })

/**
 * Reads `oci-layout` (must exist with version 1.x) and `index.json`.
 *
 * @internal
 */
export const readIndex = (dir: string): Effect.Effect<IndexFile, Failure> =>
  Effect.gen(function*() {
    const layoutPath = Path.join(dir, "oci-layout")
    const layoutText = yield* readText(layoutPath, MaxLayoutFileBytes)
    if (Option.isNone(layoutText)) {
      return yield* Effect.fail<Failure>({ reason: "NotALayout", path: dir, detail: "no oci-layout file" })
    }
    const layout = parseJson(layoutText.value)
    const version = Either.isRight(layout) && Predicate.isRecord(layout.right)
      ? layout.right["imageLayoutVersion"]
      : undefined
    if (typeof version !== "string" || !version.startsWith("1.")) {
      return yield* Effect.fail<Failure>({
        reason: "NotALayout",
        path: layoutPath,
        detail: "no image layout version 1.x"
      })
    }
    const indexPath = Path.join(dir, "index.json")
    const indexText = yield* readText(indexPath, MaxIndexBytes)
    if (Option.isNone(indexText)) {
      return yield* Effect.fail<Failure>({ reason: "NotALayout", path: dir, detail: "no index.json" })
    }
    const json = parseJson(indexText.value)
    if (Either.isLeft(json)) {
      return yield* Effect.fail<Failure>({ reason: "Invalid", path: indexPath, detail: "not JSON", cause: json.left })
    }
    const raw = json.right
    if (!Predicate.isRecord(raw) || raw["schemaVersion"] !== 2 || !Array.isArray(raw["manifests"])) {
      return yield* Effect.fail<Failure>({
        reason: "Invalid",
        path: indexPath,
        detail: "not an image index (schemaVersion 2 with manifests)"
      })
    }
    const rawEntries: Array<Readonly<Record<string, unknown>>> = []
    const manifests: Array<Descriptor.Descriptor> = []
    for (const entry of raw["manifests"] as ReadonlyArray<unknown>) {
      const decoded = decodeDescriptor(entry)
      if (Either.isLeft(decoded) || !Predicate.isRecord(entry)) {
        return yield* Effect.fail<Failure>({
          reason: "Invalid",
          path: indexPath,
          detail: Either.isLeft(decoded)
            ? `invalid entry: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
            : "invalid entry"
        })
      }
      rawEntries.push(entry)
      manifests.push(decoded.right)
    }
    return { raw, rawEntries, manifests }
  })

/**
 * Creates the directory, `oci-layout` and an empty `index.json` where missing;
 * an existing `oci-layout` must be version 1.x.
 *
 * @internal
 */
export const ensureLayout = (dir: string): Effect.Effect<IndexFile, Failure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const writeError = (path: string) => (cause: unknown): Failure => ({ reason: "Write", path, cause })
    // a symbolic link here would make the directories below (and every blob written) land outside the layout
    yield* checkBlobDirs(dir, "sha256")
    yield* fs.makeDirectory(Path.join(dir, "blobs", "sha256"), { recursive: true }).pipe(
      Effect.mapError(writeError(dir))
    )
    const layoutPath = Path.join(dir, "oci-layout")
    if (Option.isNone(yield* SafeFile.kind(layoutPath).pipe(Effect.mapError(fromOpen(layoutPath, 0))))) {
      yield* writeFileAtomic(layoutPath, new TextEncoder().encode(LayoutFileContent), 0o644).pipe(
        Effect.mapError(writeError(layoutPath))
      )
    }
    const indexPath = Path.join(dir, "index.json")
    if (Option.isNone(yield* SafeFile.kind(indexPath).pipe(Effect.mapError(fromOpen(indexPath, 0))))) {
      yield* writeIndex(dir, { raw: { schemaVersion: 2 }, rawEntries: [], manifests: [] })
    }
    return yield* readIndex(dir)
  })

/**
 * Writes `index.json` atomically: the top-level fields as read, the entries.
 *
 * @internal
 */
export const writeIndex = (dir: string, index: IndexFile): Effect.Effect<void, Failure, FileSystem.FileSystem> => {
  const path = Path.join(dir, "index.json")
  const json = JSON.stringify({ schemaVersion: 2, ...index.raw, manifests: index.rawEntries })
  return writeFileAtomic(path, new TextEncoder().encode(json), 0o644).pipe(
    Effect.mapError((cause): Failure => ({ reason: "Write", path, cause }))
  )
}

/**
 * Adds an entry as skopeo does: a ref name moves from any older entry to the
 * new one; an unnamed entry of the same digest is replaced; otherwise appended.
 *
 * @internal
 */
export const addEntry = (index: IndexFile, entry: Readonly<Record<string, unknown>>, digest: string): IndexFile => {
  const refOf = (e: Readonly<Record<string, unknown>>): string | undefined => {
    const a = e["annotations"]
    const name = Predicate.isRecord(a) ? a[RefName] : undefined
    return typeof name === "string" && name.length > 0 ? name : undefined
  }
  const name = refOf(entry)
  const entries = index.rawEntries.map((e) => {
    if (name === undefined || refOf(e) !== name) return e
    const { annotations: _old, ...rest } = e
    const annotations = Predicate.isRecord(_old) ? { ..._old } : {}
    delete annotations[RefName]
    // Go's encoder leaves an emptied map out (omitempty).
    return Object.keys(annotations).length > 0 ? { ...rest, annotations } : rest
  })
  const same = entries.findIndex((e) => e["digest"] === digest && refOf(e) === undefined)
  const next = same >= 0 ? entries.map((e, i) => i === same ? entry : e) : [...entries, entry]
  return { ...index, rawEntries: next }
}

/**
 * The bytes of a blob of the layout (at most `maxBytes`), or none when
 * missing; never read through a symbolic link.
 *
 * @internal
 */
export const readBlob = (
  dir: string,
  digest: Digest.Digest,
  maxBytes: number
): Effect.Effect<Option.Option<Uint8Array>, Failure> =>
  Effect.zipRight(checkBlobDirs(dir, Digest.algorithm(digest)), readBounded(blobPath(dir, digest), maxBytes))

/**
 * Whether the blob file of the layout holds exactly the blob: `Valid` (a
 * regular file of the right size, when known, hashing to `digest`), `Absent`,
 * or `Wrong` (other bytes, another size, a symbolic link or a special file),
 * which a pull replaces.
 *
 * @internal
 */
export const checkExisting = (
  dir: string,
  digest: Digest.Digest,
  size: number | undefined
): Effect.Effect<"Valid" | "Absent" | "Wrong", Failure, Hash.Hash> =>
  Effect.gen(function*() {
    yield* checkBlobDirs(dir, Digest.algorithm(digest))
    const path = blobPath(dir, digest)
    return yield* Effect.scoped(Effect.gen(function*() {
      const opened = yield* SafeFile.open(path, { follow: false })
      if (size !== undefined && opened.size !== size) return "Wrong" as const
      const actual = yield* Hash.digestOf(SafeFile.stream(opened, 0, 1024 * 1024), Digest.algorithm(digest))
      return actual.digest === digest ? "Valid" as const : "Wrong" as const
    })).pipe(
      Effect.catchAll((f: SafeFile.OpenFailure) =>
        f._tag === "NotFound"
          ? Effect.succeed("Absent" as const)
          : f._tag === "Symlink" || f._tag === "NotAFile"
          ? Effect.succeed("Wrong" as const)
          : Effect.fail<Failure>({ reason: "Read", path, cause: f.cause })
      )
    )
  })
