/**
 * Build a multi-platform index from images already in a registry (what
 * `docker manifest create` and `docker buildx imagetools create` do), and add
 * images to an existing index. Each entry's platform is read from the image's
 * config (`os`, `architecture`, `variant`, `os.version`, `os.features`). An
 * image from another repository of the same registry is copied in first
 * (blobs mounted). Only manifests and configs are read: no layer moves.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as BlobSource from "./BlobSource.js"
import type * as Descriptor from "./Descriptor.js"
import type * as Digest from "./Digest.js"
import * as ImageCopy from "./ImageCopy.js"
import * as Manifest from "./Manifest.js"
import * as ManifestBuilder from "./ManifestBuilder.js"
import * as Platform from "./Platform.js"
import type * as RegistryClient from "./RegistryClient.js"
import * as RegistryError from "./RegistryError.js"

/**
 * An image to put in an index: a tag or digest of `repository` (default: the
 * index's repository).
 *
 * @since 0.2.0
 * @category models
 */
export interface Source {
  readonly repository?: string | undefined
  readonly reference: string
}

/**
 * @since 0.2.0
 * @category models
 */
export interface CreateOptions {
  /** `oci` (an OCI image index, the default) or `docker` (a Docker manifest list). */
  readonly format?: "oci" | "docker" | undefined
  /** Annotations of an OCI index. */
  readonly annotations?: Readonly<Record<string, string>> | undefined
  /** The tag to push the index under. Default: by digest only. */
  readonly tag?: string | undefined
}

/**
 * What {@link create} or {@link add} pushed.
 *
 * @since 0.2.0
 * @category models
 */
export interface Result {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly tag: string | undefined
  readonly manifests: ReadonlyArray<Descriptor.Descriptor>
}

/**
 * An image cannot go into an index: it is itself an index (`NotAnImage`), its
 * config says no platform (`NoPlatform`), the thing to add to is not an index
 * (`NotAnIndex`), or no image was given (`Empty`).
 *
 * @since 0.2.0
 * @category errors
 */
export class IndexEditError extends Data.TaggedError("IndexEditError")<{
  readonly reason: "NotAnImage" | "NoPlatform" | "NotAnIndex" | "Empty"
  readonly reference?: string | undefined
  readonly detail: string
}> {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `${this.reason}${this.reference !== undefined ? ` (${this.reference})` : ""}: ${this.detail}`
  }
}

/**
 * @since 0.2.0
 * @category errors
 */
export type EditError =
  | IndexEditError
  | ImageCopy.CopyError
  | RegistryClient.GetManifestError
  | RegistryClient.DownloadBlobError
  | RegistryClient.PutManifestError
  | RegistryError.ManifestInvalid
  | RegistryError.SizeMismatch

const platformOf = (
  client: RegistryClient.Service,
  repository: string,
  m: Manifest.Image,
  reference: string
): Effect.Effect<Platform.Platform, EditError> =>
  Effect.gen(function*() {
    if (m.kind === "schema1") {
      return { os: "linux", architecture: m.manifest.architecture }
    }
    const config = m.manifest.config
    if (config.size > Manifest.DefaultMaxSize) {
      return yield* new RegistryError.ManifestInvalid({
        reason: "TooLarge",
        repository,
        digest: config.digest,
        detail: `the config blob is ${config.size} bytes, the limit is ${Manifest.DefaultMaxSize}`
      })
    }
    const bytes = yield* BlobSource.collectBytesAtMost(
      client.downloadBlob(repository, config.digest, { size: config.size }),
      config.size,
      (received) =>
        new RegistryError.SizeMismatch({
          repository,
          digest: config.digest,
          expected: config.size,
          actual: received,
          detail: "the registry sent more bytes than the descriptor says (reading stopped there)"
        })
    )
    const decoded = yield* Manifest.decodeImageConfig(bytes).pipe(
      Effect.mapError(() =>
        new IndexEditError({
          reason: "NoPlatform",
          reference,
          detail: "its config is not an image config with os and architecture; only images go in an index"
        })
      )
    )
    return Platform.normalize({
      os: decoded.os,
      architecture: decoded.architecture,
      ...(decoded.variant !== undefined ? { variant: decoded.variant } : {}),
      ...(decoded["os.version"] !== undefined ? { "os.version": decoded["os.version"] } : {}),
      ...(decoded["os.features"] !== undefined ? { "os.features": decoded["os.features"] } : {})
    })
  })

/** The descriptor, with platform, of an image in `repository`, copied there first when it lives elsewhere. */
const entryOf = (
  client: RegistryClient.Service,
  repository: string,
  source: Source
): Effect.Effect<Descriptor.Descriptor, EditError> =>
  Effect.gen(function*() {
    const from = source.repository ?? repository
    const label = `${from}:${source.reference}`
    const m = yield* client.getManifest(from, source.reference)
    if (Manifest.isIndex(m)) {
      return yield* new IndexEditError({
        reason: "NotAnImage",
        reference: label,
        detail: "it is an index; name its images (by digest) instead"
      })
    }
    if (from !== repository) {
      yield* ImageCopy.copy({
        from: { client, repository: from, reference: m.digest },
        to: { client, repository }
      })
    }
    const platform = yield* platformOf(client, from, m, label)
    return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, platform }
  })

