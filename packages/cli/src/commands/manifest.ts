/**
 * The command `effect-registry manifest REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { decodeJson, globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

export const manifest = Command.make(
  "manifest",
  {
    global: globalOptions,
    ref: refArg(),
    pretty: Options.boolean("pretty").pipe(Options.withDescription("Indent the JSON (the bytes then differ)"))
  },
  ({ global, pretty, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const m = yield* client.getManifest(r.repository, Reference.manifestReference(r))
        if (global.json) {
          const parsed = yield* decodeJson(m.bytes, "the manifest")
          yield* result(env, "", {
            reference: Reference.format(r),
            digest: m.digest,
            mediaType: m.mediaType,
            size: m.bytes.length,
            manifest: parsed
          })
        } else if (pretty) {
          const parsed = yield* decodeJson(m.bytes, "the manifest")
          yield* env.io.stdout(JSON.stringify(parsed, null, 2) + "\n")
        } else {
          yield* env.io.stdout(m.bytes)
        }
      }))
).pipe(Command.withDescription("Print the manifest of REF: its exact bytes (or --pretty, or --json with digest)"))
