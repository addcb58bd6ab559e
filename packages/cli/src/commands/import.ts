/**
 * The command `effect-registry import FILE REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as DockerArchive from "@effect-registry/node/DockerArchive"
import * as OciArchive from "@effect-registry/node/OciArchive"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../internal/cliIo.js"
import {
  arg,
  bad,
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parseRef,
  refArg,
  result,
  withRegistry
} from "../internal/commandKit.js"

export const importCommand = Command.make(
  "import",
  {
    global: globalOptions,
    file: arg("FILE", "The tar archive to read: `docker save` or an OCI archive"),
    ref: refArg("REF", "Where to push the image"),
    image: Options.text("image").pipe(
      Options.withDescription("docker-archive: the image to push, by one of its RepoTags (default: the only one)"),
      Options.optional
    ),
    refName: Options.text("ref-name").pipe(
      Options.withDescription(
        "oci-archive: the index.json entry (default: the one named like the tag, else the only one)"
      ),
      Options.optional
    ),
    concurrency: concurrencyOption
  },
  ({ concurrency, file, global, image, ref, refName }) =>
    Effect.gen(function*() {
      const n = yield* checkConcurrency(concurrency)
      const kind = yield* DockerArchive.detect(file)
      if (kind === "none") {
        return yield* bad(
          `${file}: a tar, but neither a docker-archive (manifest.json) nor an oci-archive (index.json)`
        )
      }
      yield* withRegistry(global, parseRef(ref), (env, client, r) =>
        Effect.gen(function*() {
          const tag = r.digest === undefined ? r.tag : undefined
          const digest = kind === "docker-archive"
            ? (yield* DockerArchive.importImage(file, client, {
              repository: r.repository,
              tag,
              concurrency: n,
              ...(Option.isSome(image) ? { select: image.value } : {})
            })).manifest
            : yield* OciArchive.importImage(file, client, {
              repository: r.repository,
              tag,
              concurrency: n,
              ...(Option.isSome(refName) ? { ref: refName.value } : {})
            })
          if (r.digest !== undefined && r.digest !== digest) {
            return yield* new CliError({
              reason: "Failed",
              detail: `pushed ${digest}, not the digest ${r.digest} of REF`
            })
          }
          yield* result(env, digest, { reference: Reference.format(r), path: file, format: kind, digest })
        }))
    })
).pipe(
  Command.withDescription(
    "Push the image in FILE to REF: a docker-archive (docker save, skopeo docker-archive:) or an oci-archive " +
      "(skopeo oci-archive:), told apart by its contents"
  )
)
