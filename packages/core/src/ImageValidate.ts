/**
 * Check that everything an image or index needs is in its repository: every
 * manifest reachable from it (the children of indexes, nesting bounded) is
 * there and decodes, with the size its parent's descriptor says, and every
 * blob (config, layers) exists with the size its descriptor says; with
 * `verifyBlobs`, every blob is also downloaded and its digest checked. Work
 * goes on after a problem: the result lists them all.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Graph from "./CopyGraph.js"
import type * as Descriptor from "./Descriptor.js"
import type * as Digest from "./Digest.js"
import * as Manifest from "./Manifest.js"
import type * as RegistryClient from "./RegistryClient.js"
import * as RegistryError from "./RegistryError.js"

/**
 * One thing wrong in the graph.
 *
 * - `ManifestMissing`, `BlobMissing`: the registry does not have it.
 * - `SizeMismatch`: its size is not the one its descriptor says.
 * - `DigestMismatch`: its bytes do not hash to its digest (`verifyBlobs`, or a child manifest).
 * - `ManifestInvalid`: a child manifest does not decode.
 * - `Unreadable`: the registry failed otherwise (the error's message is in `detail`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Problem {
  readonly kind:
    | "ManifestMissing"
    | "BlobMissing"
    | "SizeMismatch"
    | "DigestMismatch"
    | "ManifestInvalid"
    | "Unreadable"
  readonly digest: Digest.Digest
  /** The manifest that refers to it. */
  readonly parent: Digest.Digest
  readonly expectedSize?: number | undefined
  readonly actualSize?: number | undefined
  readonly detail: string
}

/**
 * What {@link validate} found.
 *
 * @since 0.2.0
 * @category models
 */
export interface Report {
  /** The digest of the top manifest. */
  readonly digest: Digest.Digest
  readonly mediaType: string
  /** Manifests checked, the top one included. */
  readonly manifests: number
  /** Distinct blobs checked. */
  readonly blobs: number
  /** Bytes of the blobs checked, as their descriptors say. */
  readonly bytes: number
  readonly verifiedBlobs: boolean
  readonly problems: ReadonlyArray<Problem>
  readonly ok: boolean
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Download every blob and check its digest and size (default: HEAD only). */
  readonly verifyBlobs?: boolean | undefined
  /** Requests at once. Default 4. */
  readonly concurrency?: number | undefined
}

const MaxDepth = 8

const describe = (e: { readonly message: string }) => RegistryError.printable(e.message, 500)

/** The kind of problem an error of the registry is: `missing` when it says the thing is not there. */
const kindOf = (e: { readonly _tag: string }, missing: "ManifestMissing" | "BlobMissing"): Problem["kind"] => {
  switch (e._tag) {
    case "ManifestUnknown":
    case "BlobUnknown":
    case "NameUnknown":
      return missing
    case "DigestMismatch":
    case "SizeMismatch":
    case "ManifestInvalid":
      return e._tag
    default:
      return "Unreadable"
  }
}

/**
 * Walks the graph of `reference` in `repository` and checks each manifest and
 * blob (see the module). Fails only when the top manifest cannot be read;
 * everything below is reported in `problems`.
 *
 * @example
 * ```ts
 * import { ImageValidate, RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const report = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   ImageValidate.validate(client, "team/app", "v1", { verifyBlobs: true })
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const validate = (
  client: RegistryClient.Service,
  repository: string,
  reference: string,
  options?: Options
): Effect.Effect<Report, RegistryClient.GetManifestError> =>
  Effect.gen(function*() {
    const concurrency = Math.min(64, Math.max(1, options?.concurrency ?? 4))
    const verify = options?.verifyBlobs === true
    const top = yield* client.getManifest(repository, reference)
    const problems: Array<Problem> = []
    const seenManifests = new Set<string>([top.digest])
    const blobs = new Map<string, { readonly blob: Graph.BlobRef; readonly parent: Digest.Digest }>()
    let manifests = 1

    const loadChild = (d: Descriptor.Descriptor, parent: Digest.Digest) =>
      client.getManifest(repository, d.digest).pipe(
        Effect.map((m) => {
          manifests++
          if (m.bytes.length !== d.size) {
            problems.push({
              kind: "SizeMismatch",
              digest: d.digest,
              parent,
              expectedSize: d.size,
              actualSize: m.bytes.length,
              detail: "the manifest's size is not the one in its index"
            })
          }
          return m
        }),
        Effect.catchAll((e) => {
          problems.push({
            kind: kindOf(e, "ManifestMissing"),
            digest: d.digest,
            parent,
            detail: describe(e)
          })
          return Effect.succeed(undefined)
        })
      )

    const visit = (m: Manifest.Any, depth: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (!Manifest.isIndex(m)) {
          for (const blob of Graph.imageBlobs(m)) {
            if (!blobs.has(blob.digest)) blobs.set(blob.digest, { blob, parent: m.digest })
          }
          return
        }
        const fresh = Manifest.children(m).filter((d) => {
          if (seenManifests.has(d.digest)) return false
          seenManifests.add(d.digest)
          return true
        })
        if (depth >= MaxDepth && fresh.length > 0) {
          problems.push({
            kind: "Unreadable",
            digest: m.digest,
            parent: m.digest,
            detail: `indexes nested deeper than ${MaxDepth} levels are not followed`
          })
          return
        }
        const children = yield* Effect.forEach(fresh, (d) => loadChild(d, m.digest), { concurrency })
        for (const child of children) if (child !== undefined) yield* visit(child, depth + 1)
      })
    yield* visit(top, 0)

    const checkBlob = ({ blob, parent }: { readonly blob: Graph.BlobRef; readonly parent: Digest.Digest }) =>
      Effect.gen(function*() {
        const meta = yield* client.blobMetadata(repository, blob.digest)
        if (blob.size !== undefined && meta.size !== blob.size) {
          problems.push({
            kind: "SizeMismatch",
            digest: blob.digest,
            parent,
            expectedSize: blob.size,
            actualSize: meta.size,
            detail: "the registry holds a blob of another size"
          })
          return
        }
        if (verify) {
          const received = yield* Stream.runFold(
            client.downloadBlob(repository, blob.digest, { size: blob.size }),
            0,
            (n, chunk) => n + chunk.length
          )
          if (received !== meta.size) {
            problems.push({
              kind: "SizeMismatch",
              digest: blob.digest,
              parent,
              expectedSize: meta.size,
              actualSize: received,
              detail: "the registry sent another number of bytes than it announced"
            })
          }
        }
      }).pipe(
        Effect.catchAll((e) =>
          Effect.sync(() => {
            problems.push({
              kind: kindOf(e, "BlobMissing"),
              digest: blob.digest,
              parent,
              detail: describe(e)
            })
          })
        )
      )
    const all = Array.from(blobs.values())
    yield* Effect.forEach(all, checkBlob, { concurrency, discard: true })
    return {
      digest: top.digest,
      mediaType: top.mediaType,
      manifests,
      blobs: all.length,
      bytes: all.reduce((n, { blob }) => n + (blob.size ?? 0), 0),
      verifiedBlobs: verify,
      problems,
      ok: problems.length === 0
    }
  }).pipe(Effect.withSpan("ImageValidate.validate", { attributes: { repository, reference } }))
