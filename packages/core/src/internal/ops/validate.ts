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
  // (as `Effect.all({ repo, ref })`, in order and stopping at the first failure, without its traversal)
  Effect.flatMap(Reference.repository(repository), (repo) =>
    Effect.map(Reference.tagOrDigest(reference), (ref) => ({ repo, ref })))

/**
 * A repository name and a digest.
 *
 * @since 0.1.0
 */
export const validBlob = (repository: string, digest: string) =>
  Effect.flatMap(Reference.repository(repository), (repo) => Effect.map(Digest.parse(digest), (d) => ({ repo, d })))
