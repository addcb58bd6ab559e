/**
 * The command `effect-registry login HOST`.
 */
import * as DockerConfig from "@effect-registry/node/DockerConfig"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { bad, globalOptions, hostArg, parseHostTarget, result, withEnv } from "../internal/commandKit.js"

export const login = Command.make(
  "login",
  { global: globalOptions, host: hostArg },
  ({ global, host }) =>
    Effect.gen(function*() {
      const t = yield* parseHostTarget(host)
      const h = t.registry
      if (Option.isNone(global.username)) {
        return yield* bad("login needs --username (-u) and a password: --password-stdin, -p, or the prompt")
      }
      yield* withEnv(global, [t], (env) =>
        Effect.gen(function*() {
          // making the client pings the registry with the credentials: bad ones fail here
          yield* env.client(h)
          if (Option.isNone(env.credentials)) return yield* bad("no credentials given")
          yield* DockerConfig.login(h, env.credentials.value)
          yield* result(env, "Login Succeeded", { registry: h, loggedIn: true })
        }))
    })
).pipe(Command.withDescription(
  "Check the credentials against HOST and store them in Docker's config.json (or its credential helper)"
))
