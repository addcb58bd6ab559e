/**
 * The command `effect-registry tag SRC NEWTAG`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as Retag from "@effect-registry/core/Retag"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { arg, bad, globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

/** NEWTAG: a bare tag, or a reference with a tag in the repository of `src`. */
const newTagOf = (src: Reference.Reference, s: string) =>
  s.includes("/")
    ? Effect.flatMap(parseRef(s), (r) =>
      r.registry !== src.registry || r.repository !== src.repository || r.tag === undefined || r.digest !== undefined
        ? Effect.fail(bad(`${s}: NEWTAG must be a tag of ${src.registry}/${src.repository} (a manifest PUT only)`))
        : Effect.succeed(r.tag))
    : Reference.tag(s)

export const tag = Command.make(
  "tag",
  {
    global: globalOptions,
    src: refArg("SRC", "The image to tag again"),
    newTag: arg("NEWTAG", "The new tag, in the same repository")
  },
  ({ global, newTag, src }) =>
    withRegistry(global, parseRef(src), (env, client, r) =>
      Effect.gen(function*() {
        const t = yield* newTagOf(r, newTag)
        const done = yield* Retag.tag(client, r.repository, Reference.manifestReference(r), t)
        yield* result(env, done.digest, {
          source: Reference.format(r),
          tag: done.tag,
          digest: done.digest,
          mediaType: done.mediaType
        })
      }))
).pipe(
  Command.withDescription(
    "Tag the manifest of SRC as NEWTAG in the same repository (the same bytes PUT again, no blob moves)"
  )
)
