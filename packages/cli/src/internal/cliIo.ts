import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

/**
 * A failure of the CLI itself (bad combination of options, a file that is not
 * what it should be, an operation the registry did not perform).
 */
export class CliError extends Data.TaggedError("CliError")<{
  readonly reason: "BadInput" | "NotFound" | "Failed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * Where the CLI reads and writes: standard streams of the process, or memory in tests.
 */
export interface IoService {
  /** Write text or raw bytes to standard output. */
  readonly stdout: (chunk: string | Uint8Array) => Effect.Effect<void>
  /** Write text to standard error. */
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Read standard input to its end (bounded). */
  readonly stdin: Effect.Effect<Uint8Array, CliError>
  /** Whether standard error is a terminal (progress bars) and its width. */
  readonly stderrIsTTY: boolean
  readonly columns: number
  /** Whether standard output is a terminal. */
  readonly stdoutIsTTY?: boolean | undefined
  /** `NO_COLOR` is set (to anything but the empty string): no ANSI colours or styles anywhere. */
  readonly noColor?: boolean | undefined
  /**
   * Ask for a secret on the terminal without echoing it (absent when standard input or standard error is not a
   * terminal).
   */
  readonly readSecret?: ((prompt: string) => Effect.Effect<string, CliError>) | undefined
}

/** Whether a stream may carry ANSI styles: it is a terminal and `NO_COLOR` is not set. */
export const colorOn = (io: IoService, stream: "stdout" | "stderr"): boolean =>
  io.noColor !== true && (stream === "stdout" ? io.stdoutIsTTY === true : io.stderrIsTTY)

// CSI sequences (colours, cursor moves) and OSC sequences
const ansi = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g

/** Text without ANSI escape sequences. */
export const stripAnsi = (s: string): string => s.replace(ansi, "")

/**
 * Secrets the CLI learned (a password from standard input), scrubbed from
 * every message it prints.
 */
export class Secrets
  extends Context.Tag("@effect-registry/cli/Cli/Secrets")<Secrets, Ref.Ref<ReadonlyArray<string>>>()
{}

/** Replaces every known secret (longer than 3 characters) in a text. */
export const scrubber = (secrets: ReadonlyArray<string>) => {
  const list = secrets.filter((s) => s.length > 3)
  return (s: string): string => {
    let out = s
    for (const secret of list) out = out.split(secret).join("<redacted>")
    return out
  }
}

export class Io extends Context.Tag("@effect-registry/cli/Cli/Io")<Io, IoService>() {}

/** Whether the interruption (Ctrl-C) was announced on standard error already. */
export class Interrupted extends Context.Tag("@effect-registry/cli/Cli/Interrupted")<Interrupted, Ref.Ref<boolean>>() {}

/**
 * A newline (after the terminal's `^C`) and `interrupted` on standard error, once: the innermost handler announces
 * it before the clean-up that follows (cancelling uploads) prints anything.
 */
export const announceInterrupt = (io: IoService): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(Interrupted), (ref) =>
    Effect.flatMap(
      ref._tag === "Some" ? Ref.getAndSet(ref.value, true) : Effect.succeed(false),
      (done) => (done ? Effect.void : io.stderr("\ninterrupted\n"))
    ))

/** Bytes read from standard input at most (a password, a manifest). */
export const MaxStdin = 16 * 1024 * 1024

const toBytes = (chunk: unknown): Uint8Array =>
  chunk instanceof Uint8Array ? chunk : new TextEncoder().encode(String(chunk))

export const nodeIo: Layer.Layer<Io> = Layer.sync(Io, () =>
  Io.of({
    stdout: (chunk) =>
      Effect.async<void>((resume) => {
        const ok = process.stdout.write(chunk, () => resume(Effect.void))
        void ok
      }),
    stderr: (text) =>
      Effect.async<void>((resume) => {
        process.stderr.write(text, () => resume(Effect.void))
      }),
    stdin: Effect.async<Uint8Array, CliError>((resume) => {
      const parts: Array<Uint8Array> = []
      let size = 0
      const onData = (chunk: unknown) => {
        const bytes = toBytes(chunk)
        size += bytes.length
        if (size > MaxStdin) {
          cleanup()
          resume(Effect.fail(new CliError({ reason: "BadInput", detail: "standard input is too large" })))
          return
        }
        parts.push(bytes)
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.succeed(BlobSource.concatBytes(parts)))
      }
      const onError = (cause: unknown) => {
        cleanup()
        resume(Effect.fail(new CliError({ reason: "Failed", detail: "cannot read standard input", cause })))
      }
      const cleanup = () => {
        process.stdin.off("data", onData)
        process.stdin.off("end", onEnd)
        process.stdin.off("error", onError)
        process.stdin.pause()
      }
      process.stdin.on("data", onData)
      process.stdin.once("end", onEnd)
      process.stdin.once("error", onError)
      process.stdin.resume()
      return Effect.sync(cleanup)
    }),
    stderrIsTTY: process.stderr.isTTY === true,
    // a pseudo-terminal without a size says 0 columns
    columns: process.stderr.columns || 80,
    stdoutIsTTY: process.stdout.isTTY === true,
    noColor: (process.env["NO_COLOR"] ?? "") !== "",
    readSecret: process.stdin.isTTY === true && process.stderr.isTTY === true ? readSecretTTY : undefined
  }))

