/**
 * The command `effect-registry push DIR REF`.
 */
import * as Reference from "@effect-registry/core/Reference"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as PlatformCommand from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../internal/cliIo.js"
import {
  bad,
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parseRef,
  result,
  withEnv
} from "../internal/commandKit.js"

/** An OCI layout directory, or a `.tar` of one extracted to a scoped temp dir. */
const layoutDir = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((cause) => new CliError({ reason: "BadInput", detail: `cannot read ${path}`, cause }))
    )
    if (info.type === "Directory") return path
    const temp = yield* fs.makeTempDirectoryScoped({ prefix: "effect-registry-" }).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot make a temp dir", cause }))
    )
    const code = yield* PlatformCommand.exitCode(PlatformCommand.make("tar", "-xf", path, "-C", temp)).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot run tar", cause }))
    )
    if (code !== 0) return yield* bad(`${path}: not a directory nor a tar archive tar could extract`)
    return temp
  })

export const push = Command.make(
  "push",
  {
    global: globalOptions,
    dir: Args.text({ name: "DIR" }),
    ref: Args.text({ name: "REF" }),
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
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const layout = yield* layoutDir(dir)
          const pushed = yield* OciLayout.push(
            client,
            layout,
            r.repository,
            r.digest === undefined ? r.tag : undefined,
            {
              concurrency: n,
              ...(Option.isSome(refName) ? { ref: refName.value } : {})
            }
          )
          yield* result(env, pushed, { reference: Reference.format(r), digest: pushed })
        }))
    })
).pipe(Command.withDescription("Push an image or index from an OCI layout directory (or a .tar of one) to REF"))
