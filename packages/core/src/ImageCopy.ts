/**
 * Copy images between repositories and registries: walk the manifest graph
 * (index → children → config and layers, referrers on request), skip blobs
 * the target has, mount blobs when source and target are the same registry,
 * stream the others from the source straight into the upload (never held in
 * memory whole), at most `concurrency` blobs at once, then push the manifests'
 * exact bytes, children before parents, the tag last. Digests stay identical.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as BlobSource from "./BlobSource.js"
import * as Graph from "./CopyGraph.js"
import type * as Descriptor from "./Descriptor.js"
import * as Digest from "./Digest.js"
import * as Manifest from "./Manifest.js"
import * as Platform from "./Platform.js"
import * as Tally from "./ProgressTally.js"
import type * as RegistryClient from "./RegistryClient.js"

/**
 * Where an image comes from.
 *
 * @since 0.1.0
 * @category models
 */
export interface From {
  readonly client: RegistryClient.Service
  readonly repository: string
  /** A tag or a digest. */
  readonly reference: string
}

/**
 * Where an image goes. Without `tag`, the source reference is used when it is
 * a tag, else the manifest is pushed by digest only.
 *
 * @since 0.1.0
 * @category models
 */
export interface To {
  readonly client: RegistryClient.Service
  readonly repository: string
  readonly tag?: string | undefined
}

/**
 * Options of {@link copy}.
 *
 * - `platforms`: `"all"` (the default) copies an index with every child and
 *   keeps it as is. A list of platforms copies only the child manifest chosen
 *   for each (with `Platform.select`); the index itself is not copied (a
 *   filtered index would have another digest). With one platform, the tag
 *   points at that child; with several, the children are pushed by digest
 *   only and no tag is set. A single image is copied whatever `platforms` says.
 * - `concurrency`: blobs transferred at once, default 4.
 * - `referrers`: also copy the manifests that refer to each copied manifest
 *   (`referrers()` of the source), with their content.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly from: From
  readonly to: To
  readonly platforms?: "all" | ReadonlyArray<Platform.Platform> | undefined
  readonly concurrency?: number | undefined
  readonly referrers?: boolean | undefined
  /**
   * Shared by copies that run at once from one source repository into one target repository (see
   * {@link makeSharedBlobs}): each blob is copied by one of them, and the others wait for that copy instead of
   * uploading the blob again. Two uploads of one blob into one repository at once can make a registry refuse a
   * manifest (distribution 2.8 rewrites the blob's link in place when the second commits, and a manifest PUT
   * that reads it meanwhile fails with `MANIFEST_BLOB_UNKNOWN`). A blob's failure fails every copy that waits
   * for it; a copy interrupted while it moves a blob leaves the blob to the next copy that needs it. A blob
   * another copy moved is counted in that copy's {@link Result}.
   */
  readonly sharedBlobs?: SharedBlobs | undefined
}

/**
 * What copies running at once into one target repository share: the blob each of them is copying (see
 * {@link Options.sharedBlobs}). Make one per run, for one source and one target repository.
 *
 * @since 0.2.0
 * @category models
 */
export interface SharedBlobs {
  /** @internal */
  readonly runs: Map<string, Deferred.Deferred<void, CopyError>>
}

/**
 * A new {@link SharedBlobs}.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeSharedBlobs = (): SharedBlobs => ({ runs: new Map() })

/**
 * What {@link copy} did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  /** The digest of the top manifest copied (the index, or the chosen child). */
  readonly digest: Digest.Digest
  readonly mediaType: string
  /** The tag set, if any. */
  readonly tag: string | undefined
  /** Every manifest pushed, children first (referrers included). */
  readonly manifests: ReadonlyArray<Digest.Digest>
  /** Blobs whose bytes went through this process. */
  readonly transferred: number
  /** Blobs the target already had. */
  readonly existed: number
  /** Blobs mounted from the source repository. */
  readonly mounted: number
  /** Blob bytes moved. */
  readonly bytes: number
}

