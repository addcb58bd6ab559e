import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import * as Manifest from "@effect-registry/core/Manifest"
import * as ManifestBuilder from "@effect-registry/core/ManifestBuilder"
import * as MediaType from "@effect-registry/core/MediaType"
import * as Platform from "@effect-registry/core/Platform"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ArchiveError, fromTar } from "./archiveError.js"
import type { ExportOptions, ExportResult, ImportOptions, ImportResult } from "./dockerArchiveTypes.js"
import * as Gunzip from "./gunzip.js"
import * as Tar from "./tarFile.js"

/** Bounds of the members read whole: `manifest.json` and an image config. @internal */
export const MaxManifestJsonBytes = Manifest.DefaultMaxSize
/** @internal */
export const MaxConfigBytes = 4 * Manifest.DefaultMaxSize

/** The media type of an uncompressed Docker layer (schema 2). @internal */
export const DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

/** The kind of an archive: by its members. */
export type Kind = "oci-archive" | "docker-archive" | "none"

/**
 * An OCI layout in a tar (`oci-layout` and `index.json`, as skopeo's `oci-archive:` and Docker 25's
 * `docker save` write), else a `docker save` archive (`manifest.json`), else none.
 *
 * @internal
 */
export const kindOf = (index: Tar.Index): Kind =>
  index.entries.has("oci-layout") && index.entries.has("index.json")
    ? "oci-archive"
    : index.entries.has("manifest.json")
    ? "docker-archive"
    : "none"

/** @internal */
export const detect = (path: string): Effect.Effect<Kind, ArchiveError> =>
  Effect.scoped(Effect.map(Effect.mapError(Tar.scan(path), fromTar), kindOf))

const parseJson = (bytes: Uint8Array): Either.Either<unknown, unknown> =>
  Either.try(() => JSON.parse(new TextDecoder().decode(bytes)) as unknown)

const isStrings = (u: unknown): u is ReadonlyArray<string> => Array.isArray(u) && u.every(Predicate.isString)

/** The `rootfs.diff_ids` of an image config, when it has valid ones. */
const diffIdsOf = (config: unknown): ReadonlyArray<Digest.Digest> | undefined => {
  if (!Predicate.isRecord(config) || !Predicate.isRecord(config["rootfs"])) return undefined
  const ids = config["rootfs"]["diff_ids"]
  return isStrings(ids) && ids.every(Digest.isDigest) ? ids : undefined
}

const gunzip = <E, R>(self: Stream.Stream<Uint8Array, E, R>, path: string | undefined, entry: string) =>
  Gunzip.gunzip(
    self,
    (cause) => new ArchiveError({ reason: "Invalid", path, entry, detail: "bad gzip data", cause })
  )

// A member's bytes from `offset` on, into `buffer()` when given (see `Tar.open`), its errors as `ArchiveError`s.
const memberBytes = (index: Tar.Index, entry: Tar.Entry, offset = 0, buffer?: () => Uint8Array) =>
  Stream.mapError(Tar.open(index, entry, offset, buffer), fromTar)

// A member as an upload source, which the client may read into buffers it reuses.
const sourceOf = (index: Tar.Index, entry: Tar.Entry) =>
  BlobSource.reopenableInto(
    (offset) => memberBytes(index, entry, offset),
    (offset, buffer) => memberBytes(index, entry, offset, buffer)
  )

const layerCompression = (mediaType: string): "gzip" | "none" | undefined =>
  mediaType === MediaType.DockerLayerGzip || mediaType === MediaType.DockerLayerForeignGzip ||
    mediaType === MediaType.OciLayerGzip || mediaType === MediaType.OciLayerNondistributableGzip
    ? "gzip"
    : mediaType === DockerLayerTar || mediaType === MediaType.OciLayerTar ||
        mediaType === MediaType.OciLayerNondistributableTar
    ? "none"
    : undefined

// --- export --------------------------------------------------------------------------------------------------

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export type ExportError =
  | ArchiveError
  | RegistryClient.GetManifestError
  | RegistryClient.DownloadBlobError

/**
 * The image a reference names: itself, or the child of an index for `platform`.
 *
 * @internal
 */
