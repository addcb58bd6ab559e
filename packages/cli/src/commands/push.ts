/**
 * The command `effect-registry push DIR REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as DockerArchive from "@effect-registry/node/DockerArchive"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as PlatformCommand from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Path from "node:path"
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
  target,
  withEnv
} from "../internal/commandKit.js"

const dockerSave = (path: string) =>
  bad(
    `not an OCI layout: ${path}: this looks like a \`docker save\` archive (manifest.json, no oci-layout); use ` +
      "`effect-registry import` for it"
  )

/** An OCI layout directory, or a `.tar` of one extracted to a scoped temp dir. */
const layoutDir = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((cause) => new CliError({ reason: "BadInput", detail: `cannot read ${path}`, cause }))
    )
    const has = (name: string) => Effect.orElseSucceed(fs.exists(Path.join(path, name)), () => false)
    if (info.type === "Directory") {
      if (!(yield* has("oci-layout")) && (yield* has("manifest.json"))) return yield* dockerSave(path)
      return path
    }
    const kind = yield* Effect.either(DockerArchive.detect(path))
    if (Either.isRight(kind) && kind.right === "docker-archive") return yield* dockerSave(path)
    const temp = yield* fs.makeTempDirectoryScoped({ prefix: "effect-registry-" }).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot make a temp dir", cause }))
    )
    const code = yield* PlatformCommand.exitCode(PlatformCommand.make("tar", "-xf", path, "-C", temp)).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot run tar", cause }))
    )
    if (code !== 0) return yield* bad(`${path}: not a directory nor a tar archive tar could extract`)
    return temp
  })

/** Several entries and no ref name: name them and the option that picks one. */
const ambiguous = (dir: string, layout: string) =>
  Effect.gen(function*() {
    const index = yield* Effect.either(OciLayout.entries(layout))
    const names = Either.isRight(index)
      ? index.right.map((m) => OciLayout.refName(m) ?? m.digest).slice(0, 10)
      : []
    const listed = names.length > 0 ? ` (${names.map((n) => RegistryError.printable(n, 128)).join(", ")})` : ""
    return yield* bad(
      `${dir} holds several images${listed} and none is named like the tag; name the one to push with --ref-name`
    )
  })

export const push = Command.make(
  "push",
  {
    global: globalOptions,
    dir: arg("DIR", "An OCI layout directory, or a .tar of one (a `docker save` archive: use import)"),
    ref: refArg(),
    concurrency: concurrencyOption,
    refName: Options.text("ref-name").pipe(
      Options.withDescription("The index.json entry to push (default: the one named like the tag, else the only one)"),
      Options.optional
    )
  },
  ({ concurrency, dir, global, ref, refName }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [target(r)], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const layout = yield* layoutDir(dir)
          const pushed = yield* Effect.catchIf(
            OciLayout.push(
              client,
              layout,
              r.repository,
              r.digest === undefined ? r.tag : undefined,
              {
                concurrency: n,
                ...(Option.isSome(refName) ? { ref: refName.value } : {})
              }
            ),
            (e) => e._tag === "OciLayoutError" && e.reason === "Ambiguous",
            () => ambiguous(dir, layout)
          )
          yield* result(env, pushed, { reference: Reference.format(r), digest: pushed })
        }))
    })
).pipe(Command.withDescription("Push an image or index from an OCI layout directory (or a .tar of one) to REF"))
