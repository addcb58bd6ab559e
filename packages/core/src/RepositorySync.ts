/**
 * Copy every tag of a repository (or of several) to another repository or
 * registry, as `skopeo sync` and `crane copy --all-tags` do: each tag whose
 * manifest digest the destination already has under that tag is skipped, the
 * others are copied with {@link ImageCopy.copy} (whole indexes, digests kept),
 * a few tags at once. Tags of one image are copied once: the other tags of the
 * same digest wait for that copy and are then set with a manifest PUT, and a
 * blob several images share is copied once ({@link ImageCopy.Options.sharedBlobs}; two
 * uploads of one blob into one repository at once can make a registry refuse a
 * manifest: distribution 2.8 rewrites the blob's link in place, and a manifest
 * PUT that reads it meanwhile fails with `MANIFEST_BLOB_UNKNOWN`). A registry's `429` is honoured: the tag waits
 * `Retry-After` (bounded) and is tried again, a bounded number of times. A tag
 * that still fails is reported and the others go on, so running the same sync
 * again resumes where it stopped.
 *
 * @since 0.2.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Digest from "./Digest.js"
import * as ImageCopy from "./ImageCopy.js"
import type * as RegistryClient from "./RegistryClient.js"
import * as RegistryError from "./RegistryError.js"
import * as Retag from "./Retag.js"

/**
 * A repository of a registry.
 *
 * @since 0.2.0
 * @category models
 */
export interface Endpoint {
  readonly client: RegistryClient.Service
  readonly repository: string
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly from: Endpoint
  readonly to: Endpoint
  /** The tags to copy. Default: every tag of the source (listed up to `maxTags`). */
  readonly tags?: ReadonlyArray<string> | undefined
  /** Tags copied at once. Default 2. */
  readonly concurrency?: number | undefined
  /** Blobs copied at once within a tag. Default 4. */
  readonly blobConcurrency?: number | undefined
  /** Attempts per tag after a `429`. Default 5. */
  readonly maxAttempts?: number | undefined
  /** The longest wait after a `429` (a longer `Retry-After` is cut to it). Default 60 seconds. */
  readonly maxWait?: Duration.DurationInput | undefined
  /** Most tags listed. Default `RegistryClient.DefaultMaxItems`. */
  readonly maxTags?: number | undefined
}

/**
 * What became of one tag.
 *
 * @since 0.2.0
 * @category models
 */
export type TagResult =
  | { readonly tag: string; readonly status: "Copied"; readonly digest: Digest.Digest; readonly bytes: number }
  | { readonly tag: string; readonly status: "Skipped"; readonly digest: Digest.Digest }
  | { readonly tag: string; readonly status: "Failed"; readonly error: TagError }

/**
 * What a sync of one repository did.
 *
 * @since 0.2.0
 * @category models
 */
export interface Result {
  readonly from: string
  readonly to: string
  readonly tags: ReadonlyArray<TagResult>
  readonly copied: number
  readonly skipped: number
  readonly failed: number
}

/**
 * Why one tag was not copied.
 *
 * @since 0.2.0
 * @category errors
 */
export type TagError = ImageCopy.CopyError | RegistryClient.ManifestDigestError | Retag.TagError

/**
 * @since 0.2.0
 * @category errors
 */
export type SyncError = RegistryClient.TagsError

const tooMany = (e: TagError): Option.Option<RegistryError.TooManyRequests> =>
  e._tag === "TooManyRequests" ? Option.some(e) : Option.none()

/** Waits after a 429 (Retry-After, else 1, 2, 4 … seconds, at most `maxWait`), then tries again. */
const honouringRateLimits = <A>(
  run: Effect.Effect<A, TagError>,
  maxAttempts: number,
  maxWait: Duration.Duration
): Effect.Effect<A, TagError> => {
  const attempt = (n: number): Effect.Effect<A, TagError> =>
    Effect.catchAll(run, (e) =>
      Option.match(tooMany(e), {
        onNone: () => Effect.fail(e),
        onSome: (limited) => {
          if (n + 1 >= maxAttempts) return Effect.fail(e)
          const wait = Duration.min(limited.retryAfter ?? Duration.seconds(2 ** n), maxWait)
          return Effect.zipRight(
            Effect.annotateCurrentSpan({ rateLimited: n + 1 }),
            Effect.zipRight(Effect.sleep(wait), attempt(n + 1))
          )
        }
      }))
  return attempt(0)
}

/** The digest under `tag` at the destination, none when it has no such tag (or no such repository). */
const destinationDigest = (to: Endpoint, tag: string) =>
  to.client.manifestDigest(to.repository, tag).pipe(
    Effect.map(Option.some),
    Effect.catchIf(
      (e) => e._tag === "ManifestUnknown" || e._tag === "NameUnknown",
      () => Effect.succeed(Option.none<Digest.Digest>())
    )
  )