export const resolveImage = (
  client: RegistryClient.Service,
  repository: string,
  reference: string,
  platform: Platform.Platform | undefined
): Effect.Effect<Manifest.Image, ArchiveError | RegistryClient.GetManifestError> =>
  Effect.gen(function*() {
    const top = yield* client.getManifest(repository, reference)
    if (Manifest.isImage(top)) return top
    const candidates = top.manifest.manifests.flatMap((m) =>
      m.platform !== undefined ? [Platform.format(m.platform)] : []
    )
    if (platform === undefined) {
      return yield* new ArchiveError({
        reason: "PlatformNotFound",
        detail: `${repository}:${reference} is an index; an archive holds one image`,
        candidates
      })
    }
    const chosen = Platform.select(top.manifest, platform)
    if (Option.isNone(chosen)) {
      return yield* new ArchiveError({ reason: "PlatformNotFound", detail: Platform.format(platform), candidates })
    }
    const child = yield* client.getManifest(repository, chosen.value.digest)
    if (Manifest.isImage(child)) return child
    return yield* new ArchiveError({ reason: "Unsupported", detail: "an index inside an index" })
  })

/**
 * Writes the image as `docker save` and skopeo's `docker-archive:` do: layers uncompressed as
 * `<diff id hex>.tar` (a gzip layer is decompressed as it is written, and every layer is checked against
 * the config's `rootfs.diff_ids`), the config as `<digest hex>.json`, then `manifest.json`.
 *
 * @internal
 */
export const exportImage = (
  client: RegistryClient.Service,
  image: ExportOptions,
  path: string
): Effect.Effect<ExportResult, ExportError, FileSystem.FileSystem | Hash.Hash> =>
  Effect.gen(function*() {
    const { reference, repository } = image
    const m = yield* resolveImage(client, repository, reference, image.platform)
    if (m.kind === "schema1") {
      return yield* new ArchiveError({
        reason: "Unsupported",
        detail: "a schema 1 manifest has no image config to put in an archive"
      })
    }
    const { config, layers } = m.manifest
    if (Manifest.isUnsetConfig(config)) {
      return yield* new ArchiveError({ reason: "Unsupported", detail: "an image manifest without a config" })
    }
    if (config.size > MaxConfigBytes) {
      return yield* new ArchiveError({
        reason: "Invalid",
        detail: `an image config of ${config.size} bytes; the limit is ${MaxConfigBytes}`
      })
    }
    const configBytes = yield* BlobSource.collectBytesAtMost(
      client.downloadBlob(repository, config.digest, { size: config.size }),
      config.size,
      () => new ArchiveError({ reason: "Invalid", detail: "the image config is larger than its descriptor says" })
    )
    const configJson = parseJson(configBytes)
    const diffIds = Either.isRight(configJson) ? diffIdsOf(configJson.right) : undefined
    if (diffIds === undefined || diffIds.length !== layers.length) {
      return yield* new ArchiveError({
        reason: "Invalid",
        detail: `the image config ${config.digest} does not list one rootfs.diff_ids entry per layer`
      })
    }
    const kinds = yield* Effect.forEach(layers, (layer) => {
      const kind = layerCompression(layer.mediaType)
      return kind !== undefined ? Effect.succeed(kind) : Effect.fail(
        new ArchiveError({
          reason: "Unsupported",
          detail: `layer ${layer.digest} of type ${layer.mediaType}: a docker archive holds uncompressed or gzip ` +
            "layers only; write an OCI archive instead"
        })
      )
    })
    const repoTags = image.repoTags ??
      (Digest.isDigest(reference) ? [] : [`${repository}:${reference}`])
    const names = diffIds.map((d) => `${Digest.encoded(d)}.tar`)
    const configName = `${Digest.encoded(config.digest)}.json`
    yield* Effect.mapError(
      Tar.write(path, (writer) =>
        Effect.gen(function*() {
          const written = new Set<string>()
          for (let i = 0; i < layers.length; i++) {
            if (written.has(names[i])) continue
            written.add(names[i])
            const layer = layers[i]
            // the pieces are the writer's alone: freed once inflated, or once copied into the archive's buffers
            const raw = BlobSource.releasedOnceWritten(
              client.downloadBlob(repository, layer.digest, { size: layer.size })
            )
            const plain = kinds[i] === "gzip" ? gunzip(raw, undefined, layer.digest) : raw
            yield* writer.stream(
              names[i],
              Hash.tap(plain, Digest.algorithm(diffIds[i]), (actual) =>
                actual === diffIds[i] ? Effect.void : Effect.fail(
                  new ArchiveError({
                    reason: "DigestMismatch",
                    entry: names[i],
                    detail: `layer ${layer.digest} decompresses to ${actual}; the config says ${diffIds[i]}`
                  })
                ))
            )
          }
          yield* writer.bytes(configName, configBytes)
          const manifestJson = [{ Config: configName, RepoTags: repoTags, Layers: names }]
          yield* writer.bytes("manifest.json", new TextEncoder().encode(JSON.stringify(manifestJson)))
        })),
      (e) => "_tag" in e ? e : fromTar(e)
    )
    return { path, manifest: m.digest, config: config.digest, diffIds, repoTags }
  })

