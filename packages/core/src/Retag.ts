/**
 * Give a manifest another tag in the same repository: its exact bytes are read
 * and put again under the new tag. No blob moves, and the digest stays the
 * same (what `crane tag` and `docker buildx imagetools create --tag` do).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Digest from "./Digest.js"
import * as Reference from "./Reference.js"
import type * as RegistryClient from "./RegistryClient.js"
import type * as RegistryError from "./RegistryError.js"

/**
 * What {@link tag} did.
 *
 * @since 0.2.0
 * @category models
 */
export interface Result {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly tag: string
}

/**
 * @since 0.2.0
 * @category errors
 */
export type TagError = RegistryClient.GetManifestError | RegistryClient.PutManifestError | RegistryError.TagInvalid

/**
 * Tags the manifest `source` (a tag or a digest) of `repository` as `newTag`:
 * one manifest GET and one manifest PUT of the same bytes. A `newTag` that is
 * not a valid tag fails with `TagInvalid` before any request.
 *
 * @example
 * ```ts
 * import { RegistryClient, Retag } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const released = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   Retag.tag(client, "team/app", "v1.2.3-rc1", "v1.2.3")
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const tag = (
  client: RegistryClient.Service,
  repository: string,
  source: string,
  newTag: string
): Effect.Effect<Result, TagError> =>
  Effect.gen(function*() {
    const valid = yield* Reference.tag(newTag)
    const m = yield* client.getManifest(repository, source)
    const digest = yield* client.putManifest(repository, valid, { bytes: m.bytes, mediaType: m.mediaType })
    return { digest, mediaType: m.mediaType, tag: valid }
  }).pipe(Effect.withSpan("Retag.tag", { attributes: { repository, source, tag: newTag } }))
