/**
 * The command `effect-registry export REF FILE`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as DockerArchive from "@effect-registry/node/DockerArchive"
import * as OciArchive from "@effect-registry/node/OciArchive"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
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
  withRegistry
} from "../internal/commandKit.js"

export const formatOption = Options.choice("format", ["docker-archive", "oci-archive"]).pipe(
  Options.withDescription("docker-archive: what docker save writes (one image); oci-archive: an OCI layout in a tar"),
  Options.withDefault("docker-archive" as const)
)

export const exportCommand = Command.make(
  "export",
  {
    global: globalOptions,
    ref: refArg("REF", "The image to export"),
    file: arg("FILE", "The tar archive to write"),
    format: formatOption,
    platform: platformOption,
    repoTag: Options.text("repo-tag").pipe(
      Options.withDescription("docker-archive: a RepoTags name (repeatable; default: REF's familiar name and tag)"),
      Options.repeated
    ),
    refName: Options.text("ref-name").pipe(
      Options.withDescription("oci-archive: the index.json ref name (default: REF's tag)"),
      Options.optional
    ),
    concurrency: concurrencyOption
  },
  ({ concurrency, file, format, global, platform, ref, refName, repoTag }) =>
    Effect.gen(function*() {
      const wanted = yield* parsePlatform(platform)
      const n = yield* checkConcurrency(concurrency)
      yield* withRegistry(global, parseRef(ref), (env, client, r) =>
        Effect.gen(function*() {
          const image = {
            repository: r.repository,
            reference: Reference.manifestReference(r),
            ...(Option.isSome(wanted) ? { platform: wanted.value } : {})
          }
          if (format === "docker-archive") {
            const saved = yield* DockerArchive.exportImage(client, {
              ...image,
              ...(repoTag.length > 0 ? { repoTags: repoTag } : r.tag !== undefined && r.digest === undefined
                ? { repoTags: [Reference.familiar(r)] }
                : {})
            }, file)
            yield* result(env, saved.manifest, {
              reference: Reference.format(r),
              path: saved.path,
              format,
              digest: saved.manifest,
              config: saved.config,
              repoTags: saved.repoTags
            })
          } else {
            const saved = yield* OciArchive.exportImage(client, {
              ...image,
              concurrency: n,
              ...(Option.isSome(refName) ? { ref: refName.value } : {})
            }, file)
            yield* result(env, saved.digest, {
              reference: Reference.format(r),
              path: saved.path,
              format,
              digest: saved.digest,
              mediaType: saved.mediaType,
              refName: saved.refName ?? null,
              converted: saved.converted
            })
          }
        }))
    })
).pipe(
  Command.withDescription(
    "Write the image REF to FILE: a docker-archive (docker load, skopeo docker-archive:) or, with --format " +
      "oci-archive, an OCI layout tar (skopeo oci-archive:); an index is resolved with --platform (default " +
      "linux/amd64) for a docker-archive"
  )
)
