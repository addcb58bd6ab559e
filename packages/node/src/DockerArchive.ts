/**
 * Docker archives: the tar that `docker save` writes and `docker load` reads, as skopeo's
 * `docker-archive:` transport writes and reads it. `manifest.json` lists the images
 * (`[{"Config": "<hex>.json", "RepoTags": ["name:tag"], "Layers": ["<hex>.tar", …]}]`), the image
 * config and the layers are members of the tar.
 *
 * {@link exportImage} (`export`) writes one image of a registry into an archive; {@link importImage}
 * (`import`) pushes one image of an archive to a registry as a schema 2 image. The archive is read in
 * place, never extracted: layers are streamed from their members. Links inside the archive are resolved
 * only to members of the archive, never followed out of it.
 *
 * @since 0.1.0
 */
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ArchiveError } from "./internal/archiveError.js"
import * as Internal from "./internal/dockerArchive.js"
import type { ExportOptions, ExportResult, ImportOptions, ImportResult } from "./internal/dockerArchiveTypes.js"
import * as NodeHash from "./NodeHash.js"

export type {
  /** @since 0.1.0 */
  ExportOptions,
  /** @since 0.1.0 */
  ExportResult,
  /** @since 0.1.0 */
  ImportOptions,
  /** @since 0.1.0 */
  ImportResult
} from "./internal/dockerArchiveTypes.js"

export {
  /**
   * Why an archive could not be exported or imported (see `reason`).
   *
   * @since 0.1.0
   * @category errors
   */
  ArchiveError
}

/**
 * What an archive holds: `"oci-archive"` (an OCI layout in a tar: `oci-layout` and `index.json`, as
 * skopeo's `oci-archive:` writes; Docker 25 and later write these members too, besides
 * `manifest.json`), `"docker-archive"` (a `docker save` archive: `manifest.json`), or `"none"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = Internal.Kind

/**
 * The kind of the tar archive at `path` (its headers are read, not its data). Fails with `NotATar` when
 * the file is not a tar.
 *
 * @example
 * ```ts
 * import { DockerArchive } from "@effect-registry/node"
 *
 * const kind = DockerArchive.detect("./image.tar") // "oci-archive" | "docker-archive" | "none"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const detect = (path: string): Effect.Effect<Kind, ArchiveError> =>
  Effect.provide(Internal.detect(path), NodeFileSystem.layer)

/**
 * The limits of the members read whole: `manifest.json` (4 MiB) and an image config (16 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = { manifestJson: Internal.MaxManifestJsonBytes, config: Internal.MaxConfigBytes } as const

const NodeServices = Layer.merge(NodeFileSystem.layer, NodeHash.layer)

/**
 * @since 0.1.0
 * @category errors
 */
export type ExportError = Internal.ExportError

/**
 * Writes one image of a registry to `tarPath` as `docker save` and skopeo's `docker-archive:` do:
 * every layer uncompressed as `<diff id hex>.tar` (gzip layers are decompressed on the way, and each
 * layer must hash to its entry of the config's `rootfs.diff_ids`), the config as `<hex>.json`, and
 * `manifest.json`. `docker load` and `skopeo copy docker-archive:…` read it. Layers stream from the
 * registry to the file, never whole in memory. The archive appears at `tarPath` only when complete
 * (written beside it and renamed); a failure leaves `tarPath` as it was.
 *
 * Only uncompressed and gzip layers fit a docker archive: other ones fail with `Unsupported` (write an
 * OCI archive instead). An index needs `platform`.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { DockerArchive } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const saved = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   DockerArchive.exportImage(client, { repository: "team/app", reference: "v1" }, "./app.tar")
 * )
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const exportImage = (
  client: RegistryClient.Service,
  image: ExportOptions,
  tarPath: string
): Effect.Effect<ExportResult, ExportError> =>
  Internal.exportImage(client, image, tarPath).pipe(
    Effect.withSpan("DockerArchive.export", {
      attributes: { repository: image.repository, reference: image.reference, path: tarPath }
    }),
    Effect.provide(NodeServices)
  )

/**
 * @since 0.1.0
 * @category errors
 */
export type ImportError = Internal.ImportError

/**
 * Pushes one image of a `docker save` archive (as `docker save` and `skopeo copy … docker-archive:`
 * write it, with members `<id>/layer.tar` or `blobs/sha256/<hex>`) to `repository`, as a schema 2 image.
 *
 * Everything is checked before the first byte is sent: the tar's headers (a truncated or damaged archive,
 * or a member named outside it, fails), `manifest.json` and the config (bounded reads, see
 * {@link limits}), every member they name (present, a regular file or a link to one inside the archive),
 * and every layer's content against the config's `rootfs.diff_ids` (gzip layers are decompressed to hash
 * them). Then the config, the layers as they are in the archive (gzip ones as
 * `application/vnd.docker.image.rootfs.diff.tar.gzip`, uncompressed ones as
 * `application/vnd.docker.image.rootfs.diff.tar`; streamed from the archive, re-read on a retry) and the
 * manifest, under `tag`. The registry checks each blob's digest as it arrives.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { DockerArchive } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const loaded = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   DockerArchive.importImage("./app.tar", client, { repository: "team/app", tag: "v1" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const importImage = (
  tarPath: string,
  client: RegistryClient.Service,
  image: ImportOptions
): Effect.Effect<ImportResult, ImportError> =>
  Internal.importImage(tarPath, client, image).pipe(
    Effect.scoped,
    Effect.withSpan("DockerArchive.import", { attributes: { repository: image.repository, path: tarPath } }),
    Effect.provide(NodeServices)
  )

export {
  /**
   * {@link exportImage} under its short name.
   *
   * @since 0.1.0
   * @category operations
   */
  exportImage as export,
  /**
   * {@link importImage} under its short name.
   *
   * @since 0.1.0
   * @category operations
   */
  importImage as import
}
