/**
 * The outcome of a command as the user sees it, without @effect/cli: the exit code of an error, its one-line
 * message (or, with `--json`, one object), and the report of a run's `Exit` on standard error. `runner.ts` adds
 * @effect/cli's usage errors on top; the bin's metadata commands use this directly (`src/bin/metadata.ts`).
 */
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as CliIo from "./cliIo.js"

export type ExitCode = 0 | 1 | 2 | 3 | 4 | 130

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

/** The exit code of an error (other than a usage error). */
export const exitCodeOf = (error: unknown): ExitCode => {
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

/** The text of an error (other than a usage error): its message, else its tag. */
export const textOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0
    ? error.message
    : Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : String(error)

/** The message printed for an error whose text is `text`: one line, the fix for this registry, printable. */
export const messageOf = (error: unknown, text: string): string =>
  // a message may quote what a server sent: no control character reaches the terminal, and it stays short
  RegistryError.printable(text.replace(/\s*\n\s*/g, " ") + cliHint(error), MaxMessage)

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

/** The `--json` form of an error, with its message and exit code. */
export const errorJsonOf = (error: unknown, message: string, exitCode: ExitCode): {
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
      message,
      exitCode,
      ...(status !== undefined ? { status } : {}),
      ...(codes.length > 0 ? { codes } : {}),
      ...(reason !== undefined ? { reason } : {})
    }
  }
}

/** Whether `--json` was given (before a `--` that ends the options). */
export const wantsJson = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json")
}

/** How errors are told: the full tree adds @effect/cli's usage errors (already printed when not `--json`). */
export interface Errors {
  readonly exitCode: (error: unknown) => ExitCode
  readonly message: (error: unknown) => string
  readonly json: (error: unknown) => ReturnType<typeof errorJsonOf>
  readonly printed: (error: unknown) => boolean
}

/** Errors without usage errors (a command line already parsed). */
export const plainErrors: Errors = {
  exitCode: exitCodeOf,
  message: (error) => messageOf(error, textOf(error)),
  json: (error) => errorJsonOf(error, messageOf(error, textOf(error)), exitCodeOf(error)),
  printed: () => false
}

/** The exit code of a run, its failure (or defect) reported on standard error, secrets scrubbed. */
export const report = <A, E>(
  io: CliIo.IoService,
  exit: Exit.Exit<A, E>,
  json: boolean,
  scrub: (s: string) => Effect.Effect<string>,
  errors: Errors
): Effect.Effect<ExitCode> =>
  Effect.gen(function*() {
    if (Exit.isSuccess(exit)) return 0
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (json) {
        yield* io.stderr((yield* scrub(JSON.stringify(errors.json(error)))) + "\n")
      } else if (!errors.printed(error)) {
        // @effect/cli already printed the usage problem.
        yield* io.stderr(`error: ${yield* scrub(errors.message(error))}\n`)
      }
      return errors.exitCode(error)
    }
    if (Cause.isInterruptedOnly(exit.cause)) return 130
    const unexpected = Cause.squash(exit.cause)
    if (json) {
      yield* io.stderr(
        (yield* scrub(JSON.stringify({ error: { ...errors.json(unexpected).error, tag: "Defect" } }))) + "\n"
      )
    } else {
      yield* io.stderr(`error: unexpected failure: ${yield* scrub(errors.message(unexpected))}\n`)
    }
    return 1
  })

/** The process exit code for the outcome of a run: its code, or 130 when it was interrupted. */
export const exitCodeOfExit = <A, E>(exit: Exit.Exit<A, E>): number =>
  Exit.isSuccess(exit)
    ? (typeof exit.value === "number" ? exit.value : 1)
    : Exit.isInterrupted(exit)
    ? 130
    : 1
