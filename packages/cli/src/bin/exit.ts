/**
 * Running the bin's program on the process: its standard streams, errors nobody handled said on standard error,
 * the process exited with the program's code as soon as the answer is written.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as CliIo from "../internal/cliIo.js"
import * as Outcome from "../internal/outcome.js"

/**
 * Runs `program` on the process's standard streams and exits the process with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runAndExit = (program: Effect.Effect<number, never, CliIo.Io>): void =>
  program.pipe(
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
        const code = Outcome.exitCodeOfExit(exit)
        onExit(code)
        process.exit(code)
      }
    })
  )
