/**
 * The command `effect-registry copy SRC DST`.
 */
import * as ImageCopy from "@effect-registry/core/ImageCopy"
import * as Platform from "@effect-registry/core/Platform"
import * as Reference from "@effect-registry/core/Reference"
import * as RepositorySync from "@effect-registry/core/RepositorySync"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { CliError } from "../internal/cliIo.js"
import {
  bad,
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parseRef,
  parseRepo,
  refArg,
  result,
  target,
  withEnv
} from "../internal/commandKit.js"
import { checkSync, printSync } from "../internal/syncOutput.js"

/** `copy --all-tags SRC_REPO DST_REPO`: every tag, the ones the destination has skipped. */
const copyAllTags = (
  global: Parameters<typeof withEnv>[0],
  src: string,
  dst: string,
  concurrency: number
) =>
  Effect.gen(function*() {
    const from = yield* parseRepo(src)
    const to = yield* parseRepo(dst)
    yield* withEnv(global, [target(from), target(to)], (env) =>
      Effect.gen(function*() {
        const r = yield* RepositorySync.copyAllTags({
          from: { client: yield* env.client(from.registry), repository: from.repository },
          to: { client: yield* env.client(to.registry), repository: to.repository },
          blobConcurrency: concurrency
        })
        yield* printSync(env, Reference.format(from), Reference.format(to), r)
        yield* checkSync([r])
      }))
  })

export const copy = Command.make(
  "copy",
  {
    global: globalOptions,
    src: refArg("SRC", "The image or index to copy"),
    dst: refArg("DST", "Where to copy it"),
    platform: Options.text("platform").pipe(
      Options.withDescription("Copy only the image for os/arch[/variant] from an index (repeatable)"),
      Options.repeated,
      Options.withDefault([])
    ),
    allPlatforms: Options.boolean("all-platforms").pipe(
      Options.withDescription("Copy an index with every image (the default)")
    ),
    referrers: Options.boolean("referrers").pipe(Options.withDescription("Also copy the referrers")),
    allTags: Options.boolean("all-tags").pipe(
      Options.withDescription(
        "SRC and DST are repositories: copy every tag, skipping tags DST already has with the same digest"
      )
    ),
    concurrency: concurrencyOption
  },
  ({ allPlatforms, allTags, concurrency, dst, global, platform, referrers, src }) =>
    Effect.gen(function*() {
      if (allTags) {
        if (platform.length > 0 || referrers) {
          return yield* bad("--all-tags copies whole images: no --platform, --referrers")
        }
        return yield* copyAllTags(global, src, dst, yield* checkConcurrency(concurrency))
      }
      const from = yield* parseRef(src)
      const to = yield* parseRef(dst)
      if (allPlatforms && platform.length > 0) return yield* bad("--platform and --all-platforms exclude each other")
      const platforms = yield* Effect.forEach(platform, Platform.parse)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [target(from), target(to)], (env) =>
        Effect.gen(function*() {
          // a mirror of the source registry that has the image serves it (settings file, --registry-opt)
          const source = yield* env.pullClient(from.registry, from.repository, Reference.manifestReference(from))
          const target = yield* env.client(to.registry)
          const copied = yield* ImageCopy.copy({
            from: { client: source, repository: from.repository, reference: Reference.manifestReference(from) },
            to: { client: target, repository: to.repository, tag: to.digest === undefined ? to.tag : undefined },
            platforms: platforms.length > 0 ? platforms : "all",
            concurrency: n,
            referrers
          })
          if (to.digest !== undefined && to.digest !== copied.digest) {
            return yield* new CliError({
              reason: "Failed",
              detail: `copied ${copied.digest}, not the digest ${to.digest} of the destination`
            })
          }
          yield* result(env, copied.digest, {
            source: Reference.format(from),
            destination: Reference.format(to),
            digest: copied.digest,
            mediaType: copied.mediaType,
            tag: copied.tag ?? null,
            manifests: copied.manifests.length,
            transferred: copied.transferred,
            existed: copied.existed,
            mounted: copied.mounted,
            bytes: copied.bytes
          })
        }))
    })
).pipe(Command.withDescription(
  "Copy an image or index from SRC to DST (blobs mounted on the same registry); with --all-tags, every tag of " +
    "the repository SRC to the repository DST"
))
