/**
 * The command `effect-registry pull REF DIR`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parsePlatform,
  parseRef,
  platformOption,
  result,
  withEnv
} from "../internal/commandKit.js"

export const pull = Command.make(
  "pull",
  {
    global: globalOptions,
    ref: Args.text({ name: "REF" }),
    dir: Args.text({ name: "DIR" }),
    platform: platformOption,
    concurrency: concurrencyOption
  },
  ({ concurrency, dir, global, platform, ref }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const wanted = yield* parsePlatform(platform)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const pulled = yield* OciLayout.pull(client, r.repository, Reference.manifestReference(r), dir, {
            concurrency: n,
            ...(Option.isSome(wanted) ? { platform: wanted.value } : {}),
            ...(r.tag !== undefined && r.digest === undefined ? { ref: r.tag } : {})
          })
          yield* result(env, pulled.digest, {
            reference: Reference.format(r),
            digest: pulled.digest,
            refName: pulled.refName ?? null,
            manifests: pulled.manifests,
            blobs: pulled.blobs
          })
        }))
    })
).pipe(Command.withDescription("Pull REF (with everything it references) into an OCI layout directory"))
