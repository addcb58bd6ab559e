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
