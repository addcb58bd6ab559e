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
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import { root } from "./commands/root.js"
import * as CliIo from "./internal/cliIo.js"

/**
 * The exit codes: `0` success, `1` failure, `2` bad input (an invalid
 * reference, name, tag, digest, platform or command line), `3` not found
 * (manifest, blob or repository unknown), `4` unauthorized or denied, `130`
 * interrupted (Ctrl-C).
 *
 * @since 0.1.0
 * @category models
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4 | 130

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
 * import * as Effect from "effect/Effect"
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

/**
 * The one-line message printed for an error (`error: ...` is prefixed by
 * {@link run}); never a stack.
 *
 * @since 0.1.0
 * @category utils
 */
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
export const version = "0.1.0"

/**
 * The error as one JSON object (what `--json` prints on standard error): its
 * tag, message, exit code, and when the registry answered: the HTTP status
 * and the registry's error codes.
 *
 * @since 0.2.0
 * @category utils
 */
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
 * import * as Effect from "effect/Effect"
 *
 * const code = Cli.run(["tags", "--plain-http", "127.0.0.1:5000/team/app"]).pipe(Effect.provide(Cli.layerNodeIo))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, CliIo.Io> =>
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
    const cli = Command.run(root, { name: "effect-registry", version })
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

/**
 * The process exit code for the outcome of {@link run}: its code, or 130
 * when it was interrupted (Ctrl-C).
 *
 * @since 0.2.0
 * @category utils
 */
export const exitCodeOfExit = <A, E>(exit: Exit.Exit<A, E>): number =>
  Exit.isSuccess(exit)
    ? (typeof exit.value === "number" ? exit.value : 1)
    : Exit.isInterrupted(exit)
    ? 130
    : 1
