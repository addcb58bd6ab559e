/**
 * Running short-lived commands with a bounded time.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, type FailureReason, LaunchFailure } from "./failure.js"

/**
 * Finds an executable: a name with a slash is checked as is, a bare name is looked up in `searchPath`
 * (default: `$PATH`). Returns the absolute path, or `undefined`.
 *
 * @internal
 */
export const which = (command: string, searchPath?: string | undefined): Effect.Effect<string | undefined> =>
  Effect.sync(() => {
    const executable = (file: string) => {
      try {
        Fs.accessSync(file, Fs.constants.X_OK)
        return Fs.statSync(file).isFile()
      } catch {
        return false
      }
    }
    if (command.includes("/")) {
      const absolute = Path.resolve(command)
      return executable(absolute) ? absolute : undefined
    }
    const dirs = (searchPath ?? process.env.PATH ?? "").split(Path.delimiter).filter((dir) => dir.length > 0)
    for (const dir of dirs) {
      const candidate = Path.join(dir, command)
      if (executable(candidate)) return candidate
    }
    return undefined
  })

/** @internal */
export interface ExecOptions {
  readonly cwd: string
  readonly timeoutMs?: number | undefined
  readonly failureReason: FailureReason
}

/**
 * Runs `file args` (no shell) and succeeds with its stdout; fails with its stderr when it exits non-zero, times out
 * or cannot start.
 *
 * @internal
 */
export const exec = (
  file: string,
  args: ReadonlyArray<string>,
  options: ExecOptions
): Effect.Effect<string, LaunchFailure> =>
  Effect.async<string, LaunchFailure>((resume) => {
    const child = ChildProcess.execFile(
      file,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, maxBuffer: 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error === null) {
          resume(Effect.succeed(stdout))
          return
        }
        const command = `${Path.basename(file)} ${args[0] ?? ""}`.trim()
        const output = `${stderr}`.trim().slice(-2000)
        resume(Effect.fail(
          new LaunchFailure({
            reason: options.failureReason,
            message: `\`${command}\` failed: ${describe(error)}${output.length > 0 ? `\n${output}` : ""}`,
            cause: error
          })
        ))
      }
    )
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })
