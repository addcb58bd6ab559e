// The inflating behind docker-archive export: a round trip, a bound on what it reads ahead of its reader (the
// platform's duplex bridge read a download into zlib as fast as it came), the compressed stream's own failure
// kept as it is (also after padding that ends the gzip data early), bad gzip data as the caller's error, claimed
// pieces freed once inflated, and a reader that stops early.
import * as BlobSource from "@effect-registry/core/BlobSource"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Zlib from "node:zlib"
import * as Gunzip from "../src/internal/gunzip.js"

class InputBroke extends Data.TaggedError("InputBroke")<{}> {}
class BadGzip extends Data.TaggedError("BadGzip")<{ readonly cause: unknown }> {}

const Piece = 64 * 1024

// `count` pieces of 64 KiB of random bytes, gzipped without compression (the compressed size is the plain size
// and a bit), cut into 64 KiB pieces as a socket would hand them over
const sample = (count: number) => {
  const plain = Crypto.randomBytes(count * Piece)
  const gz = Zlib.gzipSync(plain, { level: 0 })
  const pieces: Array<Uint8Array> = []
  for (let at = 0; at < gz.length; at += Piece) pieces.push(gz.subarray(at, at + Piece))
  return { plain, pieces }
}

const inflate = (input: Stream.Stream<Uint8Array, InputBroke>) =>
  Gunzip.gunzip(input, (cause) => new BadGzip({ cause }))

const concat = (chunk: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toReadonlyArray(chunk))

describe("internal/gunzip", () => {
  it.effect("inflates what gzip made, byte for byte", () =>
    Effect.gen(function*() {
      const { plain, pieces } = sample(40)
      const out = yield* Stream.runCollect(inflate(Stream.fromIterable(pieces)))
      assert.isTrue(concat(out).equals(plain))
    }))

  it.live("reads the compressed stream only a few pieces ahead of a reader that waits", () =>
    Effect.gen(function*() {
      const { plain, pieces } = sample(128)
      let pulled = 0
      const input = Stream.fromIterable(pieces).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const seen: Array<number> = []
      const out = yield* inflate(input).pipe(
        // a slow reader: each piece waits 2 ms, the first one 300 ms
        Stream.tap(() => Effect.sleep(seen.length === 0 ? "300 millis" : "2 millis")),
        Stream.tap(() => Effect.sync(() => seen.push(pulled))),
        Stream.runCollect,
        Effect.timeout("60 seconds")
      )
      assert.isTrue(concat(out).equals(plain))
      // after 300 ms on the first piece, 128 pieces would long be read with no bound; zlib's buffers, the 4
      // pieces of output waiting and the one being written hold about 8
      assert.isAtMost(seen[0], 12, `${seen[0]} of ${pieces.length} compressed pieces read while the reader waited`)
      assert.strictEqual(pulled, pieces.length)
    }))

  it.effect("fails with the compressed stream's own error, not as bad gzip data", () =>
    Effect.gen(function*() {
      const { pieces } = sample(8)
      const input = Stream.concat(Stream.fromIterable(pieces.slice(0, 3)), Stream.fail(new InputBroke()))
      const result = yield* Effect.either(Stream.runDrain(inflate(input)))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InputBroke")
    }))

  it.live("reads the input to its end after zero padding ends the gzip data, and keeps the input's failure", () =>
    Effect.gen(function*() {
      const { plain, pieces } = sample(4)
      // the padding in the same piece as the gzip data's end, and in pieces after it
      const last = pieces[pieces.length - 1]
      const tail = new Uint8Array(last.length + 512)
      tail.set(last)
      const padded = [...pieces.slice(0, -1), tail, new Uint8Array(4096), new Uint8Array(4096)]
      let pulled = 0
      const counted = Stream.fromIterable(padded).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const out = yield* Stream.runCollect(inflate(counted))
      assert.isTrue(concat(out).equals(plain))
      assert.strictEqual(pulled, padded.length)
      // a download that breaks after the padding, once zlib has ended: its error, not a success
      const broken = Stream.fromIterable(padded).pipe(
        Stream.concat(Stream.drain(Stream.fromEffect(Effect.sleep("300 millis")))),
        Stream.concat(Stream.fail(new InputBroke()))
      )
      const result = yield* Effect.either(Stream.runDrain(inflate(broken)))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "InputBroke")
    }))

  it.effect("frees the compressed pieces marked as the reader's alone once inflated, and no others", () =>
    Effect.gen(function*() {
      const { plain, pieces } = sample(6)
      // each piece a buffer of its own, as a transport hands them over
      const own = pieces.map((piece) => new Uint8Array(piece))
      for (const piece of own) BlobSource.markFresh(piece)
      const claimed = own.slice(0, 4)
      const input = Stream.concat(
        BlobSource.releasedOnceWritten(Stream.fromIterable(claimed)),
        Stream.fromIterable(own.slice(4))
      )
      const out = yield* Stream.runCollect(inflate(input))
      assert.isTrue(concat(out).equals(plain))
      assert.deepStrictEqual(claimed.map((piece) => piece.byteLength), [0, 0, 0, 0])
      assert.deepStrictEqual(own.slice(4).map((piece) => piece.byteLength), pieces.slice(4).map((p) => p.byteLength))
    }))

  it.live("stops reading its input when the reader stops early", () =>
    Effect.gen(function*() {
      const { plain, pieces } = sample(64)
      let pulled = 0
      const input = Stream.fromIterable(pieces).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const first = yield* inflate(input).pipe(Stream.take(1), Stream.runCollect, Effect.timeout("30 seconds"))
      assert.isTrue(concat(first).equals(plain.subarray(0, concat(first).length)))
      yield* Effect.sleep("100 millis")
      assert.isBelow(pulled, pieces.length)
    }))

  it.effect("fails with the caller's error for data that is not gzip, and for a truncated stream", () =>
    Effect.gen(function*() {
      const garbage = yield* Effect.either(Stream.runDrain(inflate(Stream.make(Crypto.randomBytes(4096)))))
      assert.isTrue(Either.isLeft(garbage) && garbage.left._tag === "BadGzip")
      const { pieces } = sample(4)
      const truncated = yield* Effect.either(Stream.runDrain(inflate(Stream.fromIterable(pieces.slice(0, 2)))))
      assert.isTrue(Either.isLeft(truncated) && truncated.left._tag === "BadGzip")
    }))
})
