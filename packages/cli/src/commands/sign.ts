/**
 * The command `effect-registry sign REF`.
 */
import * as Digest from "@effect-registry/core/Digest"
import * as MediaType from "@effect-registry/core/MediaType"
import * as Reference from "@effect-registry/core/Reference"
import * as Key from "@effect-registry/signing/Key"
import * as Schema1 from "@effect-registry/signing/Schema1"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  bad,
  globalOptions,
  imageManifest,
  parseRef,
  readFile,
  refArg,
  result,
  target,
  withEnv
} from "../internal/commandKit.js"

export const sign = Command.make(
  "sign",
  {
    global: globalOptions,
    ref: refArg(),
    key: Options.text("key").pipe(Options.withDescription("PEM file of the private key (EC P-256/384/521 or RSA)")),
    layer: Options.text("layer").pipe(
      Options.withDescription("Build the schema 1 manifest from these layer digests, bottom first (repeatable)"),
      Options.repeated
    ),
    configFile: Options.text("config").pipe(
      Options.withDescription("With --layer: the image config JSON file (default {})"),
      Options.optional
    ),
    file: Options.text("file").pipe(
      Options.withDescription("Sign this schema 1 manifest JSON file (unsigned or signed) instead"),
      Options.optional
    ),
    tag: Options.text("tag").pipe(
      Options.withDescription("Push the signed manifest under this tag (default: REF's tag)"),
      Options.optional
    ),
    dryRun: Options.boolean("dry-run").pipe(
      Options.withDescription("Print the signed manifest instead of pushing it")
    )
  },
  ({ configFile, dryRun, file, global, key, layer, ref, tag: tagOption }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const tag = Option.isSome(tagOption)
        ? yield* Reference.tag(tagOption.value)
        : r.digest === undefined
        ? r.tag
        : undefined
      if (tag === undefined) return yield* bad("sign needs a tag: REF with a tag, or --tag")
      if (Option.isSome(file) && layer.length > 0) return yield* bad("--file and --layer exclude each other")
      if (Option.isSome(configFile) && layer.length === 0) return yield* bad("--config needs --layer")
      const layers = yield* Effect.forEach(layer, Digest.parse)
      const pem = new TextDecoder().decode(yield* readFile(key))
      const privateKey = yield* Key.privateKeyFromPem(pem)
      yield* withEnv(global, [target(r)], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          let input: Schema1.Input
          if (Option.isSome(file)) {
            input = yield* readFile(file.value)
          } else if (layers.length > 0) {
            const configBytes = Option.isSome(configFile) ? yield* readFile(configFile.value) : "{}"
            input = yield* Schema1.build({ name: r.repository, tag, layers, config: configBytes })
          } else {
            const m = yield* imageManifest(client, r, Option.none())
            input = yield* Schema1.fromImage(client, r.repository, m, { tag })
          }
          const signed = yield* Schema1.sign(input, privateKey)
          if (dryRun) {
            yield* env.io.stdout(signed.bytes)
            return
          }
          const pushed = yield* client.putManifest(r.repository, tag, signed)
          yield* result(env, pushed, {
            reference: Reference.format(r),
            digest: pushed,
            mediaType: MediaType.DockerManifestSchema1Signed,
            keyIds: signed.keyIds
          })
        }))
    })
).pipe(Command.withDescription(
  "Sign a schema 1 manifest with --key and push it to REF's repository under --tag (default REF's tag). " +
    "Its content: by default REF's image (its config and layers, converted to schema 1); or --file (a schema 1 " +
    "JSON file, signed or not); or --layer DIGEST... [--config FILE] (built). --dry-run prints it instead."
))
