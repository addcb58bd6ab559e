import * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Path from "node:path"
import { writeFileAtomic } from "./atomicFile.js"

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

const readText = (
  fs: FileSystem.FileSystem,
  path: string
): Effect.Effect<Option.Option<string>, Failure> =>
  fs.readFileString(path).pipe(
    Effect.map(Option.some),
    Effect.catchAll((cause: PlatformError.PlatformError) =>
      cause._tag === "SystemError" && cause.reason === "NotFound"
        ? Effect.succeed(Option.none())
        : Effect.fail<Failure>({ reason: "Read", path, cause })
    )
  )

/**
 * Reads `oci-layout` (must exist with version 1.x) and `index.json`.
 *
 * @internal
 */
export const readIndex = (dir: string): Effect.Effect<IndexFile, Failure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const layoutPath = Path.join(dir, "oci-layout")
    const layoutText = yield* readText(fs, layoutPath)
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
    const indexText = yield* readText(fs, indexPath)
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
    yield* fs.makeDirectory(Path.join(dir, "blobs", "sha256"), { recursive: true }).pipe(
      Effect.mapError(writeError(dir))
    )
    const layoutPath = Path.join(dir, "oci-layout")
    if (Option.isNone(yield* readText(fs, layoutPath))) {
      yield* writeFileAtomic(layoutPath, new TextEncoder().encode(LayoutFileContent), 0o644).pipe(
        Effect.mapError(writeError(layoutPath))
      )
    }
    const indexPath = Path.join(dir, "index.json")
    if (Option.isNone(yield* readText(fs, indexPath))) {
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
 * The size of a file, or none when it does not exist.
 *
 * @internal
 */
export const fileSize = (path: string): Effect.Effect<Option.Option<number>, Failure, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.stat(path).pipe(
      Effect.map((info) => info.type === "File" ? Option.some(Number(info.size)) : Option.none()),
      Effect.catchAll((cause: PlatformError.PlatformError) =>
        cause._tag === "SystemError" && cause.reason === "NotFound"
          ? Effect.succeed(Option.none())
          : Effect.fail<Failure>({ reason: "Read", path, cause })
      )
    ))

/**
 * The bytes of a blob of the layout, or none when missing.
 *
 * @internal
 */
export const readBlob = (
  dir: string,
  digest: Digest.Digest
): Effect.Effect<Option.Option<Uint8Array>, Failure, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const path = blobPath(dir, digest)
    return fs.readFile(path).pipe(
      Effect.map(Option.some),
      Effect.catchAll((cause: PlatformError.PlatformError) =>
        cause._tag === "SystemError" && cause.reason === "NotFound"
          ? Effect.succeed(Option.none())
          : Effect.fail<Failure>({ reason: "Read", path, cause })
      )
    )
  })
