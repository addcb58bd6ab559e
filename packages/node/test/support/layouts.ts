import { AuthService, RegistryClient } from "@effect-registry/core"
import { NodeHash } from "@effect-registry/node"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// Small OCI layouts written by hand, as skopeo would, for the layout tests.

export const sha = (bytes: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

export const json = (u: unknown) => new TextEncoder().encode(JSON.stringify(u))

export interface Desc {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string }
}

export const putBlob = (dir: string, mediaType: string, bytes: Uint8Array): Desc => {
  const digest = sha(bytes)
  fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true })
  fs.writeFileSync(path.join(dir, "blobs", "sha256", digest.slice(7)), bytes)
  return { mediaType, digest, size: bytes.length }
}

/** `oci-layout` and an `index.json` with these entries (mediaType, digest, size and the ref name only). */
export const writeLayout = (dir: string, entries: ReadonlyArray<{ readonly desc: Desc; readonly ref?: string }>) => {
  fs.writeFileSync(path.join(dir, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}")
  fs.writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: entries.map(({ desc, ref }) => ({
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        ...(ref !== undefined ? { annotations: { "org.opencontainers.image.ref.name": ref } } : {})
      }))
    })
  )
}

/** A temporary directory removed with the scope. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** A client of an in-process in-memory registry, with the registry's handle. */
export const InMemory = RegistryClient.layer({ url: "http://registry.test" }).pipe(
  Layer.provideMerge(Layer.mergeAll(AuthService.anonymous, NodeHash.layer)),
  Layer.provideMerge(InMemoryRegistry.layer())
)
