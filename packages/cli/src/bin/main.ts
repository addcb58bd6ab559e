/**
 * The body of the `effect-registry` bin once it knows it must run a command: the module of the command named
 * by the first argument (`./commands.js`), else the whole tree (`Cli.run`), on the process's standard
 * streams; exits with the code as soon as the answer is written.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as CliIo from "../internal/cliIo.js"
import * as Runner from "../internal/runner.js"
import { commands } from "./commands.js"

/**
 * Runs `argv` and exits the process with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const main = (argv: ReadonlyArray<string>): void =>
  Effect.gen(function*() {
    const load = argv.length > 0 && Object.hasOwn(commands, argv[0]) ? commands[argv[0]] : undefined
    if (load !== undefined) return yield* Effect.flatten(Effect.promise(() => load(argv)))
    const Cli = yield* Effect.promise(() => import("../Cli.js"))
    return yield* Cli.run(argv)
  }).pipe(
    // a module that cannot be loaded (a broken install): said, not swallowed
    Effect.catchAllDefect((defect) =>
      Effect.flatMap(CliIo.Io, (io) => io.stderr(`error: unexpected failure: ${String(defect)}\n`)).pipe(Effect.as(1))
    ),
    Effect.provide(CliIo.nodeIo),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      // the answer is written (each write waited for): exit now, whatever background work V8 still has
      // 130 after Ctrl-C (the main fiber interrupted, once the command cancelled its open uploads)
      teardown: (exit, onExit) => {
        const code = Runner.exitCodeOfExit(exit)
        onExit(code)
        process.exit(code)
      }
    })
  )
