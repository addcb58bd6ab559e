/**
 * The option and result types of `OciArchive` (re-exported there), in a leaf module that the
 * implementation in `ociArchive.ts` imports too.
 *
 * @since 0.1.0
 */
import type * as Digest from "@effect-registry/core/Digest"
import type * as Platform from "@effect-registry/core/Platform"

/**
 * The image `OciArchive.exportImage` writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportOptions {
  readonly repository: string
  /** A tag or a digest. */
  readonly reference: string
  /** The ref name of the `index.json` entry. Default: the reference when it is a tag. */
  readonly ref?: string | undefined
  /** From an index, take only this platform's image. Default: the index with all its images. */
  readonly platform?: Platform.Platform | undefined
  /** Blobs downloaded at once. Default 4. */
  readonly concurrency?: number | undefined
  /** Where the temporary layout goes. Default: the system's temporary directory. */
  readonly tempDirectory?: string | undefined
  /**
   * Convert Docker manifests to OCI ones, as skopeo does when it writes a layout (a schema 2 image becomes
   * an OCI manifest with the same config and layers; a Docker manifest list an OCI index of them): the
   * manifest digest changes, the config and layer digests do not. Default `true`: skopeo's `oci-archive:`
   * reader skips `index.json` entries of Docker media types. `false` keeps the registry's manifests byte
   * for byte (other readers, and `OciArchive.importImage`, take them).
   */
  readonly convert?: boolean | undefined
}

/**
 * What `OciArchive.exportImage` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportResult {
  readonly path: string
  /** The digest and media type of the `index.json` entry: the OCI form when converted. */
  readonly digest: Digest.Digest
  readonly mediaType: string
  /** The digest of the manifest the registry served. */
  readonly sourceDigest: Digest.Digest
  readonly refName: string | undefined
  /** Whether Docker manifests were converted to OCI (see {@link ExportOptions.convert}). */
  readonly converted: boolean
}

/**
 * Where `OciArchive.importImage` pushes, and which entry of the archive.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportOptions {
  readonly repository: string
  /** The tag to push. Default: none (by digest). */
  readonly tag?: string | undefined
  /** The `index.json` entry, by ref name. Default: the one named like the tag, else the only entry. */
  readonly ref?: string | undefined
  /** Blobs uploaded at once. Default 4. */
  readonly concurrency?: number | undefined
  /** Where the temporary layout goes. Default: the system's temporary directory. */
  readonly tempDirectory?: string | undefined
}
