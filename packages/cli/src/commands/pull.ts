/**
 * The command `effect-registry pull REF DIR`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  arg,
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parsePlatform,
  parseRef,
  platformOption,
  refArg,
  result,
  target,
  withEnv
} from "../internal/commandKit.js"

export const pull = Command.make(
  "pull",
  {
    global: globalOptions,
    ref: refArg(),
    dir: arg("DIR", "The OCI layout directory to write (made if absent)"),
    platform: platformOption,
    concurrency: concurrencyOption
  },
  ({ concurrency, dir, global, platform, ref }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const wanted = yield* parsePlatform(platform)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [target(r)], (env) =>
        Effect.gen(function*() {
          // a mirror of the registry that has the image serves it (settings file, --registry-opt)
          const client = yield* env.pullClient(r.registry, r.repository, Reference.manifestReference(r))
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
