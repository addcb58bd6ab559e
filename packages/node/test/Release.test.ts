// Freeing a buffer's memory at once (internal/release.ts), on the Node that runs the tests: the buffer is
// detached (it and its views read as empty) and the process's ArrayBuffer memory drops by its size right away,
// without a garbage collection. A transfer of pieces marked BlobSource.releasedOnceWritten relies on it.
import * as BlobSource from "@effect-registry/core/BlobSource"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Release from "../src/internal/release.js"

const MiB = 1024 * 1024

describe("release", () => {
  it("detaches a buffer and returns its memory at once", () => {
    const buffers = Array.from({ length: 32 }, (_, i) => new Uint8Array(MiB).fill(i + 1))
    const before = process.memoryUsage().arrayBuffers
    for (const bytes of buffers) Release.release(bytes.buffer as ArrayBuffer)
    const after = process.memoryUsage().arrayBuffers
    assert.isAtLeast(before - after, 30 * MiB, `ArrayBuffer memory before ${before}, after ${after}`)
    assert.deepStrictEqual(buffers.map((bytes) => bytes.length), buffers.map(() => 0))
    // a buffer released twice, or one that cannot be detached, is left as it is: nothing throws
    Release.release(buffers[0].buffer as ArrayBuffer)
  })

  it.effect("releaseWritten frees only the pieces marked releasedOnceWritten", () =>
    Effect.gen(function*() {
      const marked = new Uint8Array([1, 2, 3])
      const unmarked = new Uint8Array([4, 5])
      const view = new Uint8Array([6, 7, 8]).subarray(1)
      const kept = new Uint8Array([9])
      for (const bytes of [marked, view]) BlobSource.markFresh(bytes)
      yield* Stream.runDrain(BlobSource.releasedOnceWritten(Stream.make(marked, view, kept)))
      Release.releaseWritten([marked, unmarked, view, kept])
      assert.strictEqual(marked.length, 0)
      assert.deepStrictEqual(Array.from(unmarked), [4, 5])
      // a view into a larger buffer is never marked, so never freed
      assert.deepStrictEqual(Array.from(view), [7, 8])
      // nor are bytes that no transport marked fresh (a source's own bytes)
      assert.deepStrictEqual(Array.from(kept), [9])
    }))
})