// The copy of each source digest in one run, shared by the tags of that image.
type Copies = Map<string, Deferred.Deferred<ImageCopy.Result, TagError>>

const syncTag = (
  options: Options,
  tag: string,
  copies: Copies,
  sharedBlobs: ImageCopy.SharedBlobs
): Effect.Effect<TagResult> => {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5)
  const maxWait = Duration.decode(options.maxWait ?? Duration.seconds(60))
  const guarded = <A>(run: Effect.Effect<A, TagError>) => honouringRateLimits(run, maxAttempts, maxWait)
  return Effect.gen(function*() {
    const source = yield* guarded(options.from.client.manifestDigest(options.from.repository, tag))
    const existing = yield* guarded(destinationDigest(options.to, tag))
    if (Option.isSome(existing) && existing.value === source) {
      return { tag, status: "Skipped" as const, digest: source }
    }
    const shared = copies.get(source)
    if (shared !== undefined) {
      // another tag of the same image is being copied: wait for it, then set this tag to the same manifest
      const copied = yield* Deferred.await(shared)
      yield* guarded(Retag.tag(options.to.client, options.to.repository, copied.digest, tag))
      return { tag, status: "Copied" as const, digest: copied.digest, bytes: 0 }
    }
    const mine = Deferred.unsafeMake<ImageCopy.Result, TagError>(FiberId.none)
    copies.set(source, mine)
    const copied = yield* guarded(ImageCopy.copy({
      // by digest, so a tag moved meanwhile cannot mix two images
      from: { ...options.from, reference: source },
      to: { ...options.to, tag },
      platforms: "all",
      concurrency: options.blobConcurrency,
      // images that share a blob (a base layer) copy it once
      sharedBlobs
    })).pipe(Effect.onExit((exit) => Deferred.done(mine, exit)))
    return { tag, status: "Copied" as const, digest: copied.digest, bytes: copied.bytes }
  }).pipe(
    Effect.catchAll((error) => Effect.succeed({ tag, status: "Failed" as const, error })),
    Effect.withSpan("RepositorySync.tag", { attributes: { tag } })
  )
}

/**
 * Copies the tags of `options.from` to `options.to` (see the module). Fails
 * only when the source's tags cannot be listed; each tag's outcome is in the
 * result.
 *
 * @example
 * ```ts
 * import { RegistryClient, RepositorySync } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const mirrored = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   RepositorySync.copyAllTags({
 *     from: { client, repository: "team/app" },
 *     to: { client, repository: "mirror/app" }
 *   })
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const copyAllTags = (options: Options): Effect.Effect<Result, SyncError> =>
  Effect.gen(function*() {
    const tags = options.tags ??
      (yield* options.from.client.tags(
        options.from.repository,
        options.maxTags !== undefined ? { maxItems: options.maxTags } : undefined
      ))
    const concurrency = Math.min(64, Math.max(1, options.concurrency ?? 2))
    const copies: Copies = new Map()
    const sharedBlobs = ImageCopy.makeSharedBlobs()
    const results = yield* Effect.forEach(
      Array.from(new Set(tags)),
      (tag) => syncTag(options, tag, copies, sharedBlobs),
      { concurrency }
    )
    return {
      from: options.from.repository,
      to: options.to.repository,
      tags: results,
      copied: results.filter((r) => r.status === "Copied").length,
      skipped: results.filter((r) => r.status === "Skipped").length,
      failed: results.filter((r) => r.status === "Failed").length
    }
  }).pipe(
    Effect.withSpan("RepositorySync.copyAllTags", {
      attributes: { from: options.from.repository, to: options.to.repository }
    })
  )

/**
 * Syncs several repositories from one registry to another, one after the
 * other, each with {@link copyAllTags}. `repositories` pairs a source
 * repository with its destination (default: the same name).
 *
 * @example
 * ```ts
 * import { RepositorySync } from "@effect-registry/core"
 * import type { RegistryClient } from "@effect-registry/core"
 *
 * declare const source: RegistryClient.Service
 * declare const mirror: RegistryClient.Service
 * const synced = RepositorySync.sync({
 *   from: source,
 *   to: mirror,
 *   repositories: [{ from: "team/app" }, { from: "team/db", to: "mirror/db" }]
 * })
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const sync = (
  options: Omit<Options, "from" | "to" | "tags"> & {
    readonly from: RegistryClient.Service
    readonly to: RegistryClient.Service
    readonly repositories: ReadonlyArray<{ readonly from: string; readonly to?: string | undefined }>
  }
): Effect.Effect<ReadonlyArray<Result>, SyncError> =>
  Effect.forEach(options.repositories, (r) =>
    copyAllTags({
      ...options,
      from: { client: options.from, repository: r.from },
      to: { client: options.to, repository: r.to ?? r.from }
    }))