// --- import --------------------------------------------------------------------------------------------------

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export type ImportError = ArchiveError | RegistryClient.UploadBlobError | RegistryClient.PutManifestError

interface SaveEntry {
  readonly Config: string
  readonly RepoTags: ReadonlyArray<string>
  readonly Layers: ReadonlyArray<string>
}

const decodeManifestJson = (bytes: Uint8Array): ReadonlyArray<SaveEntry> | undefined => {
  const json = parseJson(bytes)
  if (Either.isLeft(json) || !Array.isArray(json.right)) return undefined
  const out: Array<SaveEntry> = []
  for (const e of json.right as ReadonlyArray<unknown>) {
    if (!Predicate.isRecord(e) || !Predicate.isString(e["Config"]) || !isStrings(e["Layers"])) return undefined
    const tags = e["RepoTags"]
    if (tags !== undefined && tags !== null && !isStrings(tags)) return undefined
    out.push({ Config: e["Config"], RepoTags: isStrings(tags) ? tags : [], Layers: e["Layers"] })
  }
  return out
}

// "app:1" matches what Docker and skopeo write for it: "app:1", "docker.io/app:1", "docker.io/library/app:1".
const matchesTag = (repoTag: string, wanted: string): boolean =>
  repoTag === wanted || repoTag === `docker.io/${wanted}` || repoTag === `docker.io/library/${wanted}`

const selectEntry = (
  path: string,
  entries: ReadonlyArray<SaveEntry>,
  wanted: string | undefined
): Effect.Effect<SaveEntry, ArchiveError> => {
  const candidates = entries.flatMap((e, i) => e.RepoTags.length > 0 ? e.RepoTags : [`(untagged image ${i + 1})`])
  if (wanted !== undefined) {
    const found = entries.find((e) => e.RepoTags.some((t) => matchesTag(t, wanted)))
    return found !== undefined
      ? Effect.succeed(found)
      : Effect.fail(new ArchiveError({ reason: "ImageNotFound", path, detail: wanted, candidates }))
  }
  if (entries.length === 1) return Effect.succeed(entries[0])
  return Effect.fail(
    new ArchiveError({
      reason: entries.length === 0 ? "Invalid" : "Ambiguous",
      path,
      entry: "manifest.json",
      ...(entries.length === 0 ? { detail: "no image" } : { candidates })
    })
  )
}

const member = (index: Tar.Index, name: string): Effect.Effect<Tar.Entry, ArchiveError> =>
  Effect.flatMap(Effect.mapError(Tar.resolve(index, name), fromTar), (entry) =>
    entry !== undefined
      ? Effect.succeed(entry)
      : Effect.fail(new ArchiveError({ reason: "EntryMissing", path: index.path, entry: name })))

// The compression of a layer, by its first bytes.
const sniff = (index: Tar.Index, entry: Tar.Entry): Effect.Effect<"gzip" | "zstd" | "none", ArchiveError> =>
  Effect.map(
    Effect.mapError(Stream.runHead(Tar.open(index, entry)), fromTar),
    (head) => {
      const b = Option.getOrElse(head, () => new Uint8Array(0))
      return b[0] === 0x1f && b[1] === 0x8b
        ? "gzip"
        : b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd
        ? "zstd"
        : "none"
    }
  )

/**
 * Reads the image of a `docker save` archive, checks everything (every member a regular file of the
 * archive or a link inside it, every layer matching the config's `rootfs.diff_ids`) before the first byte
 * is sent, then pushes the config, the layers as they are in the archive (gzip as
 * `…rootfs.diff.tar.gzip`, uncompressed as `…rootfs.diff.tar`) and a schema 2 manifest.
 *
 * @internal
 */
