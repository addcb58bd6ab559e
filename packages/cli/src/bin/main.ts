/**
 * The body of the `effect-registry` bin once it knows it must run a command: the module of the command named
 * by the first argument (`./commands.js`), else the whole tree (`Cli.run`), on the process's standard
 * streams; exits with the code as soon as the answer is written.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { commands } from "./commands.js"
import { runAndExit } from "./exit.js"

/**
 * Runs `argv` and exits the process with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const main = (argv: ReadonlyArray<string>): void =>
  runAndExit(Effect.gen(function*() {
    const load = argv.length > 0 && Object.hasOwn(commands, argv[0]) ? commands[argv[0]] : undefined
    if (load !== undefined) return yield* Effect.flatten(Effect.promise(() => load(argv)))
    const Cli = yield* Effect.promise(() => import("../Cli.js"))
    return yield* Cli.run(argv)
  }))
