/**
 * The option and result types of `DockerArchive` (re-exported there), in a leaf module that the
 * implementation in `dockerArchive.ts` imports too.
 *
 * @since 0.1.0
 */
import type * as Descriptor from "@effect-registry/core/Descriptor"
import type * as Digest from "@effect-registry/core/Digest"
import type * as Platform from "@effect-registry/core/Platform"

/**
 * The image `DockerArchive.exportImage` writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOptions {
  readonly repository: string
  /** A tag or a digest. */
  readonly reference: string
  /** When the reference names an index: the image to take from it (required then). */
  readonly platform?: Platform.Platform | undefined
  /** The `RepoTags` of `manifest.json`. Default: `<repository>:<reference>` for a tag, none for a digest. */
  readonly repoTags?: ReadonlyArray<string> | undefined
}

/**
 * What `DockerArchive.exportImage` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportResult {
  readonly path: string
  /** The digest of the manifest of the image exported. */
  readonly manifest: Digest.Digest
  readonly config: Digest.Digest
  /** The layers as written, uncompressed: their digests are the config's `rootfs.diff_ids`. */
  readonly diffIds: ReadonlyArray<Digest.Digest>
  readonly repoTags: ReadonlyArray<string>
}

/**
 * Where `DockerArchive.importImage` pushes, and which image of the archive.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportOptions {
  readonly repository: string
  /** The tag to push. Default: none (the manifest is pushed by digest). */
  readonly tag?: string | undefined
  /**
   * The image of the archive, by one of its `RepoTags` (`app:1` also matches `docker.io/app:1` and
   * `docker.io/library/app:1`). Default: the only image; an archive of several fails with `Ambiguous`,
   * listing them.
   */
  readonly select?: string | undefined
  /** Layers read and uploaded at once. Default 4. */
  readonly concurrency?: number | undefined
}

/**
 * What `DockerArchive.importImage` pushed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportResult {
  /** The digest of the schema 2 manifest pushed. */
  readonly manifest: Digest.Digest
  readonly config: Digest.Digest
  readonly layers: ReadonlyArray<Descriptor.Descriptor>
  /** The `RepoTags` of the image in the archive. */
  readonly repoTags: ReadonlyArray<string>
}
