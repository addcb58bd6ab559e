/**
 * OCI image layout directories, as skopeo and other tools write them:
 * `oci-layout` (`{"imageLayoutVersion": "1.0.0"}`), `index.json` (an OCI index
 * whose entries carry `org.opencontainers.image.ref.name` annotations for
 * tags) and `blobs/<algorithm>/<hex>`.
 *
 * {@link push} sends an image (or an index with its children) from a layout to
 * a registry; {@link pull} writes one from a registry into a layout, merging
 * with what is already there. Manifests travel as their exact bytes; blobs go
 * through files (re-openable upload sources, atomic verified downloads).
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Graph from "@effect-registry/core/CopyGraph"
import type * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import * as Manifest from "@effect-registry/core/Manifest"
import * as Platform from "@effect-registry/core/Platform"
import * as Tally from "@effect-registry/core/ProgressTally"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import * as BlobFile from "./BlobFile.js"
import * as Files from "./internal/layoutFiles.js"
import * as NodeHash from "./NodeHash.js"

/**
 * The annotation of an `index.json` entry that names it (the tag).
 *
 * @since 0.1.0
 * @category constants
 */
export const RefNameAnnotation = Files.RefName

/**
 * Why a layout operation failed.
 *
 * - `NotALayout`: no `oci-layout` (version 1.x) or no `index.json`;
 * - `Read` / `Write`: the file system refused;
 * - `Invalid`: `index.json` or a manifest of the layout cannot be read or is
 *   larger than its limit (`index.json` 16 MiB, a manifest 4 MiB), a file does
 *   not hash to its name or has another size than its descriptor says, or a
 *   file or `blobs` directory is a symbolic link (never followed);
 * - `RefNotFound`: no entry has the ref name asked for;
 * - `Ambiguous`: no ref name given and the layout has several entries;
 * - `BlobMissing`: a manifest of the layout references a missing blob;
 * - `PlatformNotFound`: the index has no entry for the platform asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class OciLayoutError extends Data.TaggedError("OciLayoutError")<{
  readonly reason:
    | "NotALayout"
    | "Read"
    | "Write"
    | "Invalid"
    | "RefNotFound"
    | "Ambiguous"
    | "BlobMissing"
    | "PlatformNotFound"
  readonly path?: string | undefined
  readonly ref?: string | undefined
  readonly digest?: string | undefined
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<OciLayoutError["reason"], string> = {
      NotALayout: "not an OCI image layout",
      Read: "cannot read",
      Write: "cannot write",
      Invalid: "invalid layout content",
      RefNotFound: "no entry with this ref name",
      Ambiguous: "several entries and no ref name given",
      BlobMissing: "blob missing from the layout",
      PlatformNotFound: "no manifest for the platform"
    }
    const parts = [
      this.path !== undefined ? this.path : undefined,
      this.ref !== undefined ? `ref ${this.ref}` : undefined,
      this.digest,
      this.detail
    ].filter((p) => p !== undefined)
    return parts.length > 0 ? `${why[this.reason]}: ${parts.join(", ")}` : why[this.reason]
  }
}

const fromFailure = (failure: Files.Failure): OciLayoutError => new OciLayoutError(failure)

const NodeServices = Layer.merge(NodeFileSystem.layer, NodeHash.layer)

const withNode = <A, E>(
  self: Effect.Effect<A, E, FileSystem.FileSystem | Hash.Hash>
): Effect.Effect<A, E> => Effect.provide(self, NodeServices)

/**
 * The path of a blob in a layout: `<dir>/blobs/<algorithm>/<hex>`.
 *
 * @since 0.1.0
 * @category utils
 */
export const blobPath = (dir: string, digest: Digest.Digest): string => Files.blobPath(dir, digest)

/**
 * Makes `dir` a layout where it is not one yet (directory, `oci-layout`,
 * empty `index.json`); an existing layout is left as it is.
 *
 * @example
 * ```ts
 * import { OciLayout } from "@effect-registry/node"
 *
 * const ready = OciLayout.init("./image")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const init = (dir: string): Effect.Effect<void, OciLayoutError> =>
  withNode(Effect.asVoid(Effect.mapError(Files.ensureLayout(dir), fromFailure)))

/**
 * The entries of the layout's `index.json`.
 *
 * @since 0.1.0
 * @category utils
 */
export const entries = (dir: string): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OciLayoutError> =>
  withNode(Effect.map(Effect.mapError(Files.readIndex(dir), fromFailure), (index) => index.manifests))

/**
 * The ref name of an entry (its `org.opencontainers.image.ref.name`).
 *
 * @since 0.1.0
 * @category utils
 */
