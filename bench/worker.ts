/**
 * Shared by the "ours" worker scripts of the benchmark: the client layers, and a runner that times the measured
 * operation inside the process and prints one JSON line for the harness (`bench/main.ts`).
 *
 * Every worker runs as its own child process, so the harness sees its wall time, CPU and peak RSS from outside.
 */
import * as AuthService from "@effect-registry/core/AuthService"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as NodeHash from "@effect-registry/node/NodeHash"
import * as NodeHttp from "@effect-registry/node/NodeHttp"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"

/** The registry client on `NodeHttp.layer` (node:http) with node:crypto hashing, anonymous. */
export const clientLayer = (url: string) =>
  RegistryClient.layer({ url }).pipe(
    Layer.provideMerge(AuthService.anonymous),
    Layer.provideMerge(NodeHttp.layer()),
    Layer.provideMerge(NodeHash.layer),
    Layer.provideMerge(NodeFileSystem.layer)
  )

/** What a worker reports on its last stdout line. */
export interface Report {
  readonly ok: boolean
  /** Milliseconds of the measured operation only (after module loading and client set-up). */
  readonly opMs?: number
  /** Bytes moved by the operation, when the worker counts them. */
  readonly bytes?: number
  readonly error?: string
  /** RSS once modules are loaded and the client is built (before the operation) */
  readonly setupRssMiB?: number
  readonly peakRssMiB?: number
  readonly heapUsedMiB?: number
  readonly externalMiB?: number
  readonly [key: string]: unknown
}

const MiB = 1024 * 1024

/** The process's peak resident set (`VmHWM`), in MiB; NaN where /proc is missing. */
export const peakRssMiB = (): number => {
  try {
    const status = Fs.readFileSync("/proc/self/status", "utf8")
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)
    return kib === null ? NaN : Number(kib[1]) / 1024
  } catch {
    return NaN
  }
}

/** The command-line arguments after the script, required by position. */
export const args = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const values = process.argv.slice(2)
  if (values.length < names.length) {
    process.stderr.write(`usage: ${process.argv[1]} ${names.map((n) => `<${n}>`).join(" ")}\n`)
    process.exit(2)
  }
  return values
}

/**
 * Runs `setup` (not timed), then `op` (timed with `performance.now`), prints the report and exits: 0 on success,
 * 1 on failure (with the cause on stderr).
 */
export const run = <S, E1, E2, R>(
  setup: Effect.Effect<S, E1, R>,
  op: (s: S) => Effect.Effect<Record<string, unknown>, E2, R>,
  layer: Layer.Layer<R, unknown>
): void => {
  const program = Effect.gen(function*() {
    const s = yield* setup
    const setupRssMiB = process.memoryUsage().rss / MiB
    const start = performance.now()
    const extra = yield* op(s)
    const opMs = performance.now() - start
    const memory = process.memoryUsage()
    return {
      ok: true,
      opMs,
      ...extra,
      setupRssMiB,
      peakRssMiB: peakRssMiB(),
      heapUsedMiB: memory.heapUsed / MiB,
      externalMiB: memory.external / MiB
    } satisfies Report
  }).pipe(Effect.provide(layer))
  Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) {
      process.stdout.write(`${JSON.stringify(exit.value)}\n`)
      process.exit(0)
    }
    const pretty = Cause.pretty(exit.cause)
    process.stderr.write(`${pretty}\n`)
    process.stdout.write(`${JSON.stringify({ ok: false, error: pretty.split("\n")[0] } satisfies Report)}\n`)
    process.exit(1)
  }, (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
}
