/**
 * The checks of an operation's inputs, before any request.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Digest from "../../Digest.js"
import * as Reference from "../../Reference.js"

/**
 * A repository name and a tag or digest.
 *
 * @since 0.1.0
 */
export const validRef = (repository: string, reference: string) =>
  Effect.all({ repo: Reference.repository(repository), ref: Reference.tagOrDigest(reference) })

/**
 * A repository name and a digest.
 *
 * @since 0.1.0
 */
export const validBlob = (repository: string, digest: string) =>
  Effect.all({ repo: Reference.repository(repository), d: Digest.parse(digest) })
