/**
 * The command `effect-registry catalog HOST`.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { globalOptions, hostArg, parseHostTarget, result, withEnv } from "../internal/commandKit.js"

export const catalog = Command.make(
  "catalog",
  {
    global: globalOptions,
    host: hostArg,
    n: Options.integer("page-size").pipe(Options.withDescription("Entries asked per page"), Options.optional)
  },
  ({ global, host, n }) =>
    Effect.flatMap(parseHostTarget(host), (t) =>
      withEnv(global, [t], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(t.registry)
          yield* client.repositoriesStream(Option.isSome(n) ? { n: n.value } : {}).pipe(
            Stream.runForEach((repository) => result(env, repository, { repository }))
          )
        })))
).pipe(Command.withDescription("List the repositories of HOST"))
