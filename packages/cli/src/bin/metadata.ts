/**
 * The metadata commands (`digest`, `tags`, `manifest`, `config`, `ping`, `catalog`) on their plain command
 * lines (`../internal/metadataArgs.js`), without @effect/cli: the build bundles this module with its
 * dependencies into one script, `metadata.cjs`, and writes V8's code cache of that script beside it
 * (`metadata.cjs.cache`), which the bin compiles it with (`./codeCache.js`); most of the start-up of such a
 * command is loading the code it needs (issue 18). A command runs the same code as its `Command` in the tree
 * (`../internal/metadataRuns.js`), its outcome told as `Cli.run` tells it (`../internal/outcome.js`).
 *
 * @since 0.1.0
 */
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as CliEnv from "../internal/cliEnv.js"
import * as CliIo from "../internal/cliIo.js"
import * as MetadataArgs from "../internal/metadataArgs.js"
import * as Runs from "../internal/metadataRuns.js"
import * as Outcome from "../internal/outcome.js"
import { runAndExit } from "./exit.js"

const globalOf = (a: MetadataArgs.MetadataArgs): CliEnv.Global => ({
  username: Option.fromNullable(a.username),
  password: Option.map(Option.fromNullable(a.password), Redacted.make),
  passwordStdin: a.passwordStdin,
  insecure: a.insecure,
  plainHttp: a.plainHttp,
  caFile: Option.fromNullable(a.caFile),
  registryOpt: a.registryOpt,
  json: a.json,
  verbose: a.verbose
})

const commandOf = (a: MetadataArgs.MetadataArgs) => {
  const global = globalOf(a)
  switch (a.command) {
    case "digest":
      return Runs.digest({ global, ref: a.argument })
    case "tags":
      return Runs.tags({ global, repo: a.argument })
    case "manifest":
      return Runs.manifest({ global, ref: Option.some(a.argument), pretty: a.pretty })
    case "config":
      return Runs.config({ global, ref: a.argument, platform: Option.fromNullable(a.platform) })
    case "ping":
      return Runs.ping({ global, host: a.argument })
    case "catalog":
      return Runs.catalog({ global, host: a.argument, n: Option.fromNullable(a.pageSize) })
  }
}

// what the commands need of the platform (the tree gives them NodeContext)
const platform = Layer.mergeAll(
  NodeFileSystem.layer,
  NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer))
)

/**
 * Runs a metadata command line, for its exit code; a line {@link MetadataArgs.parse} does not read is a defect
 * (the bin gives only those it reads).
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<Outcome.ExitCode, never, CliIo.Io> =>
  Effect.gen(function*() {
    const args = MetadataArgs.parse(argv)
    if (args === undefined) return yield* Effect.dieMessage(`not a plain metadata command line: ${argv.join(" ")}`)
    const io = yield* CliIo.Io
    const secrets = yield* Ref.make<ReadonlyArray<string>>([])
    const scrub = (s: string) => Effect.map(Ref.get(secrets), (known) => CliIo.scrubber(known)(s))
    const exit = yield* commandOf(args).pipe(
      Effect.provide(platform),
      Effect.provideService(CliIo.Secrets, secrets),
      Effect.onInterrupt(() => CliIo.announceInterrupt(io)),
      Effect.provideService(CliIo.Interrupted, yield* Ref.make(false)),
      Effect.exit
    )
    return yield* Outcome.report(io, exit, args.json, scrub, Outcome.plainErrors)
  })

/**
 * Runs `argv` and exits the process with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const main = (argv: ReadonlyArray<string>): void => runAndExit(run(argv))

/**
 * Runs `argv` on the process's standard streams without exiting, for its exit code: how the build runs each
 * command once before writing the code cache, so that the cache holds what a run compiles.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runOnce = (argv: ReadonlyArray<string>): Promise<number> =>
  Effect.runPromise(run(argv).pipe(Effect.provide(CliIo.nodeIo)))
