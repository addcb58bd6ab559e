// The tar writer and reader behind the archives: members streamed in pieces of any size land whole and in place
// (the writer copies them through a FileWriter at each member's position, header last), and a member read into a
// reader's buffers comes back in those very buffers, with the same bytes.
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tar from "../src/internal/tarFile.js"

const pieces = (bytes: Uint8Array, size: number) => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size))
  return out
}

describe("internal/tarFile", () => {
  it.scoped("writes streamed members whole, and reads a member into the reader's buffers", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tar-file-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const path = Path.join(dir, "out.tar")
      // sizes around the writer's 256 KiB buffers and the reader's 1 MiB pieces, and odd ones for the padding
      const members = [
        { name: "a", bytes: Crypto.randomBytes(3 * 1024 * 1024 + 77), piece: 64 * 1024 },
        { name: "b", bytes: Crypto.randomBytes(1), piece: 1 },
        { name: "c", bytes: Crypto.randomBytes(256 * 1024), piece: 100_000 },
        { name: "d", bytes: new Uint8Array(0), piece: 1 }
      ]
      yield* Tar.write(
        path,
        (writer) =>
          Effect.forEach(members, (m) => writer.stream(m.name, Stream.fromIterable(pieces(m.bytes, m.piece))), {
            discard: true
          })
      )
      // every member reads back whole (in new buffers)
      const index = yield* Tar.scan(path)
      for (const m of members) {
        const entry = index.entries.get(m.name)
        assert.isDefined(entry)
        if (entry === undefined) continue
        assert.strictEqual(entry.size, m.bytes.length)
        const fresh = yield* Stream.runCollect(Tar.open(index, entry))
        assert.isTrue(Buffer.concat(Chunk.toReadonlyArray(fresh)).equals(m.bytes))
      }
      // member "a" from offset 1000, read into two buffers used in turn
      const a = index.entries.get("a")
      assert.isDefined(a)
      if (a === undefined) return
      const ring = BlobSource.bufferRing(2, Tar.PieceBytes)
      const buffers = [ring().buffer, ring().buffer]
      const seen: Array<ArrayBufferLike> = []
      const hash = Crypto.createHash("sha256")
      yield* Stream.runForEach(Tar.open(index, a, 1000, ring), (piece) =>
        Effect.sync(() => {
          seen.push(piece.buffer)
          hash.update(piece)
        }))
      const expected = Crypto.createHash("sha256").update(members[0].bytes.subarray(1000)).digest("hex")
      assert.strictEqual(hash.digest("hex"), expected)
      assert.strictEqual(seen.length, Math.ceil((a.size - 1000) / Tar.PieceBytes))
      assert.isTrue(seen.every((b) => buffers.includes(b)), "every piece is one of the two buffers")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
