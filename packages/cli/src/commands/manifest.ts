/**
 * The commands `effect-registry manifest REF` and `effect-registry manifest put REF FILE`.
 */
import * as Manifest from "@effect-registry/core/Manifest"
import * as Reference from "@effect-registry/core/Reference"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../internal/cliIo.js"
import { arg, bad, globalOptions, parseRef, readFile, refArg, result, withRegistry } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

const manifestPut = Command.make(
  "put",
  {
    global: globalOptions,
    ref: refArg("REF", "Where to push it (a tag, or the manifest's digest)"),
    file: arg("FILE", "The manifest: a JSON file, pushed byte for byte"),
    mediaType: Options.text("media-type").pipe(
      Options.withDescription("The Content-Type to send (default: the manifest's mediaType field)"),
      Options.optional
    )
  },
  ({ file, global, mediaType, ref }) =>
    Effect.gen(function*() {
      const bytes = yield* readFile(file)
      if (bytes.length > Manifest.DefaultMaxSize) {
        return yield* bad(`${file}: ${bytes.length} bytes, a manifest is at most ${Manifest.DefaultMaxSize}`)
      }
      // decoded as the registry would: a malformed manifest is refused before sending
      const decoded = yield* Manifest.decode(bytes, Option.isSome(mediaType) ? { contentType: mediaType.value } : {})
        .pipe(Effect.mapError((e) => new CliError({ reason: "BadInput", detail: `${file}: ${e.message}`, cause: e })))
      yield* withRegistry(global, parseRef(ref), (env, client, r) =>
        Effect.gen(function*() {
          const digest = yield* client.putManifest(r.repository, Reference.manifestReference(r), {
            bytes,
            mediaType: Option.getOrElse(mediaType, () => decoded.mediaType)
          })
          yield* result(env, digest, {
            reference: Reference.format(r),
            digest,
            mediaType: Option.getOrElse(mediaType, () => decoded.mediaType),
            size: bytes.length
          })
        }))
    })
).pipe(Command.withDescription("Push the manifest in FILE, its exact bytes, as REF (a tag, or its digest)"))

export const manifest = Command.make(
  "manifest",
  {
    global: globalOptions,
    ref: refArg().pipe(Args.optional),
    pretty: Options.boolean("pretty").pipe(Options.withDescription("Indent the JSON (the bytes then differ)"))
  },
  Runs.manifest
).pipe(
  Command.withDescription("Print the manifest of REF: its exact bytes (or --pretty, or --json with digest)"),
  Command.withSubcommands([manifestPut])
)