/**
 * The copy cannot be done as asked: no child of the index matches a wanted
 * platform, or the target stored a manifest under another digest.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImageCopyError extends Data.TaggedError("ImageCopyError")<{
  readonly reason: "PlatformNotFound" | "DigestChanged"
  readonly digest?: string | undefined
  readonly detail?: string | undefined
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why = this.reason === "PlatformNotFound"
      ? "no manifest for the platform"
      : "the target stored the manifest under another digest"
    return [why, this.digest, this.detail].filter((p) => p !== undefined).join(": ")
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type CopyError = ImageCopyError | RegistryClient.UploadError | RegistryClient.ManifestError

const sameRegistry = (a: RegistryClient.Service, b: RegistryClient.Service): boolean =>
  a === b || a.url.replace(/\/+$/, "") === b.url.replace(/\/+$/, "")

/**
 * Copies an image (or an index with its children) from one repository to
 * another, in the same registry or across registries.
 *
 * @example
 * ```ts
 * import { ImageCopy, RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const copied = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   ImageCopy.copy({
 *     from: { client, repository: "team/app", reference: "v1" },
 *     to: { client, repository: "team/app-release", tag: "v1" },
 *     platforms: [{ os: "linux", architecture: "arm64" }]
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const copy = (options: Options): Effect.Effect<Result, CopyError> =>
  Effect.gen(function*() {
    const { from, to } = options
    const mount = sameRegistry(from.client, to.client)
    const sameRepository = mount && from.repository === to.repository
    const concurrency = Math.max(1, options.concurrency ?? 4)
    const tally = Tally.make()
    const done = new Map<string, Effect.Effect<void, CopyError>>()
    const pushed: Array<Digest.Digest> = []
    const pushedSet = new Set<string>()

    const sizeOf = (blob: Graph.BlobRef) =>
      blob.size !== undefined
        ? Effect.succeed(blob.size)
        : Effect.map(from.client.blobMetadata(from.repository, blob.digest), (m) => m.size)

    const copyBlob = (blob: Graph.BlobRef): Effect.Effect<void, CopyError> =>
      Effect.gen(function*() {
        const size = yield* sizeOf(blob)
        yield* Tally.transfer(tally, blob.digest, size, (wrap) => {
          // The pieces read from the source go to the target alone: the transport may free each once sent.
          const source = BlobSource.reopenable((offset) =>
            BlobSource.releasedOnceWritten(
              wrap(from.client.downloadBlob(from.repository, blob.digest, offset > 0 ? { offset } : { size }), offset)
            )
          )
          if (sameRepository) return Effect.succeed("Existed" as const)
          if (mount) {
            return Effect.gen(function*() {
              if (yield* to.client.hasBlob(to.repository, blob.digest)) return "Existed" as const
              const result = yield* to.client.mountBlob(to.repository, blob.digest, from.repository, { size, source })
              return result.mounted ? "Mounted" as const : result.skipped ? "Existed" as const : "Transferred" as const
            })
          }
          // Every opening of the source reads the blob from its start (a monolithic upload, `size` known, only
          // restarts from 0), and `downloadBlob` verifies that read: it fails on a wrong digest or size, which
          // fails the upload's body as the upload's own check would (both give their verdict at the end of the
          // bytes; the target registry checks the digest too). So the bytes are not hashed a second time.
          return Effect.map(
            to.client.uploadBlob(to.repository, blob.digest, source, { size, verifyDigest: false }),
            (result) => result.skipped ? "Existed" as const : "Transferred" as const
          )
        })
      })

    // A blob copied by this copy or, with `sharedBlobs`, by whichever copy of the run needs it first.
    const sharedCopy = (runs: SharedBlobs["runs"], blob: Graph.BlobRef): Effect.Effect<void, CopyError> =>
      Effect.suspend(() => {
        const running = runs.get(blob.digest)
        if (running !== undefined) {
          // another copy's interruption is not ours: the blob is then copied again
          return Effect.catchAllCause(
            Deferred.await(running),
            (cause) => Cause.isInterruptedOnly(cause) ? sharedCopy(runs, blob) : Effect.failCause(cause)
          )
        }
        const mine = Deferred.unsafeMake<void, CopyError>(FiberId.none)
        runs.set(blob.digest, mine)
        return Effect.onExit(copyBlob(blob), (exit) =>
          Effect.suspend(() => {
            if (Exit.isInterrupted(exit) && runs.get(blob.digest) === mine) runs.delete(blob.digest)
            return Deferred.done(mine, exit)
          }))
      })

    // Each blob once, even when several images of the graph share it.
    const blobOnce = (blob: Graph.BlobRef): Effect.Effect<void, CopyError> =>
      Effect.suspend(() => {
        const known = done.get(blob.digest)
        if (known !== undefined) return known
        const work = options.sharedBlobs === undefined ? copyBlob(blob) : sharedCopy(options.sharedBlobs.runs, blob)
        return Effect.flatMap(Effect.cached(work), (run) => {
          done.set(blob.digest, run)
          return run
        })
      })

    const putManifest = (m: Manifest.Any, reference: string): Effect.Effect<Digest.Digest, CopyError> =>
      Effect.gen(function*() {
        const digest = yield* to.client.putManifest(to.repository, reference, m)
        if (digest !== m.digest) {
          return yield* new ImageCopyError({ reason: "DigestChanged", digest: m.digest, detail: `stored as ${digest}` })
        }
        if (!pushedSet.has(digest)) {
          pushedSet.add(digest)
          pushed.push(digest)
        }
        return digest
      })

    const load = (d: Descriptor.Descriptor) => from.client.getManifest(from.repository, d.digest)

    // Copies the graph under `top`, pushing every manifest by digest except `top` when `tag` is given.
    const copyGraph = (top: Manifest.Any, tag: string | undefined): Effect.Effect<void, CopyError> =>
      Effect.gen(function*() {
        const graph = yield* Graph.walk(top, load, { concurrency })
        yield* Effect.forEach(graph.blobs, blobOnce, { concurrency, discard: true })
        for (const m of graph.manifests) {
          if (m === top && tag !== undefined) continue
          if (!pushedSet.has(m.digest)) yield* putManifest(m, m.digest)
        }
        if (tag !== undefined) yield* putManifest(top, tag)
        if (options.referrers === true) {
          for (const m of graph.manifests) yield* copyReferrers(m.digest, 0)
        }
      })

    const seenReferrers = new Set<string>()
    const copyReferrers = (subject: Digest.Digest, depth: number): Effect.Effect<void, CopyError> =>
      Effect.gen(function*() {
        if (depth > 4) return
        const list = yield* from.client.referrers(from.repository, subject)
        for (const d of list) {
          if (seenReferrers.has(d.digest)) continue
          seenReferrers.add(d.digest)
          const m = yield* load(d)
          yield* copyGraph(m, undefined)
          yield* copyReferrers(m.digest, depth + 1)
        }
      })

    const isDigestRef = Digest.isDigest(from.reference)
    const tag = to.tag ?? (isDigestRef ? undefined : from.reference)
    const first = yield* from.client.getManifest(from.repository, from.reference)
    const platforms = options.platforms ?? "all"
    let top: Manifest.Any = first
    let topTag = tag
    if (Manifest.isIndex(first) && platforms !== "all") {
      const chosen: Array<Descriptor.Descriptor> = []
      for (const wanted of platforms) {
        const entry = Platform.select(first.manifest, wanted)
        if (Option.isNone(entry)) {
          return yield* new ImageCopyError({
            reason: "PlatformNotFound",
            digest: first.digest,
            detail: Platform.format(wanted)
          })
        }
        if (!chosen.some((c) => c.digest === entry.value.digest)) chosen.push(entry.value)
      }
      const children = yield* Effect.forEach(chosen, load, { concurrency })
      if (children.length === 1) {
        top = children[0]
      } else {
        for (const child of children) yield* copyGraph(child, undefined)
        topTag = undefined
        top = children[children.length - 1]
      }
    }
    if (!pushedSet.has(top.digest) || topTag !== undefined) yield* copyGraph(top, topTag)
    yield* Tally.imageDone(tally, top.digest)
    return {
      digest: top.digest,
      mediaType: top.mediaType,
      tag: topTag,
      manifests: pushed,
      transferred: tally.transferred,
      existed: tally.existed,
      mounted: tally.mounted,
      bytes: tally.bytes
    }
  }).pipe(
    Effect.withSpan("ImageCopy.copy", {
      attributes: {
        from: `${options.from.repository}@${options.from.reference}`,
        to: options.to.repository
      }
    })
  )
