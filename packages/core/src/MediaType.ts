/**
 * Media types of manifests, configs and layers, and the `Accept` sets a client
 * sends when it fetches a manifest.
 *
 * @since 0.1.0
 */
import * as Digest from "./Digest.js"

/**
 * Docker image manifest, schema 1, unsigned.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerManifestSchema1 = "application/vnd.docker.distribution.manifest.v1+json" as const

/**
 * Docker image manifest, schema 1, signed (libtrust pretty JWS).
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerManifestSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws" as const

/**
 * Docker image manifest, schema 2.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerManifestSchema2 = "application/vnd.docker.distribution.manifest.v2+json" as const

/**
 * Docker manifest list (multi-platform).
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json" as const

/**
 * Docker container image configuration.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerContainerConfig = "application/vnd.docker.container.image.v1+json" as const

/**
 * Docker gzip-compressed layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip" as const

/**
 * Docker foreign (non-distributable) gzip-compressed layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" as const

/**
 * Docker plugin configuration.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerPluginConfig = "application/vnd.docker.plugin.v1+json" as const

/**
 * OCI image manifest.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciManifest = "application/vnd.oci.image.manifest.v1+json" as const

/**
 * OCI image index.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciIndex = "application/vnd.oci.image.index.v1+json" as const

/**
 * OCI image configuration.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciConfig = "application/vnd.oci.image.config.v1+json" as const

/**
 * OCI uncompressed layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerTar = "application/vnd.oci.image.layer.v1.tar" as const

/**
 * OCI gzip-compressed layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip" as const

/**
 * OCI zstd-compressed layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd" as const

/**
 * OCI non-distributable uncompressed layer (deprecated by the image spec, still found).
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerNondistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar" as const

/**
 * OCI non-distributable gzip-compressed layer (deprecated by the image spec, still found).
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" as const

/**
 * OCI non-distributable zstd-compressed layer (deprecated by the image spec, still found).
 *
 * @since 0.1.0
 * @category constants
 */
export const OciLayerNondistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" as const

/**
 * The OCI empty JSON object `{}`, used as config of artifacts.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciEmpty = "application/vnd.oci.empty.v1+json" as const

/**
 * Digest of the two bytes `{}`.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciEmptyDigest: Digest.Digest = Digest.unsafeMake(
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

/**
 * The OCI empty descriptor: `{}` (2 bytes), with its data embedded.
 *
 * @since 0.1.0
 * @category constants
 */
export const OciEmptyDescriptor: {
  readonly mediaType: typeof OciEmpty
  readonly digest: Digest.Digest
  readonly size: 2
  readonly data: "e30="
} = { mediaType: OciEmpty, digest: OciEmptyDigest, size: 2, data: "e30=" }

/**
 * Every manifest media type: OCI manifest and index, Docker schema 2 and list,
 * schema 1 signed and unsigned.
 *
 * @since 0.1.0
 * @category accept
 */
export const AcceptAll: ReadonlyArray<string> = [
  OciManifest,
  OciIndex,
  DockerManifestSchema2,
  DockerManifestList,
  DockerManifestSchema1Signed,
  DockerManifestSchema1
]

/**
 * Docker schema 1 only (signed and unsigned).
 *
 * @since 0.1.0
 * @category accept
 */
export const AcceptSchema1: ReadonlyArray<string> = [DockerManifestSchema1Signed, DockerManifestSchema1]

/**
 * Docker schema 2 only (what a Docker v2 client asks for a single image).
 *
 * @since 0.1.0
 * @category accept
 */
export const AcceptSchema2: ReadonlyArray<string> = [DockerManifestSchema2]

/**
 * Single-image manifest types (no indexes or lists).
 *
 * @since 0.1.0
 * @category accept
 */
export const AcceptImages: ReadonlyArray<string> = [
  OciManifest,
  DockerManifestSchema2,
  DockerManifestSchema1Signed,
  DockerManifestSchema1
]

/**
 * Multi-platform types: OCI index and Docker manifest list.
 *
 * @since 0.1.0
 * @category accept
 */
export const AcceptIndexes: ReadonlyArray<string> = [OciIndex, DockerManifestList]

/**
 * Joins a set of media types into one `Accept` header value.
 *
 * @since 0.1.0
 * @category accept
 */
export const acceptHeader = (types: ReadonlyArray<string>): string =>
  types === AcceptAll ? acceptAllHeader : types.join(", ")

// the Accept value of most manifest requests, joined once (a fresh join is also re-scanned by the HTTP client)
const acceptAllHeader = AcceptAll.join(", ")

/**
 * Strips parameters (`; charset=utf-8`) and whitespace from a `Content-Type`, and lower-cases it.
 *
 * @example
 * ```ts
 * import { MediaType } from "@effect-registry/core"
 *
 * MediaType.normalize("Application/JSON; charset=utf-8") // "application/json"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const normalize = (contentType: string): string => {
  const semicolon = contentType.indexOf(";")
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

/**
 * An OCI index or a Docker manifest list.
 *
 * @since 0.1.0
 * @category guards
 */
export const isIndex = (mt: string): boolean => {
  const n = normalize(mt)
  return n === OciIndex || n === DockerManifestList
}

/**
 * A single-image manifest: OCI manifest, Docker schema 2 or schema 1.
 *
 * @since 0.1.0
 * @category guards
 */
export const isManifest = (mt: string): boolean => {
  const n = normalize(mt)
  return n === OciManifest || n === DockerManifestSchema2 || n === DockerManifestSchema1 ||
    n === DockerManifestSchema1Signed
}

/**
 * Docker schema 1, signed or not.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSchema1 = (mt: string): boolean => {
  const n = normalize(mt)
  return n === DockerManifestSchema1 || n === DockerManifestSchema1Signed
}

/**
 * Any manifest type of {@link AcceptAll}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isKnownManifest = (mt: string): boolean => isIndex(mt) || isManifest(mt)

/**
 * A layer media type (Docker or OCI, any compression, distributable or not).
 *
 * @since 0.1.0
 * @category guards
 */
export const isLayer = (mt: string): boolean => {
  const n = normalize(mt)
  return n === DockerLayerGzip || n === DockerLayerForeignGzip || n.startsWith("application/vnd.oci.image.layer.")
}

/**
 * A non-distributable (foreign) layer, which registries may not hold.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNondistributable = (mt: string): boolean => {
  const n = normalize(mt)
  return n === DockerLayerForeignGzip || n.startsWith("application/vnd.oci.image.layer.nondistributable.")
}
