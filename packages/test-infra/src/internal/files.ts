/**
 * Small file-system helpers for the launcher.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, LaunchFailure } from "./failure.js"

const fsFailure = (what: string) => (cause: unknown) =>
  new LaunchFailure({ reason: "FileSystem", message: `${what}: ${describe(cause)}`, cause })

/**
 * A fresh directory under the OS temp dir, removed (recursively) when the scope closes.
 *
 * @internal
 */
export const scopedTempDir = (prefix: string): Effect.Effect<string, LaunchFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), prefix)),
      catch: fsFailure("cannot create a temp dir")
    }),
    (dir) => removeDir(dir)
  )

/**
 * Removes a directory tree, ignoring failures (used in finalizers).
 *
 * @internal
 */
export const removeDir = (dir: string): Effect.Effect<void> =>
  Effect.promise(() => Fs.rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined))

/** @internal */
export const writeFile = (path: string, content: string, mode = 0o600): Effect.Effect<void, LaunchFailure> =>
  Effect.tryPromise({
    try: () => Fs.writeFile(path, content, { mode }),
    catch: fsFailure(`cannot write ${path}`)
  })

/** @internal */
export const readFile = (path: string): Effect.Effect<string, LaunchFailure> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: fsFailure(`cannot read ${path}`)
  })

/** @internal */
export const makeDir = (path: string): Effect.Effect<void, LaunchFailure> =>
  Effect.tryPromise({
    try: () => Fs.mkdir(path, { recursive: true, mode: 0o700 }).then(() => undefined),
    catch: fsFailure(`cannot create ${path}`)
  })
