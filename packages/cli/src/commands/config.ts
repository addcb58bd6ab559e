/**
 * The command `effect-registry config REF`.
 */
import * as Manifest from "@effect-registry/core/Manifest"
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../internal/cliIo.js"
import {
  collectConfig,
  decodeJson,
  globalOptions,
  imageManifest,
  parsePlatform,
  parseRef,
  platformOption,
  refArg,
  result,
  target,
  withEnv
} from "../internal/commandKit.js"

export const config = Command.make(
  "config",
  { global: globalOptions, ref: refArg(), platform: platformOption },
  ({ global, platform, ref }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const wanted = yield* parsePlatform(platform)
      yield* withEnv(global, [target(r)], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const m = yield* imageManifest(client, r, wanted)
          const descriptor = Manifest.config(m)
          if (Option.isNone(descriptor)) {
            return yield* new CliError({
              reason: "Failed",
              detail: `${Reference.format(r)}: a ${m.kind} manifest has no config blob`
            })
          }
          const bytes = yield* collectConfig(client, r.repository, descriptor.value)
          if (global.json) {
            const parsed = yield* decodeJson(bytes, "the config")
            yield* result(env, "", { reference: Reference.format(r), digest: descriptor.value.digest, config: parsed })
          } else {
            yield* env.io.stdout(bytes)
          }
        }))
    })
).pipe(Command.withDescription("Print the image config blob of REF (from an index: --platform, default linux/amd64)"))
