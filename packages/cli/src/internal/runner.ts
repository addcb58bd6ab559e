/**
 * Running a command tree on an argument vector: the error to exit code mapping, the one-line (or, with
 * `--json`, one-object) error message, the help text as printed. Shared by `Cli.run` (the whole tree) and the
 * bin (the tree of the one command being run), so that the bin does not load the modules of the other commands.
 */
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as CliIo from "./cliIo.js"

export type ExitCode = 0 | 1 | 2 | 3 | 4 | 130

export const version = "0.1.0"

export const description =
  "A client for OCI / Docker registries. References are [http://|https://]host[:port]/repository[:tag|@digest]; " +
  "https unless the reference says http://, --registry-opt HOST=plain-http, --plain-http (every registry) or " +
  "the settings file ($EFFECT_REGISTRY_CONFIG, else ~/.config/effect-registry/registries.json) says so. " +
  "Credentials: -u/--username with --password-stdin, -p or a prompt, else Docker's config.json. Exit codes: " +
  "0 ok, 2 bad input, 3 not found, 4 unauthorized or denied, 130 interrupted, 1 other failures."

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
  const message = ValidationError.isValidationError(error)
    ? CliIo.stripAnsi(HelpDoc.toAnsiText(error.error)).trim()
    : Predicate.hasProperty(error, "message") && typeof error.message === "string" &&
        error.message.length > 0
    ? error.message
    : Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : String(error)
  // a message may quote what a server sent: no control character reaches the terminal, and it stays short
  return RegistryError.printable(message.replace(/\s*\n\s*/g, " ") + cliHint(error), MaxMessage)
}

/** The per-registry form of the fix a transport error names (the library's message names the global flag). */
const cliHint = (error: unknown): string => {
  if (!Predicate.hasProperty(error, "_tag") || error._tag !== "TransportError") return ""
  const kind = Predicate.hasProperty(error, "kind") ? error.kind : undefined
  const url = Predicate.hasProperty(error, "url") && typeof error.url === "string" ? error.url : undefined
  const host = url !== undefined ? /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] : undefined
  if (host === undefined) return ""
  switch (kind) {
    case "PlainHttpOnTls":
      return `; for this registry only: http://${host}/... in the reference, or --registry-opt ${host}=plain-http`
    case "TlsOnPlainHttp":
      return `; for this registry only: https://${host}/... in the reference, or --registry-opt ${host}=https`
    case "ClosedBeforeAnswer":
      return url?.startsWith("http:") === true
        ? `; or, for this registry only: https://${host}/... in the reference, or --registry-opt ${host}=https`
        : ""
    case "TlsUnknownCa":
      return `; for this registry only: --registry-opt ${host}=ca-file=<pem>`
    case "TlsNameMismatch":
    case "TlsExpired":
      return `; for this registry only: --registry-opt ${host}=insecure`
    default:
      return ""
  }
}

/** The root command `effect-registry`, without its subcommands. */
export const root = Command.make("effect-registry").pipe(Command.withDescription(description))

/** The root command over one subcommand (what the bin runs). */
export const rootOf = <Name extends string, R, E, A>(subcommand: Command.Command<Name, R, E, A>) =>
  root.pipe(Command.withSubcommands([subcommand]))

export const errorJson = (error: unknown): {
  readonly error: {
    readonly tag: string
    readonly message: string
    readonly exitCode: ExitCode
    readonly status?: number
    readonly codes?: ReadonlyArray<string>
    readonly reason?: string
  }
} => {
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : "Error"
  const status = Predicate.hasProperty(error, "status") && typeof error.status === "number" ? error.status : undefined
  const reason = Predicate.hasProperty(error, "reason") && typeof error.reason === "string" ? error.reason : undefined
  const entries = Predicate.hasProperty(error, "errors") && Array.isArray(error.errors) ? error.errors : []
  const codes = entries.flatMap((e: unknown) =>
    Predicate.hasProperty(e, "code") && typeof e.code === "string" ? [RegistryError.printable(e.code, 64)] : []
  ).slice(0, 16)
  return {
    error: {
      tag,
      message: errorMessage(error),
      exitCode: exitCode(error),
      ...(status !== undefined ? { status } : {}),
      ...(codes.length > 0 ? { codes } : {}),
      ...(reason !== undefined ? { reason } : {})
    }
  }
}

/** Whether `--json` was given (before a `--` that ends the options). */
const wantsJson = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json")
}

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
    const json = wantsJson(argv)
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
    if (Exit.isSuccess(exit)) return 0
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (json) {
        yield* io.stderr((yield* scrub(JSON.stringify(errorJson(error)))) + "\n")
      } else if (!ValidationError.isValidationError(error)) {
        // @effect/cli already printed the usage problem.
        yield* io.stderr(`error: ${yield* scrub(errorMessage(error))}\n`)
      }
      return exitCode(error)
    }
    if (Cause.isInterruptedOnly(exit.cause)) return 130
    const unexpected = Cause.squash(exit.cause)
    if (json) {
      yield* io.stderr(
        (yield* scrub(JSON.stringify({ error: { ...errorJson(unexpected).error, tag: "Defect" } }))) + "\n"
      )
    } else {
      yield* io.stderr(`error: unexpected failure: ${yield* scrub(errorMessage(unexpected))}\n`)
    }
    return 1
  })

/** The process exit code for the outcome of {@link run}: its code, or 130 when it was interrupted. */
export const exitCodeOfExit = <A, E>(exit: Exit.Exit<A, E>): number =>
  Exit.isSuccess(exit)
    ? (typeof exit.value === "number" ? exit.value : 1)
    : Exit.isInterrupted(exit)
    ? 130
    : 1