/** Reads a line from the terminal in raw mode, echoing nothing; Ctrl-C or Ctrl-D give up. */
const readSecretTTY = (prompt: string): Effect.Effect<string, CliError> =>
  Effect.async<string, CliError>((resume) => {
    const stdin = process.stdin
    let typed = ""
    process.stderr.write(prompt)
    const done = (outcome: Effect.Effect<string, CliError>) => {
      cleanup()
      process.stderr.write("\n")
      resume(outcome)
    }
    const onData = (chunk: unknown) => {
      const text = typeof chunk === "string" ? chunk : new TextDecoder().decode(toBytes(chunk))
      for (const c of text) {
        if (c === "\r" || c === "\n") return done(Effect.succeed(typed))
        if (c === "\u0003" || c === "\u0004") {
          return done(Effect.fail(new CliError({ reason: "BadInput", detail: "no password entered" })))
        }
        if (c === "\u007f" || c === "\b") typed = typed.slice(0, -1)
        else if (c >= " ") typed += c
        if (typed.length > 4096) {
          return done(Effect.fail(new CliError({ reason: "BadInput", detail: "the password is too long" })))
        }
      }
    }
    const cleanup = () => {
      stdin.off("data", onData)
      if (stdin.isTTY) stdin.setRawMode(false)
      stdin.pause()
    }
    if (stdin.isTTY) stdin.setRawMode(true)
    stdin.on("data", onData)
    stdin.resume()
    return Effect.sync(cleanup)
  })

export interface Memory {
  readonly layer: Layer.Layer<Io>
  readonly stdout: Effect.Effect<string>
  readonly stdoutBytes: Effect.Effect<Uint8Array>
  readonly stderr: Effect.Effect<string>
}

export const memoryIo = (options?: {
  readonly stdin?: string | Uint8Array | undefined
  readonly stderrIsTTY?: boolean | undefined
  readonly stdoutIsTTY?: boolean | undefined
  readonly noColor?: boolean | undefined
  /** What a password prompt reads (as if typed on a terminal); no prompt without it. */
  readonly typed?: string | undefined
}): Effect.Effect<Memory> =>
  Effect.gen(function*() {
    const out = yield* Ref.make<ReadonlyArray<Uint8Array>>([])
    const err = yield* Ref.make("")
    const input = options?.stdin === undefined ? new Uint8Array(0) : toBytes(options.stdin)
    const concat = Effect.map(Ref.get(out), BlobSource.concatBytes)
    return {
      layer: Layer.succeed(
        Io,
        Io.of({
          stdout: (chunk) => Ref.update(out, (parts) => [...parts, toBytes(chunk)]),
          stderr: (text) => Ref.update(err, (s) => s + text),
          stdin: Effect.succeed(input),
          stderrIsTTY: options?.stderrIsTTY ?? false,
          columns: 80,
          stdoutIsTTY: options?.stdoutIsTTY ?? false,
          noColor: options?.noColor ?? false,
          readSecret: options?.typed === undefined
            ? undefined
            : (prompt) => Effect.as(Ref.update(err, (s) => s + prompt + "\n"), options.typed ?? "")
        })
      ),
      stdoutBytes: concat,
      stdout: Effect.map(concat, (bytes) => new TextDecoder().decode(bytes)),
      stderr: Ref.get(err)
    }
  })

const format = (args: ReadonlyArray<unknown>): string =>
  args.map((a) => typeof a === "string" ? a : String(a)).join(" ")

/**
 * A `Console` whose log / info go to the Io's standard output and whose
 * error / warn / debug go to its standard error, with `scrub` applied to text.
 */
export const console = (io: IoService, scrub: (s: string) => string): Effect.Effect<Console.Console> =>
  Effect.map(Effect.console, (base): Console.Console => ({
    ...base,
    log: (...args) => io.stdout(scrub(format(args)) + "\n"),
    info: (...args) => io.stdout(scrub(format(args)) + "\n"),
    error: (...args) => io.stderr(scrub(format(args)) + "\n"),
    warn: (...args) => io.stderr(scrub(format(args)) + "\n"),
    debug: (...args) => io.stderr(scrub(format(args)) + "\n"),
    trace: (...args) => io.stderr(scrub(format(args)) + "\n")
  }))
