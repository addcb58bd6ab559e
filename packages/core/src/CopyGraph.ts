/**
 * The content graph of an image or index: every manifest reachable from a top
 * manifest (children of indexes loaded on demand, nesting bounded) and every
 * blob those manifests reference, each once. What image copy, OCI layout push
 * and pull walk before moving bytes.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Descriptor from "./Descriptor.js"
import type * as Digest from "./Digest.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"

/**
 * A blob referenced by a manifest of the graph.
 *
 * @since 0.2.0
 * @category models
 */
export interface BlobRef {
  readonly digest: Digest.Digest
  /** Unknown for schema 1 layers. */
  readonly size: number | undefined
  readonly mediaType: string | undefined
}

/**
 * The content reachable from a manifest: every manifest, children before
 * parents (the top one last), and every blob, each once.
 *
 * @since 0.2.0
 * @category models
 */
export interface Graph {
  readonly manifests: ReadonlyArray<Manifest.Any>
  readonly blobs: ReadonlyArray<BlobRef>
}

/**
 * The blobs an image manifest references: config and layers (schema 1:
 * `fsLayers`), non-distributable layers left out.
 *
 * @since 0.2.0
 * @category getters
 */
export const imageBlobs = (m: Manifest.Any): ReadonlyArray<BlobRef> => {
  if (m.kind === "schema1") {
    return Manifest.blobDigests(m).map((digest) => ({ digest, size: undefined, mediaType: undefined }))
  }
  if (Manifest.isIndex(m)) return []
  return Manifest.children(m)
    .filter((d) => !MediaType.isNondistributable(d.mediaType))
    .map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType }))
}

/** Bounds the depth of nested indexes. */
const MaxDepth = 8

/**
 * Walks from `top` through the children of indexes (loaded with `load`;
 * `select` may narrow the children of the top index) down to the blobs.
 *
 * @since 0.2.0
 * @category walking
 */
export const walk = <E, R>(
  top: Manifest.Any,
  load: (descriptor: Descriptor.Descriptor) => Effect.Effect<Manifest.Any, E, R>,
  options?: {
    readonly concurrency?: number | undefined
    readonly select?:
      | ((entries: ReadonlyArray<Descriptor.Descriptor>) => ReadonlyArray<Descriptor.Descriptor>)
      | undefined
  }
): Effect.Effect<Graph, E, R> =>
  Effect.gen(function*() {
    const manifests = new Map<string, Manifest.Any>()
    const blobs = new Map<string, BlobRef>()
    const visit = (m: Manifest.Any, depth: number): Effect.Effect<void, E, R> =>
      Effect.gen(function*() {
        if (manifests.has(m.digest)) return
        if (Manifest.isIndex(m)) {
          const all = Manifest.children(m)
          const entries = depth === 0 && options?.select !== undefined ? options.select(all) : all
          const children = yield* Effect.forEach(
            entries.filter((d) => depth < MaxDepth && !manifests.has(d.digest)),
            load,
            { concurrency: options?.concurrency ?? 4 }
          )
          for (const child of children) yield* visit(child, depth + 1)
        } else {
          for (const blob of imageBlobs(m)) if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob)
        }
        manifests.set(m.digest, m)
      })
    yield* visit(top, 0)
    return { manifests: Array.from(manifests.values()), blobs: Array.from(blobs.values()) }
  })
