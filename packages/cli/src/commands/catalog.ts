/**
 * The command `effect-registry catalog HOST`.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { globalOptions, parseHost, result, withEnv } from "../internal/commandKit.js"

export const catalog = Command.make(
  "catalog",
  {
    global: globalOptions,
    host: Args.text({ name: "HOST" }),
    n: Options.integer("page-size").pipe(Options.withDescription("Entries asked per page"), Options.optional)
  },
  ({ global, host, n }) =>
    Effect.flatMap(parseHost(host), (h) =>
      withEnv(global, [h], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(h)
          yield* client.repositoriesStream(Option.isSome(n) ? { n: n.value } : {}).pipe(
            Stream.runForEach((repository) => result(env, repository, { repository }))
          )
        })))
).pipe(Command.withDescription("List the repositories of HOST"))
