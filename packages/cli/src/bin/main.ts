/**
 * The body of the `effect-registry` bin once it knows it must run a command: the module of the command named
 * by the first argument (`./commands.js`), else the whole tree (`Cli.run`), on the process's standard
 * streams; exits with the code as soon as the answer is written.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as CliIo from "../internal/cliIo.js"
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
      teardown: (exit, onExit) => {
        const code = Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : 1
        onExit(code)
        process.exit(code)
      }
    })
  )
