import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Crypto from "node:crypto"
import * as Path from "node:path"

/**
 * Write `bytes` to `path` atomically: a temporary file in the same directory
 * (created with `mode`), fsync, rename. The temporary file is removed on any
 * failure or interruption.
 *
 * @internal
 */
export const writeFileAtomic = (
  path: string,
  bytes: Uint8Array,
  mode: number
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const random = yield* Effect.sync(() => Crypto.randomBytes(8).toString("hex"))
    const temp = Path.join(Path.dirname(path), `.${Path.basename(path)}.${random}.partial`)
    const write = Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "wx", mode })
      yield* file.writeAll(bytes)
      yield* file.sync
    }))
    yield* Effect.zipRight(write, fs.rename(temp, path)).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(temp, { force: true })))
    )
  })
