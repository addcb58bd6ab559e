/**
 * The `effect-registry` command line, as a value: the command tree built with
 * `@effect/cli`, {@link run} to execute an argument vector (an `Effect` that
 * never fails: it returns the exit code), and the mapping from errors to exit
 * codes. The `bin/effect-registry` entry runs it on the process.
 *
 * Output goes through the {@link Io} service (the process's standard streams
 * with {@link layerNodeIo}, memory with {@link memoryIo} in tests).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import { root } from "./commands/root.js"
import * as CliIo from "./internal/cliIo.js"
import * as Runner from "./internal/runner.js"

/**
 * The exit codes: `0` success, `1` failure, `2` bad input (an invalid
 * reference, name, tag, digest, platform or command line), `3` not found
 * (manifest, blob or repository unknown), `4` unauthorized or denied, `130`
 * interrupted (Ctrl-C).
 *
 * @since 0.1.0
 * @category models
 */
export type ExitCode = Runner.ExitCode

/**
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  BadInput: 2,
  NotFound: 3,
  Unauthorized: 4,
  Interrupted: 130
} as const satisfies Record<string, ExitCode>

/**
 * Where the CLI reads its standard input and writes its output.
 *
 * @since 0.1.0
 * @category models
 */
export type IoService = CliIo.IoService

/**
 * The standard streams of the CLI.
 *
 * @since 0.1.0
 * @category tags
 */
export const Io: typeof CliIo.Io = CliIo.Io

/**
 * The CLI's own failures (options that do not go together, a file that cannot
 * be read, an operation the registry did not carry out).
 *
 * @since 0.1.0
 * @category errors
 */
export const CliError: typeof CliIo.CliError = CliIo.CliError

/**
 * @since 0.1.0
 * @category errors
 */
export type CliError = CliIo.CliError

/**
 * The process's standard streams.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNodeIo: Layer.Layer<CliIo.Io> = CliIo.nodeIo

/**
 * Captured output, for tests.
 *
 * @since 0.1.0
 * @category models
 */
export type Memory = CliIo.Memory

/**
 * An `Io` in memory: standard input given, output captured.
 *
 * @example
 * ```ts
 * import { Cli } from "@effect-registry/cli"
 * import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
 *
 * const program = Effect.gen(function*() {
 *   const io = yield* Cli.memoryIo()
 *   const code = yield* Cli.run(["--help"]).pipe(Effect.provide(io.layer))
 *   return { code, help: yield* io.stdout }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const memoryIo: (options?: {
  readonly stdin?: string | Uint8Array | undefined
  readonly stderrIsTTY?: boolean | undefined
  readonly stdoutIsTTY?: boolean | undefined
  readonly noColor?: boolean | undefined
  readonly typed?: string | undefined
}) => Effect.Effect<CliIo.Memory> = CliIo.memoryIo

/**
 * The exit code for an error: bad input 2, not found 3, unauthorized or
 * denied 4, anything else 1.
 *
 * @example
 * ```ts
 * import { RegistryError } from "@effect-registry/core"
 * import { Cli } from "@effect-registry/cli"
 *
 * Cli.exitCode(new RegistryError.ManifestUnknown({})) // 3
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const exitCode: (error: unknown) => ExitCode = Runner.exitCode

/**
 * The one-line message printed for an error (`error: ...` is prefixed by
 * {@link run}); never a stack.
 *
 * @since 0.1.0
 * @category utils
 */
export const errorMessage: (error: unknown) => string = Runner.errorMessage

/**
 * The command tree (`@effect/cli`).
 *
 * @since 0.1.0
 * @category models
 */
export const command = root

/**
 * The version printed by `--version`.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: string = Runner.version

/**
 * The error as one JSON object (what `--json` prints on standard error): its
 * tag, message, exit code, and when the registry answered: the HTTP status
 * and the registry's error codes.
 *
 * @since 0.2.0
 * @category utils
 */
export const errorJson: (error: unknown) => ReturnType<typeof Runner.errorJson> = Runner.errorJson

/**
 * The process exit code for the outcome of {@link run}: its code, or 130
 * when it was interrupted (Ctrl-C).
 *
 * @since 0.2.0
 * @category utils
 */
export const exitCodeOfExit: <A, E>(exit: Exit.Exit<A, E>) => number = Runner.exitCodeOfExit

/**
 * Runs the CLI on an argument vector (without the `node` and script paths):
 * parses it, runs the command, prints errors as one `error: <message>` line
 * to standard error (with `--json`: one JSON object, see {@link errorJson}),
 * and returns the exit code. Never fails. When interrupted (Ctrl-C), it
 * prints a newline and `interrupted` to standard error before the
 * interruption goes on; the process exits with {@link ExitCode} 130 then
 * (see {@link exitCodeOfExit}).
 *
 * @example
 * ```ts
 * import { Cli } from "@effect-registry/cli"
 * import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
 *
 * const code = Cli.run(["tags", "--plain-http", "127.0.0.1:5000/team/app"]).pipe(Effect.provide(Cli.layerNodeIo))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, CliIo.Io> => Runner.run(root, argv)