const build = (
  format: "oci" | "docker",
  manifests: ReadonlyArray<Descriptor.Descriptor>,
  extra: {
    readonly annotations?: Readonly<Record<string, string>> | undefined
    readonly subject?: Descriptor.Descriptor | undefined
    readonly artifactType?: string | undefined
  }
): Effect.Effect<Manifest.Index, RegistryError.ManifestInvalid> =>
  format === "docker"
    ? ManifestBuilder.manifestList({ manifests })
    : ManifestBuilder.ociIndex({ manifests, ...extra })

const push = (
  client: RegistryClient.Service,
  repository: string,
  index: Manifest.Index,
  tag: string | undefined
): Effect.Effect<Result, EditError> =>
  Effect.map(client.putManifest(repository, tag ?? index.digest, index), (digest) => ({
    digest,
    mediaType: index.mediaType,
    tag,
    manifests: Manifest.children(index)
  }))

/**
 * Builds an index of the images `sources` and pushes it to `repository`
 * (under `options.tag`, else by digest). Each image is an entry with the
 * platform its config says, in the order given; an image named twice is one
 * entry.
 *
 * @example
 * ```ts
 * import { IndexEdit, RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const multi = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   IndexEdit.create(client, "team/app", [{ reference: "v1-amd64" }, { reference: "v1-arm64" }], { tag: "v1" })
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const create = (
  client: RegistryClient.Service,
  repository: string,
  sources: ReadonlyArray<Source>,
  options?: CreateOptions
): Effect.Effect<Result, EditError> =>
  Effect.gen(function*() {
    if (sources.length === 0) {
      return yield* new IndexEditError({ reason: "Empty", detail: "name at least one image to put in the index" })
    }
    const entries = yield* Effect.forEach(sources, (s) => entryOf(client, repository, s), { concurrency: 4 })
    const unique = entries.filter((d, i) => entries.findIndex((e) => e.digest === d.digest) === i)
    const index = yield* build(options?.format ?? "oci", unique, { annotations: options?.annotations })
    return yield* push(client, repository, index, options?.tag)
  }).pipe(Effect.withSpan("IndexEdit.create", { attributes: { repository } }))

/**
 * Adds the images `sources` to the index `reference` of `repository` and
 * pushes the new index: an entry for the same platform as an added image is
 * replaced by it, the others are kept as they are (with their annotations),
 * and the index keeps its kind, annotations and subject. Pushed under
 * `options.tag`, else under `reference` when it is a tag, else by digest.
 *
 * @example
 * ```ts
 * import { IndexEdit, RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const grown = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   IndexEdit.add(client, "team/app", "v1", [{ reference: "v1-riscv64" }])
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const add = (
  client: RegistryClient.Service,
  repository: string,
  reference: string,
  sources: ReadonlyArray<Source>,
  options?: { readonly tag?: string | undefined }
): Effect.Effect<Result, EditError> =>
  Effect.gen(function*() {
    if (sources.length === 0) {
      return yield* new IndexEditError({ reason: "Empty", detail: "name at least one image to add" })
    }
    const current = yield* client.getManifest(repository, reference)
    if (!Manifest.isIndex(current)) {
      return yield* new IndexEditError({
        reason: "NotAnIndex",
        reference: `${repository}:${reference}`,
        detail: "it is an image; make an index of it with create"
      })
    }
    const added = yield* Effect.forEach(sources, (s) => entryOf(client, repository, s), { concurrency: 4 })
    const samePlatform = (a: Descriptor.Descriptor, b: Descriptor.Descriptor) =>
      a.platform !== undefined && b.platform !== undefined &&
      Platform.format(Platform.normalize(a.platform)) === Platform.format(Platform.normalize(b.platform))
    const kept = Manifest.children(current).filter((d) =>
      !added.some((a) => a.digest === d.digest || samePlatform(a, d))
    )
    const fresh = added.filter((d, i) => added.findIndex((e) => e.digest === d.digest) === i)
    const manifests = [...kept, ...fresh]
    const index = current.kind === "list"
      ? yield* build("docker", manifests, {})
      : yield* build("oci", manifests, {
        annotations: current.manifest.annotations,
        subject: current.manifest.subject,
        artifactType: current.manifest.artifactType
      })
    const tag = options?.tag ?? (reference.includes(":") ? undefined : reference)
    return yield* push(client, repository, index, tag)
  }).pipe(Effect.withSpan("IndexEdit.add", { attributes: { repository, reference } }))
