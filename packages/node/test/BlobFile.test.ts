import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Digest from "@effect-registry/core/Digest"
import { BlobFile, NodeHash } from "@effect-registry/node"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const TestLayer = Layer.merge(NodeFileSystem.layer, NodeHash.layer)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "blobfile-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const sha256 = (bytes: Uint8Array) => Digest.parse(`sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`)

const randomBytes = (n: number) => new Uint8Array(Crypto.randomBytes(n))

const concat = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toArray(chunks))

const pieces = (bytes: Uint8Array, size: number) => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return Stream.fromIterable(out)
}

describe("BlobFile.source", () => {
  it.scoped("reads the whole file and from any offset", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(10_000)
      const file = path.join(dir, "blob")
      fs.writeFileSync(file, bytes)
      const source = yield* BlobFile.source(file, { chunkSize: 1024 })
      assert.strictEqual(source._tag, "Reopenable")
      assert.strictEqual(source.size, 10_000)
      const whole = yield* Stream.runCollect(source.open(0))
      assert.isTrue(Chunk.size(whole) >= 10)
      assert.deepStrictEqual(concat(whole), Buffer.from(bytes))
      for (const offset of [1, 1023, 1024, 5000, 9999]) {
        const tail = yield* Stream.runCollect(source.open(offset))
        assert.deepStrictEqual(concat(tail), Buffer.from(bytes.subarray(offset)))
      }
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(source.open(10_000))), 0)
      // re-opening gives the same bytes again
      assert.deepStrictEqual(concat(yield* Stream.runCollect(source.open(9000))), Buffer.from(bytes.subarray(9000)))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("refuses offsets outside the file and missing files", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "blob")
      fs.writeFileSync(file, randomBytes(10))
      const source = yield* BlobFile.source(file)
      const beyond = yield* Stream.runCollect(source.open(11)).pipe(Effect.flip)
      assert.strictEqual(beyond.reason, "Offset")
      const negative = yield* Stream.runCollect(source.open(-1)).pipe(Effect.flip)
      assert.strictEqual(negative.reason, "Offset")
      const missing = yield* BlobFile.source(path.join(dir, "nope")).pipe(Effect.flip)
      assert.strictEqual(missing.reason, "Stat")
      const directory = yield* BlobFile.source(dir).pipe(Effect.flip)
      assert.strictEqual(directory.reason, "NotAFile")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("followSymlinks: false refuses a link; every opening reads the first file and at most its size", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(5000)
      const file = path.join(dir, "blob")
      fs.writeFileSync(file, bytes)
      const link = path.join(dir, "link")
      fs.symlinkSync(file, link)
      const refused = yield* BlobFile.source(link, { followSymlinks: false }).pipe(Effect.flip)
      assert.strictEqual(refused.reason, "Symlink")
      assert.strictEqual((yield* BlobFile.source(link)).size, 5000)

      const source = yield* BlobFile.source(file, { followSymlinks: false, chunkSize: 1000 })
      assert.deepStrictEqual(concat(yield* Stream.runCollect(source.open(0))), Buffer.from(bytes))
      // a file that grew since is refused (and would never be read beyond the size it had)
      fs.appendFileSync(file, "more")
      const grown = yield* Stream.runCollect(source.open(0)).pipe(Effect.flip)
      assert.strictEqual(grown.reason, "Changed")
      // a file replaced by another one of the same size (another inode, made while the first still exists)
      fs.writeFileSync(`${file}.new`, bytes)
      fs.renameSync(`${file}.new`, file)
      const replaced = yield* Stream.runCollect(source.open(0)).pipe(Effect.flip)
      assert.strictEqual(replaced.reason, "Changed")
      // and a link put in its place is not followed
      fs.rmSync(file)
      fs.symlinkSync(link, file)
      const relinked = yield* Stream.runCollect(source.open(10)).pipe(Effect.flip)
      assert.strictEqual(relinked.reason, "Symlink")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("digest hashes the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(3000)
      const file = path.join(dir, "blob")
      fs.writeFileSync(file, bytes)
      const result = yield* BlobFile.digest(file)
      assert.strictEqual(result.digest, yield* sha256(bytes))
      assert.strictEqual(result.size, 3000)
    }).pipe(Effect.provide(TestLayer)))
})