export const refName = (entry: Descriptor.Descriptor): string | undefined => entry.annotations?.[Files.RefName]

const selectEntry = (
  dir: string,
  manifests: ReadonlyArray<Descriptor.Descriptor>,
  ref: string | undefined
): Effect.Effect<Descriptor.Descriptor, OciLayoutError> => {
  if (ref !== undefined) {
    const named = manifests.filter((m) => refName(m) === ref)
    if (named.length > 0) return Effect.succeed(named[named.length - 1])
    return Effect.fail(new OciLayoutError({ reason: "RefNotFound", path: dir, ref }))
  }
  if (manifests.length === 1) return Effect.succeed(manifests[0])
  return Effect.fail(
    new OciLayoutError({
      reason: manifests.length === 0 ? "RefNotFound" : "Ambiguous",
      path: dir,
      detail: `${manifests.length} entries in index.json`
    })
  )
}

/**
 * The entry named `ref`, or the only entry when `ref` is not given.
 *
 * @example
 * ```ts
 * import { OciLayout } from "@effect-registry/node"
 *
 * const entry = OciLayout.resolve("./image", "v1")
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const resolve = (dir: string, ref?: string | undefined): Effect.Effect<Descriptor.Descriptor, OciLayoutError> =>
  Effect.flatMap(entries(dir), (manifests) => selectEntry(dir, manifests, ref))

const readManifestWith = (
  dir: string,
  descriptor: Descriptor.Descriptor
): Effect.Effect<Manifest.Any, OciLayoutError, FileSystem.FileSystem | Hash.Hash> =>
  Effect.gen(function*() {
    const path = Files.blobPath(dir, descriptor.digest)
    const bytes = yield* Effect.mapError(Files.readBlob(dir, descriptor.digest, Files.MaxManifestBytes), fromFailure)
    if (Option.isNone(bytes)) {
      return yield* new OciLayoutError({ reason: "BlobMissing", path, digest: descriptor.digest })
    }
    const actual = yield* Hash.digestBytes(bytes.value, Digest.algorithm(descriptor.digest))
    if (actual !== descriptor.digest) {
      return yield* new OciLayoutError({
        reason: "Invalid",
        path,
        digest: descriptor.digest,
        detail: `hashes to ${actual}`
      })
    }
    return yield* Manifest.decode(bytes.value, { contentType: descriptor.mediaType }).pipe(
      Effect.mapError((cause) =>
        new OciLayoutError({ reason: "Invalid", path, digest: descriptor.digest, detail: cause.message, cause })
      )
    )
  })

/**
 * Reads (and checks the digest of) the manifest an entry or child descriptor
 * points at.
 *
 * @since 0.1.0
 * @category utils
 */
export const readManifest = (
  dir: string,
  descriptor: Descriptor.Descriptor
): Effect.Effect<Manifest.Any, OciLayoutError> => withNode(readManifestWith(dir, descriptor))

/**
 * Options of {@link push}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushOptions {
  /** The entry of the layout to push, by ref name. Default: the one named like the tag, else the only entry. */
  readonly ref?: string | undefined
  /** Blobs uploaded at once. Default 4. */
  readonly concurrency?: number | undefined
}

/**
 * @since 0.1.0
 * @category errors
 */
export type PushError =
  | OciLayoutError
  | BlobFile.BlobFileError
  | RegistryClient.UploadError
  | RegistryClient.ManifestError

