/**
 * The command `effect-registry referrers REF`.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  descriptorJson,
  globalOptions,
  parseRef,
  refArg,
  resolveDigest,
  result,
  withRegistry
} from "../internal/commandKit.js"

export const referrers = Command.make(
  "referrers",
  {
    global: globalOptions,
    ref: refArg(),
    artifactType: Options.text("artifact-type").pipe(
      Options.withDescription("Only this artifact type"),
      Options.optional
    )
  },
  ({ artifactType, global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* resolveDigest(client, r)
        const found = yield* client.referrers(r.repository, d, {
          artifactType: Option.getOrUndefined(artifactType)
        })
        yield* Effect.forEach(found, (entry) =>
          result(
            env,
            `${entry.digest} ${entry.artifactType ?? entry.mediaType} ${entry.size}`,
            { subject: d, ...descriptorJson(entry) }
          ), { discard: true })
      }))
).pipe(Command.withDescription("List the manifests that refer to REF (referrers API or tag fallback)"))
