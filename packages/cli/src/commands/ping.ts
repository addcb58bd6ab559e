/**
 * The command `effect-registry ping HOST`.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, parseHost, result, withEnv } from "../internal/commandKit.js"

export const ping = Command.make(
  "ping",
  { global: globalOptions, host: Args.text({ name: "HOST" }) },
  ({ global, host }) =>
    Effect.flatMap(parseHost(host), (h) =>
      withEnv(global, [h], (env) =>
        Effect.gen(function*() {
          // making the client pings the registry (through auth)
          const client = yield* env.client(h)
          yield* result(env, `${h}: ok`, { registry: h, url: client.url, ok: true })
        })))
).pipe(Command.withDescription("Check that HOST speaks the registry API (GET /v2/)"))
