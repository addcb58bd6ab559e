import { AuthService, RegistryClient } from "@effect-registry/core"
import { NodeHash } from "@effect-registry/node"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// Small OCI layouts written by hand, as skopeo would, for the layout tests.

import * as LayoutFixture from "@effect-registry/test-infra/LayoutFixture"

export { type Desc, json, putBlob, sha } from "@effect-registry/test-infra/LayoutFixture"

/** `oci-layout` and an `index.json` with these entries: mediaType, digest, size and the ref name only (as skopeo
 * writes a single image's entry), whatever platform the descriptors carry. */
export const writeLayout = (
  dir: string,
  entries: ReadonlyArray<{ readonly desc: LayoutFixture.Desc; readonly ref?: string }>
) =>
  LayoutFixture.writeLayout(
    dir,
    entries.map(({ desc, ref }) => ({
      desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
      ...(ref !== undefined ? { ref } : {})
    }))
  )

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
