/**
 * The command `effect-registry tags REPO`.
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { globalOptions, parseRepo, repoArg, result, withRegistry } from "../internal/commandKit.js"

export const tags = Command.make(
  "tags",
  { global: globalOptions, repo: repoArg() },
  ({ global, repo }) =>
    withRegistry(global, parseRepo(repo), (env, client, r) =>
      Effect.gen(function*() {
        yield* client.tagsStream(r.repository).pipe(
          Stream.runForEach((tag) => result(env, tag, { repository: r.repository, tag }))
        )
      }))
).pipe(Command.withDescription("List the tags of REPO (host/repository)"))
