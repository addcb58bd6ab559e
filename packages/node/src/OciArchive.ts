/**
 * OCI archives: an OCI image layout (`oci-layout`, `index.json`, `blobs/<algorithm>/<hex>`) in a tar, as
 * skopeo's `oci-archive:` transport writes and reads it (and as Docker 25 and later write with
 * `docker save`, beside their `manifest.json`).
 *
 * Both directions go through `OciLayout` and a temporary directory removed at the end:
 * {@link exportImage} pulls into it and writes the tar; {@link importImage} extracts the layout's regular
 * files into it (never a link, a special file or a name outside the archive) and pushes with
 * `OciLayout.push`, which checks every blob before anything is sent.
 *
 * @since 0.1.0
 */
import type * as Digest from "@effect-registry/core/Digest"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as BlobFile from "./BlobFile.js"
import * as DockerArchive from "./DockerArchive.js"
import { ArchiveError } from "./internal/archiveError.js"
import * as Internal from "./internal/ociArchive.js"
import type { ExportOptions, ExportResult, ImportOptions } from "./internal/ociArchiveTypes.js"
import * as NodeHash from "./NodeHash.js"
import type * as OciLayout from "./OciLayout.js"

export type {
  /** @since 0.1.0 */
  ExportOptions,
  /** @since 0.1.0 */
  ExportResult,
  /** @since 0.1.0 */
  ImportOptions
} from "./internal/ociArchiveTypes.js"

export {
  /**
   * Why an archive could not be exported or imported (see `reason`); the same class as
   * `DockerArchive.ArchiveError`.
   *
   * @since 0.1.0
   * @category errors
   */
  ArchiveError
}

/**
 * The kind of the tar archive at `path`: `"oci-archive"`, `"docker-archive"` or `"none"` (the same
 * function as `DockerArchive.detect`).
 *
 * @example
 * ```ts
 * import { OciArchive } from "@effect-registry/node"
 *
 * const kind = OciArchive.detect("./image.tar")
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const detect: (path: string) => Effect.Effect<DockerArchive.Kind, ArchiveError> = DockerArchive.detect

/**
 * @since 0.1.0
 * @category errors
 */
export type ExportError = ArchiveError | OciLayout.PullError | BlobFile.BlobFileError

/**
 * Writes an image (or an index with its images) of a registry to `tarPath` as an OCI layout in a tar,
 * which `skopeo copy oci-archive:…` reads: Docker manifests are converted to OCI ones as skopeo does
 * (see {@link ExportOptions.convert}). The archive appears at `tarPath` only when complete.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { OciArchive } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 *
 * const saved = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   OciArchive.exportImage(client, { repository: "team/app", reference: "v1" }, "./app.oci.tar")
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
    Effect.scoped,
    Effect.withSpan("OciArchive.export", {
      attributes: { repository: image.repository, reference: image.reference, path: tarPath }
    }),
    Effect.provide(Layer.merge(NodeFileSystem.layer, NodeHash.layer))
  )

/**
 * @since 0.1.0
 * @category errors
 */
export type ImportError = ArchiveError | OciLayout.PushError

/**
 * Pushes an image or index from an OCI archive (as `skopeo copy … oci-archive:` writes it). The tar's
 * headers are read first (a truncated or damaged archive, or a member named outside it, fails); the
 * layout's regular files are extracted to a temporary directory (a link or special file among them is
 * refused with `UnsafeEntry`); then `OciLayout.push` checks every blob and pushes. Returns the digest of
 * the manifest pushed.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { OciArchive } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 *
 * const pushed = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   OciArchive.importImage("./app.oci.tar", client, { repository: "team/app", tag: "v1" })
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
): Effect.Effect<Digest.Digest, ImportError> =>
  Internal.importImage(tarPath, client, image).pipe(
    Effect.scoped,
    Effect.withSpan("OciArchive.import", { attributes: { repository: image.repository, path: tarPath } }),
    Effect.provide(NodeFileSystem.layer)
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
