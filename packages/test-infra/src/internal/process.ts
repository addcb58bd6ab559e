/**
 * A long-running child process in its own process group, with its output kept in a bounded buffer.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import { describe, LaunchFailure } from "./failure.js"
import { withLiveClock } from "./liveClock.js"

/**
 * Keeps the last `limit` characters written to it.
 *
 * @internal
 */
export class RingBuffer {
  private chunks: Array<string> = []
  private size = 0
  private dropped = 0
  constructor(readonly limit: number) {}
  push(text: string): void {
    this.chunks.push(text)
    this.size += text.length
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] ?? ""
      const excess = this.size - this.limit
      if (first.length <= excess) {
        this.chunks.shift()
        this.size -= first.length
        this.dropped += first.length
      } else {
        this.chunks[0] = first.slice(excess)
        this.size -= excess
        this.dropped += excess
      }
    }
  }
  text(): string {
    const body = this.chunks.join("")
    return this.dropped > 0 ? `[... ${this.dropped} earlier characters dropped]\n${body}` : body
  }
}

/** @internal */
export interface Exit {
  readonly code: number | null
  readonly signal: string | null
}

/** @internal */
export interface ManagedProcess {
  readonly pid: number
  /** stdout and stderr interleaved, the last `logLimit` characters */
  readonly logs: () => string
  /** how it ended, once it has */
  readonly exit: () => Exit | undefined
  /** SIGTERM to the process group, SIGKILL after `graceMs`; idempotent */
  readonly stop: Effect.Effect<void>
}

/** @internal */
export interface SpawnOptions {
  readonly cwd: string
  readonly env?: NodeJS.ProcessEnv | undefined
  readonly logLimit?: number | undefined
  readonly graceMs?: number | undefined
}

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  // never -0 / -1: those would signal our own group or every process
  if (!(pid > 1)) return
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is gone already
  }
}

/**
 * Spawns `file args` detached (its own process group) and stops the whole group when the scope closes.
 *
 * @internal
 */
export const spawnScoped = (
  file: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions
): Effect.Effect<ManagedProcess, LaunchFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<ManagedProcess, LaunchFailure>((resume) => {
      const buffer = new RingBuffer(options.logLimit ?? 64 * 1024)
      let exit: Exit | undefined
      const waiters = new Set<() => void>()
      let child: ChildProcess.ChildProcess
      try {
        child = ChildProcess.spawn(file, [...args], {
          cwd: options.cwd,
          env: options.env ?? process.env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"]
        })
      } catch (cause) {
        resume(
          Effect.fail(
            new LaunchFailure({ reason: "Spawn", message: `cannot start ${file}: ${describe(cause)}`, cause })
          )
        )
        return
      }
      child.stdout?.setEncoding("utf8")
      child.stderr?.setEncoding("utf8")
      child.stdout?.on("data", (text: string) => buffer.push(text))
      child.stderr?.on("data", (text: string) => buffer.push(text))
      // Last resort if the test process exits without closing the scope.
      const onParentExit = () => {
        if (child.pid !== undefined && exit === undefined) signalGroup(child.pid, "SIGKILL")
      }
      // "close" comes after "exit" once stdout and stderr are drained, so the logs are complete by then
      child.once("close", (code, signal) => {
        exit = { code, signal }
        process.removeListener("exit", onParentExit)
        for (const wake of waiters) wake()
        waiters.clear()
      })
      const waitExit = (ms: number): Effect.Effect<boolean> =>
        Effect.async<boolean>((wake) => {
          if (exit !== undefined) return wake(Effect.succeed(true))
          const done = () => wake(Effect.succeed(true))
          waiters.add(done)
          return Effect.sync(() => {
            waiters.delete(done)
          })
        }).pipe(Effect.timeoutTo({ duration: Duration.millis(ms), onTimeout: () => false, onSuccess: () => true }))
      child.once("error", (cause) => {
        if (child.pid === undefined) {
          resume(
            Effect.fail(
              new LaunchFailure({ reason: "Spawn", message: `cannot start ${file}: ${describe(cause)}`, cause })
            )
          )
        } else {
          buffer.push(`[launcher] child process error: ${describe(cause)}\n`)
        }
      })
      child.once("spawn", () => {
        const pid = child.pid
        if (pid === undefined || pid <= 0) {
          resume(Effect.fail(new LaunchFailure({ reason: "Spawn", message: `${file} started without a pid` })))
          return
        }
        process.once("exit", onParentExit)
        const graceMs = options.graceMs ?? 5_000
        let stopping = false
        const stop = withLiveClock(Effect.suspend(() => {
          if (stopping) return Effect.asVoid(waitExit(graceMs + 2_000))
          stopping = true
          return Effect.gen(function*() {
            process.removeListener("exit", onParentExit)
            // ended on its own long ago: its pid might belong to someone else by now
            if (exit !== undefined) return
            signalGroup(pid, "SIGTERM")
            const ended = yield* waitExit(graceMs)
            // SIGKILL the group in any case: it also reaches anything the process started that outlived it
            signalGroup(pid, "SIGKILL")
            if (!ended) yield* waitExit(2_000)
            child.stdout?.destroy()
            child.stderr?.destroy()
          })
        }))
        resume(Effect.succeed({ pid, logs: () => buffer.text(), exit: () => exit, stop }))
      })
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.seconds(10),
        onTimeout: () => new LaunchFailure({ reason: "Spawn", message: `${file} did not start within 10 s` })
      })
    ),
    (managed) => managed.stop
  )
