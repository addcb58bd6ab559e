/**
 * The command `effect-registry digest REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

export const digest = Command.make(
  "digest",
  { global: globalOptions, ref: refArg() },
  ({ global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* client.manifestDigest(r.repository, Reference.manifestReference(r))
        yield* result(env, d, { reference: Reference.format(r), digest: d })
      }))
).pipe(Command.withDescription("Print the digest of the manifest of REF"))
