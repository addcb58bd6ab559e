/**
 * OCI image layouts written by hand, as skopeo would write them, for the tests of the layout, archive and CLI
 * code: blobs under `blobs/sha256/`, `oci-layout`, and an `index.json` naming the entries.
 *
 * @since 0.2.0
 */
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The sha256 digest of `bytes`.
 *
 * @since 0.2.0
 */
export const sha = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

/**
 * `u` as JSON bytes.
 *
 * @since 0.2.0
 */
export const json = (u: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(u))

/**
 * A descriptor of what {@link putBlob} wrote (with the platform of an index entry, when it has one).
 *
 * @since 0.2.0
 */
export interface Desc {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string }
}

/**
 * Writes `bytes` as a blob of the layout in `dir`.
 *
 * @since 0.2.0
 */
export const putBlob = (dir: string, mediaType: string, bytes: Uint8Array): Desc => {
  const digest = sha(bytes)
  fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true })
  fs.writeFileSync(path.join(dir, "blobs", "sha256", digest.slice(7)), bytes)
  return { mediaType, digest, size: bytes.length }
}

/**
 * `oci-layout` and an `index.json` with these entries (mediaType, digest, size, platform when the descriptor
 * has one, and the ref name).
 *
 * @since 0.2.0
 */
export const writeLayout = (
  dir: string,
  entries: ReadonlyArray<{ readonly desc: Desc; readonly ref?: string }>
): void => {
  fs.writeFileSync(path.join(dir, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}")
  fs.writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: entries.map(({ desc, ref }) => ({
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        ...(desc.platform !== undefined ? { platform: desc.platform } : {}),
        ...(ref !== undefined ? { annotations: { "org.opencontainers.image.ref.name": ref } } : {})
      }))
    })
  )
}

/**
 * The blob file names of the layout in `dir`, sorted.
 *
 * @since 0.2.0
 */
export const listBlobs = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(path.join(dir, "blobs", "sha256")).sort()
