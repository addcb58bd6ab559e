/**
 * Running a command tree on an argument vector: the error to exit code mapping, the one-line (or, with
 * `--json`, one-object) error message, the help text as printed. Shared by `Cli.run` (the whole tree) and the
 * bin (the tree of the one command being run), so that the bin does not load the modules of the other commands.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as CliIo from "./cliIo.js"
import * as Outcome from "./outcome.js"

export type ExitCode = Outcome.ExitCode

export const version = "0.1.0"

export const description =
  "A client for OCI / Docker registries. References are [http://|https://]host[:port]/repository[:tag|@digest]; " +
  "https unless the reference says http://, --registry-opt HOST=plain-http, --plain-http (every registry) or " +
  "the settings file ($EFFECT_REGISTRY_CONFIG, else ~/.config/effect-registry/registries.json) says so. " +
  "Credentials: -u/--username with --password-stdin, -p or a prompt, else Docker's config.json. Exit codes: " +
  "0 ok, 2 bad input, 3 not found, 4 unauthorized or denied, 130 interrupted, 1 other failures."

/** The exit code of an error: 2 for a usage error (@effect/cli's), else by its kind. */
export const exitCode = (error: unknown): ExitCode =>
  ValidationError.isValidationError(error) ? 2 : Outcome.exitCodeOf(error)

/** The one-line message of an error (a usage error: @effect/cli's text without styles). */
export const errorMessage = (error: unknown): string =>
  Outcome.messageOf(
    error,
    ValidationError.isValidationError(error)
      ? CliIo.stripAnsi(HelpDoc.toAnsiText(error.error)).trim()
      : Outcome.textOf(error)
  )

/** The `--json` form of an error. */
export const errorJson = (error: unknown) => Outcome.errorJsonOf(error, errorMessage(error), exitCode(error))

const errors: Outcome.Errors = {
  exitCode,
  message: errorMessage,
  json: errorJson,
  // @effect/cli already printed the usage problem
  printed: ValidationError.isValidationError
}

/** The root command `effect-registry`, without its subcommands. */
export const root = Command.make("effect-registry").pipe(Command.withDescription(description))

/** The root command over one subcommand (what the bin runs). */
export const rootOf = <Name extends string, R, E, A>(subcommand: Command.Command<Name, R, E, A>) =>
  root.pipe(Command.withSubcommands([subcommand]))

// generic type lines @effect/cli prints above each description
const genericLines = /^ {2}(A user-defined piece of text\.|A true or false value\.)\n\n/gm

/**
 * Help and usage text as printed: without ANSI styles unless the stream is a terminal and `NO_COLOR` is unset,
 * the usage line naming the whole command (`$ effect-registry blob get ...`), no generic type lines.
 */
const helpText = (argv: ReadonlyArray<string>, color: boolean) => (text: string): string => {
  const plain = color ? text : CliIo.stripAnsi(text)
  return plain.replace(genericLines, "").replace(/^((?:\u001b\[[0-9;]*m)*)\$ ([a-z][a-z-]*)/gm, (line, style, name) => {
    if (name === "effect-registry") return line
    const at = argv.indexOf(name)
    const path = at < 0 ? [name] : [...argv.slice(0, at).filter((w) => !w.startsWith("-")), name]
    return `${style}$ effect-registry ${path.join(" ")}`
  })
}

/** Runs a command tree on `argv` (without the `node` and script paths) and returns the exit code. */
export const run = <
  Name extends string,
  R extends NodeContext.NodeContext | CliIo.Io | CliIo.Secrets | CliIo.Interrupted,
  E,
  A
>(
  command: Command.Command<Name, R, E, A>,
  argv: ReadonlyArray<string>
): Effect.Effect<ExitCode, never, CliIo.Io> =>
  Effect.gen(function*() {
    const io = yield* CliIo.Io
    const secrets = yield* Ref.make<ReadonlyArray<string>>([])
    const scrub = (s: string) => Effect.map(Ref.get(secrets), (known) => CliIo.scrubber(known)(s))
    const base = yield* CliIo.console(io, (s) => s)
    const toStdout = helpText(argv, CliIo.colorOn(io, "stdout"))
    const toStderr = helpText(argv, CliIo.colorOn(io, "stderr"))
    const json = Outcome.wantsJson(argv)
    // with --json, a usage problem is the one JSON object printed below, not @effect/cli's text
    const console: typeof base = {
      ...base,
      log: (...args) => base.log(toStdout(args.map(String).join(" "))),
      info: (...args) => base.info(toStdout(args.map(String).join(" "))),
      error: (...args) => json ? Effect.void : base.error(toStderr(args.map(String).join(" "))),
      warn: (...args) => json ? Effect.void : base.warn(toStderr(args.map(String).join(" ")))
    }
    const cli = Command.run(command, { name: "effect-registry", version })
    const exit = yield* cli(["node", "effect-registry", ...argv]).pipe(
      Effect.provide(NodeContext.layer),
      Effect.provideService(CliIo.Secrets, secrets),
      Effect.withConsole(console),
      Effect.onInterrupt(() => CliIo.announceInterrupt(io)),
      Effect.provideService(CliIo.Interrupted, yield* Ref.make(false)),
      Effect.exit
    )
    return yield* Outcome.report(io, exit, json, scrub, errors)
  })

/** The process exit code for the outcome of {@link run}: its code, or 130 when it was interrupted. */
export const exitCodeOfExit = Outcome.exitCodeOfExit
