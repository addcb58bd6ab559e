/**
 * The commands `effect-registry index create|add`.
 */
import * as IndexEdit from "@effect-registry/core/IndexEdit"
import * as Reference from "@effect-registry/core/Reference"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { CliError } from "../internal/cliIo.js"
import { bad, descriptorJson, globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

/**
 * An image for the index `index`: a tag or digest (`sha256:…`, `@sha256:…`) of its repository, or a
 * reference in the same registry.
 */
const sourceOf = (
  index: Reference.Reference,
  s: string
): Effect.Effect<
  IndexEdit.Source,
  CliError | RegistryError.ReferenceInvalid | RegistryError.TagInvalid | RegistryError.DigestInvalid
> => {
  const bare = s.startsWith("@") ? s.slice(1) : s
  if (!bare.includes("/")) {
    return Effect.map(
      Reference.tagOrDigest(bare),
      (t): IndexEdit.Source => ({ reference: t._tag === "Tag" ? t.tag : t.digest })
    )
  }
  return Effect.flatMap(parseRef(s), (r) =>
    r.registry !== index.registry
      ? Effect.fail(bad(`${s}: an image of another registry; copy it to ${index.registry} first`))
      : Effect.succeed<IndexEdit.Source>({ repository: r.repository, reference: Reference.manifestReference(r) }))
}

const annotationsOf = (pairs: ReadonlyArray<string>) =>
  Effect.forEach(pairs, (p) => {
    const i = p.indexOf("=")
    return i <= 0
      ? Effect.fail(bad(`--annotation ${p}: expected KEY=VALUE`))
      : Effect.succeed([p.slice(0, i), p.slice(i + 1)] as const)
  }).pipe(Effect.map((entries) => Object.fromEntries(entries)))

/** The library's refusals are the user's input: exit code 2. */
const asBadInput = (e: IndexEdit.IndexEditError) => new CliError({ reason: "BadInput", detail: e.message, cause: e })

const printResult = (env: Parameters<typeof result>[0], r: Reference.Reference, done: IndexEdit.Result) =>
  result(env, done.digest, {
    reference: Reference.format(r),
    digest: done.digest,
    mediaType: done.mediaType,
    tag: done.tag ?? null,
    manifests: done.manifests.map(descriptorJson).map((d, i) => ({ ...d, platform: done.manifests[i].platform }))
  })

const images = refArg("IMAGE", "An image to list in the index (repeatable)").pipe(Args.atLeast(1))

const indexCreate = Command.make(
  "create",
  {
    global: globalOptions,
    ref: refArg("REF", "The index to write"),
    images,
    format: Options.choice("format", ["oci", "docker"]).pipe(
      Options.withDescription("oci: an OCI image index; docker: a Docker manifest list"),
      Options.withDefault("oci" as const)
    ),
    annotation: Options.text("annotation").pipe(
      Options.withDescription("KEY=VALUE annotation of an OCI index (repeatable)"),
      Options.repeated
    )
  },
  ({ annotation, format, global, images, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        if (r.digest !== undefined) return yield* bad(`${ref}: give the index a tag, not a digest`)
        if (format === "docker" && annotation.length > 0) return yield* bad("a Docker manifest list has no annotations")
        const sources = yield* Effect.forEach(images, (s) => sourceOf(r, s))
        const annotations = yield* annotationsOf(annotation)
        const done = yield* IndexEdit.create(client, r.repository, sources, {
          format,
          tag: r.tag,
          ...(annotation.length > 0 ? { annotations } : {})
        }).pipe(Effect.catchTag("IndexEditError", (e) => Effect.fail(asBadInput(e))))
        yield* printResult(env, r, done)
      }))
).pipe(
  Command.withDescription(
    "Make a multi-platform index of existing images (tags or digests of REF's repository, or references in the " +
      "same registry, copied in) and push it as REF; each entry's platform comes from the image's config"
  )
)

const indexAdd = Command.make(
  "add",
  { global: globalOptions, ref: refArg("REF", "The index to add to"), images },
  ({ global, images, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const sources = yield* Effect.forEach(images, (s) => sourceOf(r, s))
        const done = yield* IndexEdit.add(client, r.repository, Reference.manifestReference(r), sources)
          .pipe(Effect.catchTag("IndexEditError", (e) => Effect.fail(asBadInput(e))))
        yield* printResult(env, r, done)
      }))
).pipe(
  Command.withDescription(
    "Add images to the index REF (an entry of the same platform is replaced) and push it back under REF's tag"
  )
)

export const index = Command.make("index").pipe(
  Command.withDescription("Build multi-platform indexes from images already in a registry"),
  Command.withSubcommands([indexCreate, indexAdd])
)