/**
 * Pushes an image, or an index with all its children, from a layout. Every
 * blob file is checked first, before anything is sent: a regular file inside
 * the layout (a symbolic link is refused, never followed) of the size the
 * manifest gives, hashing to its digest. Then the blobs (at most
 * `concurrency` at once, streamed from their files; blobs the repository has
 * are skipped), then the child manifests by digest, then the
 * top manifest under `tag` (by digest without one). Manifests are sent as the
 * exact bytes of the layout. Returns the top manifest's digest.
 *
 * Progress events go to the `Progress` service when there is one.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { OciLayout } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const pushed = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   OciLayout.push(client, "./image", "team/app", "v1")
 * )
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const push = (
  client: RegistryClient.Service,
  dir: string,
  repository: string,
  tag?: string | undefined,
  options?: PushOptions
): Effect.Effect<Digest.Digest, PushError> =>
  withNode(
    Effect.gen(function*() {
      const index = yield* Effect.mapError(Files.readIndex(dir), fromFailure)
      const wanted = options?.ref ??
        (tag !== undefined && index.manifests.some((m) => refName(m) === tag) ? tag : undefined)
      const entry = yield* selectEntry(dir, index.manifests, wanted)
      const top = yield* readManifestWith(dir, entry)
      const graph = yield* Graph.walk(top, (d) => readManifestWith(dir, d))
      const concurrency = Math.max(1, options?.concurrency ?? 4)
      // Every blob file is checked before the first byte of any leaves the machine: a regular file inside
      // the layout (no symbolic link followed) of the size the manifest gives, hashing to its digest.
      // (the checks read into buffers they share: as many pairs of 1 MiB as checks run at once)
      const buffers = BlobFile.digestBuffers()
      const sources = yield* Effect.forEach(graph.blobs, (blob) =>
        Effect.gen(function*() {
          const path = Files.blobPath(dir, blob.digest)
          const kind = yield* Effect.mapError(
            Files.blobKind(dir, blob.digest),
            (failure) => new OciLayoutError({ ...failure, digest: blob.digest })
          )
          if (kind === "Absent") {
            return yield* new OciLayoutError({ reason: "BlobMissing", path, digest: blob.digest })
          }
          const source = yield* BlobFile.source(path, { followSymlinks: false })
          const invalid = (detail: string) =>
            new OciLayoutError({ reason: "Invalid", path, digest: blob.digest, detail: `${detail}; nothing was sent` })
          if (blob.size !== undefined && source.size !== blob.size) {
            return yield* invalid(`${source.size} bytes where the manifest says ${blob.size}`)
          }
          const actual = yield* BlobFile.sourceDigest(source, Digest.algorithm(blob.digest), buffers)
          if (actual.digest !== blob.digest) return yield* invalid(`hashes to ${actual.digest}`)
          return { blob, source }
        }), { concurrency })
      const tally = Tally.make()
      // Each opening of a source reads the file checked above (same inode and size) and no more than its size.
      // Its digest was checked just above, so the upload does not hash it a second time (`verifyDigest:
      // false`; the size is still counted): a file rewritten in place since then is refused by the registry,
      // which checks the digest of what it received before it stores the blob.
      yield* Effect.forEach(sources, ({ blob, source }) =>
        Tally.transfer(tally, blob.digest, source.size, (wrap) =>
          client.uploadBlob(repository, blob.digest, Tally.wrapSource(source, wrap), {
            size: source.size,
            verifyDigest: false
          }).pipe(
            Effect.map((result) =>
              result.skipped ? "Existed" : result.mounted ? "Mounted" : "Transferred"
            )
          )), { concurrency, discard: true })
      for (const m of graph.manifests) {
        if (m === top) {
          continue
        }
        yield* client.putManifest(repository, m.digest, m)
      }
      const digest = yield* client.putManifest(repository, tag ?? top.digest, top)
      yield* Tally.imageDone(tally, digest)
      return digest
    }).pipe(Effect.withSpan("OciLayout.push", { attributes: { dir, repository, tag } }))
  )

/**
 * Options of {@link pull}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullOptions {
  /** The ref name of the new `index.json` entry. Default: the reference when it is a tag; none for a digest. */
  readonly ref?: string | undefined
  /**
   * From an index, take only the manifest for this platform (chosen with
   * `Platform.select`); that image becomes the layout entry. Default: the
   * index with all its children.
   */
  readonly platform?: Platform.Platform | undefined
  /** Blobs downloaded at once. Default 4. */
  readonly concurrency?: number | undefined
  /**
   * Flush every blob to disk (`fsync`) before renaming it into place. Default `true`. With `false` the
   * writes stay atomic (a blob file is complete or absent) but a crash soon after the pull may lose
   * blobs, which a repeated pull fetches again; saves a disk flush per blob.
   */
  readonly fsync?: boolean | undefined
}

/**
 * What {@link pull} wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullResult {
  /** The `index.json` entry added. */
  readonly descriptor: Descriptor.Descriptor
  readonly digest: Digest.Digest
  readonly refName: string | undefined
  /** Every manifest written (children first) and blob count. */
  readonly manifests: number
  readonly blobs: number
  /**
   * Blobs and manifests the layout held with other bytes (or as a symbolic link or special file), which
   * were downloaded again and replaced.
   */
  readonly replaced: ReadonlyArray<Digest.Digest>
}

/**
 * @since 0.1.0
 * @category errors
 */
export type PullError =
  | OciLayoutError
  | BlobFile.BlobFileError
  | RegistryClient.BlobError
  | RegistryClient.ManifestError
  | RegistryError.DigestMismatch
  | RegistryError.SizeMismatch