describe("BlobFile.writeAtomic", () => {
  it.scoped("writeAtomic writes chunks of many pieces (one writev each, beyond IOV_MAX) byte for byte", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(3000 * 7 + 5)
      const digest = yield* sha256(bytes)
      const target = path.join(dir, "many")
      // one chunk of 3001 pieces, then empty pieces and chunks, then a chunk of one large piece
      const small: Array<Uint8Array> = []
      for (let i = 0; i < 3000 * 7 + 1; i += 7) small.push(bytes.subarray(i, Math.min(i + 7, 3000 * 7 + 1)))
      const head = Chunk.unsafeFromArray(small)
      const stream = Stream.fromChunks(
        head,
        Chunk.make(new Uint8Array(0)),
        Chunk.empty(),
        Chunk.of(bytes.subarray(3000 * 7 + 1))
      )
      const written = yield* BlobFile.writeAtomic(target, stream, { digest, size: bytes.length })
      assert.strictEqual(written.size, bytes.length)
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(target)), bytes)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("frees the pieces marked releasedOnceWritten once they are in its buffers, and writes every byte", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const parts = Array.from({ length: 16 }, () => randomBytes(100_000))
      const whole = Buffer.concat(parts)
      const copies = parts.map((part) => part.slice())
      const target = path.join(dir, "released.bin")
      // as a download through NodeHttp.layer would have made them
      for (const part of parts) BlobSource.markFresh(part)
      const stream = Stream.concat(
        BlobSource.releasedOnceWritten(Stream.fromIterable(parts.slice(0, 12))),
        Stream.fromIterable(parts.slice(12))
      )
      const result = yield* BlobFile.writeAtomic(target, stream, { digest: yield* sha256(whole), size: whole.length })
      assert.strictEqual(result.size, whole.length)
      assert.deepStrictEqual(fs.readFileSync(target), whole)
      assert.deepStrictEqual(parts.map((part) => part.length), [...Array(12).fill(0), ...Array(4).fill(100_000)])
      assert.deepStrictEqual(parts.slice(12), copies.slice(12))

      // bytes no transport marked fresh (a blob a source keeps in memory) are never freed, even declared the reader's
      const kept = randomBytes(100_000)
      const keptTarget = path.join(dir, "kept.bin")
      yield* BlobFile.writeAtomic(keptTarget, BlobSource.releasedOnceWritten(Stream.make(kept)), {
        digest: yield* sha256(kept),
        size: kept.length
      })
      assert.strictEqual(kept.length, 100_000)
      assert.deepStrictEqual(fs.readFileSync(keptTarget), Buffer.from(kept))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("writes a verified stream to the target and leaves no temp file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(50_000)
      const digest = yield* sha256(bytes)
      const target = path.join(dir, "out.bin")
      const result = yield* BlobFile.writeAtomic(target, pieces(bytes, 4096), { digest, size: bytes.length })
      assert.strictEqual(result.size, 50_000)
      assert.strictEqual(result.digest, digest)
      assert.deepStrictEqual(fs.readFileSync(target), Buffer.from(bytes))
      assert.deepStrictEqual(fs.readdirSync(dir), ["out.bin"])
      assert.strictEqual(fs.statSync(target).mode & 0o777 & ~process.umask(), 0o644 & ~process.umask())
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("replaces an existing file only after verification", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "out.bin")
      fs.writeFileSync(target, "old")
      const bytes = randomBytes(100)
      const wrong = yield* sha256(randomBytes(100))
      const error = yield* BlobFile.writeAtomic(target, pieces(bytes, 10), { digest: wrong }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.strictEqual(fs.readFileSync(target, "utf8"), "old")
      yield* BlobFile.writeAtomic(target, pieces(bytes, 10), { digest: yield* sha256(bytes) })
      assert.deepStrictEqual(fs.readFileSync(target), Buffer.from(bytes))
      assert.deepStrictEqual(fs.readdirSync(dir), ["out.bin"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a digest mismatch fails typed and leaves neither target nor temp file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(10_000)
      const wrong = yield* sha256(randomBytes(10))
      const target = path.join(dir, "out.bin")
      const error = yield* BlobFile.writeAtomic(target, pieces(bytes, 1000), { digest: wrong }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DigestMismatch")
      if (error._tag === "DigestMismatch") {
        assert.strictEqual(error.expected, wrong)
        assert.strictEqual(error.actual, yield* sha256(bytes))
      }
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a size mismatch fails typed and leaves no file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(1000)
      const digest = yield* sha256(bytes)
      const target = path.join(dir, "out.bin")
      const tooShort = yield* BlobFile.writeAtomic(target, pieces(bytes, 100), { digest, size: 999 }).pipe(
        Effect.flip
      )
      assert.strictEqual(tooShort._tag, "SizeMismatch")
      const tooLong = yield* BlobFile.writeAtomic(target, pieces(bytes, 100), { digest, size: 1001 }).pipe(
        Effect.flip
      )
      assert.strictEqual(tooLong._tag, "SizeMismatch")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a failing source stream leaves no file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(100)
      const target = path.join(dir, "out.bin")
      const stream = Stream.concat(pieces(bytes, 10), Stream.fail("boom" as const))
      const error = yield* BlobFile.writeAtomic(target, stream, { digest: yield* sha256(bytes) }).pipe(Effect.flip)
      assert.strictEqual(error, "boom")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("an interrupted write leaves no file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(4096)
      const target = path.join(dir, "out.bin")
      const stream = Stream.concat(pieces(bytes, 1024), Stream.never)
      const fiber = yield* Effect.fork(BlobFile.writeAtomic(target, stream, { digest: yield* sha256(bytes) }))
      // wait (bounded) until the temp file holds the first bytes
      let seen: Array<string> = []
      for (let i = 0; i < 200; i++) {
        seen = fs.readdirSync(dir)
        if (seen.length === 1 && fs.statSync(path.join(dir, seen[0])).size === 4096) break
        yield* Effect.sleep("10 millis")
      }
      assert.strictEqual(seen.length, 1)
      assert.isTrue(BlobFile.isPartialName(seen[0]))
      assert.isTrue(seen[0].startsWith(".out.bin."))
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fails typed when the directory does not exist", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bytes = randomBytes(10)
      const error = yield* BlobFile.writeAtomic(path.join(dir, "missing", "out.bin"), Stream.make(bytes), {
        digest: yield* sha256(bytes)
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BlobFileError")
      if (error._tag === "BlobFileError") assert.strictEqual(error.reason, "Write")
    }).pipe(Effect.provide(TestLayer)))
})
