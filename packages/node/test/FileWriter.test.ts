// The two-buffer file writer behind BlobFile.writeAtomic: the bytes of any mix of piece sizes land in the file
// in order, and a failing write fails the stream's write with the system's error.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FileWriter from "../src/internal/fileWriter.js"

const withFile = <A, E>(flags: string, use: (fd: number, path: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "file-writer-"))
      const path = Path.join(dir, "out")
      Fs.writeFileSync(path, "")
      return { dir, path, fd: Fs.openSync(path, flags) }
    }),
    ({ fd, path }) => use(fd, path),
    ({ dir, fd }) =>
      Effect.sync(() => {
        Fs.closeSync(fd)
        Fs.rmSync(dir, { recursive: true, force: true })
      })
  )

describe("internal/fileWriter", () => {
  it.effect("from a start position, writes there and leaves the bytes before it alone (an archive's member)", () =>
    withFile("r+", (fd, path) =>
      Effect.gen(function*() {
        const head = Crypto.randomBytes(1000)
        Fs.writeSync(fd, head, 0, head.length, 0)
        const pieces = [Crypto.randomBytes(FileWriter.BufferSize + 5), Crypto.randomBytes(7)]
        const writer = FileWriter.make(fd, undefined, head.length)
        for (const piece of pieces) yield* writer.put([piece])
        yield* writer.end
        assert.isTrue(Fs.readFileSync(path).equals(Buffer.concat([head, ...pieces])))
      })))

  it.effect("writes pieces of every size, smaller and larger than its buffers, in order", () =>
    withFile("w", (fd, path) =>
      Effect.gen(function*() {
        const sizes = [0, 1, 100, 64 * 1024, FileWriter.BufferSize - 1, 3, FileWriter.BufferSize * 3 + 17, 5, 0]
        const pieces = sizes.map((n) => Crypto.randomBytes(n))
        const writer = FileWriter.make(fd, undefined)
        // in batches of two and one, as a stream's chunks would come
        yield* writer.put(pieces.slice(0, 2))
        for (const piece of pieces.slice(2)) yield* writer.put([piece])
        yield* writer.end
        assert.isTrue(Fs.readFileSync(path).equals(Buffer.concat(pieces)))
      })))

  it.effect("a file smaller than a buffer gets buffers of its own size", () =>
    withFile("w", (fd, path) =>
      Effect.gen(function*() {
        const bytes = Crypto.randomBytes(10)
        const writer = FileWriter.make(fd, 10)
        yield* writer.put([bytes.subarray(0, 4), bytes.subarray(4)])
        yield* writer.end
        assert.isTrue(Fs.readFileSync(path).equals(bytes))
      })))

  it.effect("a write the system refuses fails with its error", () =>
    withFile("r", (fd) =>
      Effect.gen(function*() {
        const writer = FileWriter.make(fd, undefined)
        const error = yield* Effect.flip(Effect.zipRight(writer.put([Buffer.from("abc")]), writer.end))
        assert.strictEqual(error.code, "EBADF")
        yield* writer.settle
      })))
})