/**
 * Pulls a manifest (any kind) with everything it references into a layout
 * directory (created when missing): blobs downloaded into `blobs/` (at most
 * `concurrency` at once, each verified and renamed into place only when
 * complete; a file already there is kept only when it hashes to its digest,
 * else it is downloaded again and replaced, see `PullResult.replaced`), the children of an index (all, or
 * the one for `platform`), the manifests' exact bytes as blobs, and an entry
 * added to `index.json` with the ref name (an older entry of the same name
 * loses it, as skopeo does).
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { OciLayout } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const pulled = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   OciLayout.pull(client, "team/app", "v1", "./image")
 * )
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const pull = (
  client: RegistryClient.Service,
  repository: string,
  reference: string,
  dir: string,
  options?: PullOptions
): Effect.Effect<PullResult, PullError> =>
  withNode(
    Effect.gen(function*() {
      yield* Effect.mapError(Files.ensureLayout(dir), fromFailure)
      const first = yield* client.getManifest(repository, reference)
      let top = first
      if (Manifest.isIndex(first) && options?.platform !== undefined) {
        const chosen = Platform.select(first.manifest, options.platform)
        if (Option.isNone(chosen)) {
          return yield* new OciLayoutError({
            reason: "PlatformNotFound",
            digest: first.digest,
            detail: Platform.format(options.platform)
          })
        }
        top = yield* client.getManifest(repository, chosen.value.digest)
      }
      const graph = yield* Graph.walk(top, (d) => client.getManifest(repository, d.digest))
      const fs = yield* FileSystem.FileSystem
      const tally = Tally.make()
      const makeDir = (path: string) =>
        fs.makeDirectory(Path.dirname(path), { recursive: true }).pipe(
          Effect.mapError((cause) => new OciLayoutError({ reason: "Write", path: Path.dirname(path), cause }))
        )
      // Blobs already in the layout are kept only when they hash to their digest; any other file there (other
      // bytes, a symbolic link) is replaced by a verified download, atomically.
      const replaced: Array<Digest.Digest> = []
      const present = (digest: Digest.Digest, size: number | undefined) =>
        Effect.mapError(Files.checkExisting(dir, digest, size), fromFailure).pipe(
          Effect.map((found) => {
            if (found === "Wrong") replaced.push(digest)
            return found === "Valid"
          })
        )
      yield* Effect.forEach(graph.blobs, (blob) => {
        const path = Files.blobPath(dir, blob.digest)
        return Tally.transfer(tally, blob.digest, blob.size, (wrap) =>
          Effect.gen(function*() {
            if (yield* present(blob.digest, blob.size)) return "Existed" as const
            yield* makeDir(path)
            // the downloaded pieces go to the file alone: the writer frees each once copied
            const pieces = BlobSource.releasedOnceWritten(
              wrap(client.downloadBlob(repository, blob.digest, { size: blob.size }))
            )
            yield* BlobFile.writeAtomic(path, pieces, {
              digest: blob.digest,
              size: blob.size,
              fsync: options?.fsync,
              // downloadBlob verifies the digest itself and fails before its end on a mismatch
              verified: true
            })
            return "Transferred" as const
          }))
      }, { concurrency: Math.max(1, options?.concurrency ?? 4), discard: true })
      let topDigest = top.digest
      for (const m of graph.manifests) {
        // The file is named after the hash of its bytes (for signed schema 1 it differs from the manifest digest).
        const digest = m.kind === "schema1" ? yield* Hash.digestBytes(m.bytes) : m.digest
        if (m === top) topDigest = digest
        const path = Files.blobPath(dir, digest)
        if (yield* present(digest, m.bytes.length)) continue
        yield* makeDir(path)
        yield* BlobFile.writeAtomic(path, Stream.make(m.bytes), { digest, size: m.bytes.length, fsync: options?.fsync })
      }
      const refName = options?.ref ?? (Digest.isDigest(reference) ? undefined : reference)
      const entry: Record<string, unknown> = {
        mediaType: top.mediaType,
        digest: topDigest,
        size: top.bytes.length,
        ...(refName !== undefined ? { annotations: { [Files.RefName]: refName } } : {})
      }
      const current = yield* Effect.mapError(Files.readIndex(dir), fromFailure)
      yield* Effect.mapError(Files.writeIndex(dir, Files.addEntry(current, entry, topDigest)), fromFailure)
      yield* Tally.imageDone(tally, top.digest)
      const descriptor: Descriptor.Descriptor = {
        mediaType: top.mediaType,
        digest: topDigest,
        size: top.bytes.length,
        ...(refName !== undefined ? { annotations: { [Files.RefName]: refName } } : {})
      }
      return {
        descriptor,
        digest: top.digest,
        refName,
        manifests: graph.manifests.length,
        blobs: graph.blobs.length,
        replaced
      }
    }).pipe(Effect.withSpan("OciLayout.pull", { attributes: { dir, repository, reference } }))
  )
