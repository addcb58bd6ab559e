import { BlobSource } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

describe("BlobSource byte helpers", () => {
  it("concatBytes joins pieces in order, empty ones included", () => {
    const joined = BlobSource.concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])])
    assert.deepStrictEqual(Array.from(joined), [1, 2, 3])
    assert.strictEqual(BlobSource.concatBytes([]).length, 0)
    // a fresh array: later changes to a piece do not reach it
    const piece = new Uint8Array([9])
    const copy = BlobSource.concatBytes([piece])
    piece[0] = 0
    assert.strictEqual(copy[0], 9)
  })

  it.effect("collectBytes runs the stream and joins it; a failure stays a failure", () =>
    Effect.gen(function*() {
      const bytes = yield* BlobSource.collectBytes(
        Stream.make(new Uint8Array([1]), new Uint8Array([2, 3])).pipe(Stream.rechunk(1))
      )
      assert.deepStrictEqual(Array.from(bytes), [1, 2, 3])
      const error = yield* Effect.flip(
        BlobSource.collectBytes(Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("boom")))
      )
      assert.strictEqual(error, "boom")
    }))
})

describe("BlobSource.releasedOnceWritten", () => {
  it.effect("marks the fresh pieces that are whole buffers, once each, and passes every byte through unchanged", () =>
    Effect.gen(function*() {
      const whole = new Uint8Array([1, 2, 3])
      const shared = new Uint8Array([4, 5, 6, 7])
      const view = shared.subarray(1, 3)
      const unmarked = new Uint8Array([8])
      const kept = new Uint8Array([9, 9])
      // the transport marks the pieces it made for this reader; a source's own bytes (`kept`) are never marked
      for (const bytes of [whole, view]) BlobSource.markFresh(bytes)
      const out = yield* Stream.runCollect(BlobSource.releasedOnceWritten(Stream.make(whole, view, kept)))
      assert.deepStrictEqual(Array.from(out, (bytes) => Array.from(bytes)), [[1, 2, 3], [5, 6], [9, 9]])
      // the writer takes a marked buffer once; a view into a larger buffer is never marked
      assert.strictEqual(BlobSource.takeReleasable(whole), whole.buffer)
      assert.strictEqual(BlobSource.takeReleasable(whole), undefined)
      assert.strictEqual(BlobSource.takeReleasable(view), undefined)
      assert.strictEqual(BlobSource.takeReleasable(shared), undefined)
      assert.strictEqual(BlobSource.takeReleasable(unmarked), undefined)
      assert.strictEqual(BlobSource.takeReleasable(kept), undefined, "bytes the transport did not make are never freed")
      // marking changes nothing in the bytes
      assert.deepStrictEqual(Array.from(whole), [1, 2, 3])
    }))

  it.effect("tells the transport when its reader claims a fresh piece, once per piece, before the piece goes on", () =>
    Effect.gen(function*() {
      const claims: Array<string> = []
      const first = new Uint8Array([1])
      const second = new Uint8Array([2])
      const later = new Uint8Array([3])
      BlobSource.markFresh(first, () => claims.push("first"))
      BlobSource.markFresh(second, () => claims.push("second"))
      BlobSource.markFresh(later, () => claims.push("later"))
      const seen: Array<string> = []
      // one piece per chunk; the first piece comes twice: a piece is claimed once
      yield* BlobSource.releasedOnceWritten(Stream.make(first, second, first).pipe(Stream.rechunk(1))).pipe(
        Stream.runForEach((piece) => Effect.sync(() => seen.push(`${piece[0]} after ${claims.length} claims`)))
      )
      assert.deepStrictEqual(claims, ["first", "second"])
      assert.deepStrictEqual(seen, ["1 after 1 claims", "2 after 2 claims", "1 after 2 claims"])
      // a view into a marked buffer is not the whole of it: never claimed, and the buffer stays unclaimed
      yield* Stream.runDrain(BlobSource.releasedOnceWritten(Stream.make(later.subarray(0, 0))))
      assert.deepStrictEqual(claims, ["first", "second"])
      yield* Stream.runDrain(BlobSource.releasedOnceWritten(Stream.make(later)))
      assert.deepStrictEqual(claims, ["first", "second", "later"])
    }))
})
