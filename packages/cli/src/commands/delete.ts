/**
 * The command `effect-registry delete REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, parseRef, refArg, resolveDigest, result, withRegistry } from "../internal/commandKit.js"

export const deleteCommand = Command.make(
  "delete",
  { global: globalOptions, ref: refArg() },
  ({ global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* resolveDigest(client, r)
        yield* client.deleteManifest(r.repository, d)
        yield* result(env, `deleted ${d}`, { reference: Reference.format(r), digest: d, deleted: true })
      }))
).pipe(Command.withDescription("Delete the manifest of REF (a tag is resolved to its digest first)"))