export const importImage = (
  path: string,
  client: RegistryClient.Service,
  image: ImportOptions
): Effect.Effect<ImportResult, ImportError, Hash.Hash | Scope.Scope> =>
  Effect.gen(function*() {
    const index = yield* Effect.mapError(Tar.scan(path), fromTar)
    const kind = kindOf(index)
    if (!index.entries.has("manifest.json")) {
      return yield* new ArchiveError({
        reason: "NotAnArchive",
        path,
        detail: kind === "oci-archive"
          ? "no manifest.json: this is an OCI archive (an OCI layout in a tar); import it as one"
          : "no manifest.json: not a `docker save` archive"
      })
    }
    const manifestEntry = yield* member(index, "manifest.json")
    const manifestBytes = yield* Effect.mapError(Tar.readAll(index, manifestEntry, MaxManifestJsonBytes), fromTar)
    const entries = decodeManifestJson(manifestBytes)
    if (entries === undefined) {
      return yield* new ArchiveError({
        reason: "Invalid",
        path,
        entry: "manifest.json",
        detail: "not a list of {Config, RepoTags, Layers}"
      })
    }
    const chosen = yield* selectEntry(path, entries, image.select)
    const configEntry = yield* member(index, chosen.Config)
    const configBytes = yield* Effect.mapError(Tar.readAll(index, configEntry, MaxConfigBytes), fromTar)
    const configDigest = yield* Hash.digestBytes(configBytes)
    const configJson = parseJson(configBytes)
    const diffIds = Either.isRight(configJson) ? diffIdsOf(configJson.right) : undefined
    if (diffIds === undefined || diffIds.length !== chosen.Layers.length) {
      return yield* new ArchiveError({
        reason: "Invalid",
        path,
        entry: chosen.Config,
        detail: "the image config does not list one rootfs.diff_ids entry per layer of manifest.json"
      })
    }
    const concurrency = Math.max(1, image.concurrency ?? 4)
    // every layer is read and checked before anything is sent
    const layers = yield* Effect.forEach(chosen.Layers, (name, i) =>
      Effect.gen(function*() {
        const entry = yield* member(index, name)
        const compression = yield* sniff(index, entry)
        if (compression === "zstd") {
          return yield* new ArchiveError({
            reason: "Unsupported",
            path,
            entry: name,
            detail: "a zstd layer, which a schema 2 image cannot hold"
          })
        }
        let rawDigest: Digest.Digest | undefined
        // an uncompressed layer is hashed piece by piece into two buffers used in turn; a gzip one goes through
        // zlib, which may still hold a piece when the next is read: new buffers there
        const diff = compression === "gzip"
          ? yield* Hash.digestOf(
            gunzip(Hash.tap(memberBytes(index, entry), "sha256", (d) => Effect.sync(() => rawDigest = d)), path, name),
            Digest.algorithm(diffIds[i])
          )
          : yield* Hash.digestOf(
            memberBytes(index, entry, 0, BlobSource.bufferRing(2, Tar.PieceBytes)),
            Digest.algorithm(diffIds[i])
          )
        if (diff.digest !== diffIds[i]) {
          return yield* new ArchiveError({
            reason: "DigestMismatch",
            path,
            entry: name,
            detail: `its content hashes to ${diff.digest}; the image config says ${diffIds[i]}`
          })
        }
        const digest = compression === "gzip" ? rawDigest : diff.digest
        if (digest === undefined) {
          return yield* new ArchiveError({ reason: "Invalid", path, entry: name, detail: "bad gzip data" })
        }
        const descriptor: Descriptor.Descriptor = {
          mediaType: compression === "gzip" ? MediaType.DockerLayerGzip : DockerLayerTar,
          digest,
          size: entry.size
        }
        return { descriptor, entry }
      }), { concurrency })
    const manifest = yield* ManifestBuilder.schema2({
      config: { mediaType: MediaType.DockerContainerConfig, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => l.descriptor)
    }).pipe(Effect.mapError((cause) => new ArchiveError({ reason: "Invalid", path, detail: cause.message, cause })))
    const { repository } = image
    yield* client.uploadBlob(repository, configDigest, BlobSource.fromBytes(configBytes), { size: configBytes.length })
    const unique = new Map(layers.map((l) => [l.descriptor.digest, l] as const))
    yield* Effect.forEach(unique.values(), ({ descriptor, entry }) =>
      client.uploadBlob(repository, descriptor.digest, sourceOf(index, entry), { size: entry.size }), {
      concurrency,
      discard: true
    })
    const digest = yield* client.putManifest(repository, image.tag ?? manifest.digest, manifest)
    return {
      manifest: digest,
      config: configDigest,
      layers: layers.map((l) =>
        l.descriptor
      ),
      repoTags: chosen.RepoTags
    }
  })
