/**
 * Running a command tree on an argument vector: the error to exit code mapping and the one-line error
 * message. Shared by `Cli.run` (the whole tree) and the bin (the tree of the one command being run), so that
 * the bin does not load the modules of the other commands.
 */
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as CliIo from "./cliIo.js"

export type ExitCode = 0 | 1 | 2 | 3 | 4

export const version = "0.1.0"

export const description =
  "A client for OCI / Docker registries. References are host[:port]/repository[:tag|@digest]; https unless " +
  "--plain-http. Credentials: --username with --password-stdin, else Docker's config.json. Exit codes: 0 ok, " +
  "2 bad input, 3 not found, 4 unauthorized or denied, 1 other failures."

const badInput = new Set([
  "ReferenceInvalid",
  "NameInvalid",
  "TagInvalid",
  "DigestInvalid",
  "PlatformInvalid",
  "PaginationNumberInvalid",
  "KeyError"
])
const notFound = new Set(["ManifestUnknown", "BlobUnknown", "NameUnknown"])
const denied = new Set(["Unauthorized", "Denied"])

export const exitCode = (error: unknown): ExitCode => {
  if (ValidationError.isValidationError(error)) return 2
  if (error instanceof CliIo.CliError) {
    return error.reason === "BadInput" ? 2 : error.reason === "NotFound" ? 3 : 1
  }
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : ""
  if (badInput.has(tag)) return 2
  if (notFound.has(tag)) return 3
  if (denied.has(tag)) return 4
  if (tag === "OciLayoutError" && Predicate.hasProperty(error, "reason")) {
    const reason = error.reason
    return reason === "RefNotFound" || reason === "PlatformNotFound" ? 3 : reason === "Ambiguous" ? 2 : 1
  }
  if (tag === "ImageCopyError" && Predicate.hasProperty(error, "reason") && error.reason === "PlatformNotFound") {
    return 3
  }
  return 1
}

// Longest error message printed.
const MaxMessage = 8192

export const errorMessage = (error: unknown): string => {
  const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" &&
      error.message.length > 0
    ? error.message
    : Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : String(error)
  // a message may quote what a server sent: no control character reaches the terminal, and it stays short
  return RegistryError.printable(message.replace(/\s*\n\s*/g, " "), MaxMessage)
}

/** The root command `effect-registry`, without its subcommands. */
export const root = Command.make("effect-registry").pipe(Command.withDescription(description))

/** The root command over one subcommand (what the bin runs). */
export const rootOf = <Name extends string, R, E, A>(subcommand: Command.Command<Name, R, E, A>) =>
  root.pipe(Command.withSubcommands([subcommand]))

/** Runs a command tree on `argv` (without the `node` and script paths) and returns the exit code. */
export const run = <Name extends string, R extends NodeContext.NodeContext | CliIo.Io | CliIo.Secrets, E, A>(
  command: Command.Command<Name, R, E, A>,
  argv: ReadonlyArray<string>
): Effect.Effect<ExitCode, never, CliIo.Io> =>
  Effect.gen(function*() {
    const io = yield* CliIo.Io
    const secrets = yield* Ref.make<ReadonlyArray<string>>([])
    const scrub = (s: string) => Effect.map(Ref.get(secrets), (known) => CliIo.scrubber(known)(s))
    const console = yield* CliIo.console(io, (s) => s)
    const cli = Command.run(command, { name: "effect-registry", version })
    const exit = yield* cli(["node", "effect-registry", ...argv]).pipe(
      Effect.provide(NodeContext.layer),
      Effect.provideService(CliIo.Secrets, secrets),
      Effect.withConsole(console),
      Effect.exit
    )
    if (Exit.isSuccess(exit)) return 0
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      // @effect/cli already printed the usage problem.
      if (!ValidationError.isValidationError(error)) {
        yield* io.stderr(`error: ${yield* scrub(errorMessage(error))}\n`)
      }
      return exitCode(error)
    }
    if (Cause.isInterruptedOnly(exit.cause)) {
      yield* io.stderr("error: interrupted\n")
      return 1
    }
    yield* io.stderr(`error: unexpected failure: ${yield* scrub(errorMessage(Cause.squash(exit.cause)))}\n`)
    return 1
  })
