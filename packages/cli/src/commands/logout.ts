/**
 * The command `effect-registry logout HOST`.
 */
import * as DockerConfig from "@effect-registry/node/DockerConfig"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, hostArg, parseHost, result, withEnv } from "../internal/commandKit.js"

export const logout = Command.make(
  "logout",
  { global: globalOptions, host: hostArg },
  ({ global, host }) =>
    Effect.gen(function*() {
      const h = yield* parseHost(host)
      yield* DockerConfig.logout(h)
      yield* withEnv(global, [], (env) => result(env, `Removed credentials for ${h}`, { registry: h, loggedOut: true }))
    })
).pipe(Command.withDescription("Remove the credentials of HOST from Docker's config.json"))
