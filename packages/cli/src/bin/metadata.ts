/**
 * The metadata commands (`digest`, `tags`, `manifest`, `config`, `ping`, `catalog`) in one module: the build
 * bundles it with its dependencies into one script, `metadata.cjs`, and writes V8's code cache of that script
 * beside it (`metadata.cjs.cache`), which the bin compiles it with (`./codeCache.js`): most of the start-up of
 * such a command is compiling the code it loads (issue 18). Each command is the same `Command` as in the tree,
 * run by the same runner.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { catalog } from "../commands/catalog.js"
import { config } from "../commands/config.js"
import { digest } from "../commands/digest.js"
import { manifest } from "../commands/manifest.js"
import { ping } from "../commands/ping.js"
import { tags } from "../commands/tags.js"
import * as CliIo from "../internal/cliIo.js"
import * as Runner from "../internal/runner.js"
import { runAndExit } from "./exit.js"

type Run = (argv: ReadonlyArray<string>) => Effect.Effect<Runner.ExitCode, never, CliIo.Io>

/**
 * The commands of this module by name (the bin's `metadataNames`).
 *
 * @since 0.1.0
 * @category constants
 */
export const commands: Readonly<Record<string, Run>> = {
  digest: (argv) => Runner.run(Runner.rootOf(digest), argv),
  tags: (argv) => Runner.run(Runner.rootOf(tags), argv),
  manifest: (argv) => Runner.run(Runner.rootOf(manifest), argv),
  config: (argv) => Runner.run(Runner.rootOf(config), argv),
  ping: (argv) => Runner.run(Runner.rootOf(ping), argv),
  catalog: (argv) => Runner.run(Runner.rootOf(catalog), argv)
}

const program = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const run = argv.length > 0 && Object.hasOwn(commands, argv[0]) ? commands[argv[0]] : undefined
    return run !== undefined ? run(argv) : Effect.dieMessage(`not a metadata command: ${String(argv[0])}`)
  })

/**
 * Runs `argv` (whose first element names one of {@link commands}) and exits the process with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const main = (argv: ReadonlyArray<string>): void => runAndExit(program(argv))

/**
 * Runs `argv` on the process's standard streams without exiting, for its exit code: how the build runs each
 * command once before writing the code cache, so that the cache holds what a run compiles.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runOnce = (argv: ReadonlyArray<string>): Promise<number> =>
  Effect.runPromise(program(argv).pipe(Effect.provide(CliIo.nodeIo)))
