/**
 * The command `effect-registry ping HOST`.
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, hostArg, parseHostTarget, result, withEnv } from "../internal/commandKit.js"

export const ping = Command.make(
  "ping",
  { global: globalOptions, host: hostArg },
  ({ global, host }) =>
    Effect.flatMap(parseHostTarget(host), (t) =>
      withEnv(global, [t], (env) =>
        Effect.gen(function*() {
          // making the client pings the registry (through auth)
          const client = yield* env.client(t.registry)
          yield* result(env, `${t.registry}: ok`, { registry: t.registry, url: client.url, ok: true })
        })))
).pipe(Command.withDescription("Check that HOST speaks the registry API (GET /v2/)"))
