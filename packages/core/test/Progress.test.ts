import { Digest } from "@effect-registry/core"
import { Progress } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const digest = Digest.unsafeMake(`sha256:${"a".repeat(64)}`)

const bytes = (...sizes: ReadonlyArray<number>) =>
  Stream.fromIterable(sizes.map((n) => new Uint8Array(n))).pipe(Stream.rechunk(1))

describe("Progress", () => {
  it.effect("track reports the position after each chunk and leaves the bytes unchanged", () =>
    Effect.gen(function*() {
      const seen: Array<Progress.Event> = []
      let counted = 0
      const out = yield* bytes(3, 0, 5, 4).pipe(
        Progress.track({ digest, total: 12, onBytes: (n) => counted += n }),
        Stream.runCollect,
        Effect.provide(Progress.callback((e) => void seen.push(e)))
      )
      assert.deepStrictEqual(Chunk.toArray(out).map((b) => b.length), [3, 0, 5, 4])
      assert.strictEqual(counted, 12)
      const positions = seen.map((e) => e._tag === "BlobProgress" ? e.bytes : -1)
      assert.strictEqual(positions[positions.length - 1], 12)
      assert.isTrue(positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1])))
      assert.isTrue(seen.every((e) => e.digest === digest && e.total === 12))
    }))

  it.effect("track starts at the offset of a resumed transfer and counts afresh on each run", () =>
    Effect.gen(function*() {
      const seen: Array<Progress.Event> = []
      const counted = bytes(4).pipe(Progress.track({ digest, total: 10, offset: 6 }))
      yield* Stream.runDrain(counted).pipe(Effect.provide(Progress.callback((e) => void seen.push(e))))
      yield* Stream.runDrain(counted).pipe(Effect.provide(Progress.callback((e) => void seen.push(e))))
      assert.deepStrictEqual(seen.map((e) => e.bytes), [10, 10])
    }))

  it.effect("without a Progress service, events go nowhere", () =>
    Effect.gen(function*() {
      yield* Progress.emit({ _tag: "ImageDone", digest, bytes: 1, total: 1 })
      const out = yield* Stream.runCollect(bytes(2, 2).pipe(Progress.track({ digest, total: 4 })))
      assert.strictEqual(Chunk.size(out), 2)
      yield* Progress.emit({ _tag: "BlobStart", digest, bytes: 0, total: 1 }).pipe(Effect.provide(Progress.none))
    }))

  it.effect("callback takes effectful functions too", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      yield* Progress.emit({ _tag: "BlobStart", digest, bytes: 0, total: 1 }).pipe(
        Effect.provide(Progress.callback((e) => Effect.sync(() => void seen.push(e._tag))))
      )
      assert.deepStrictEqual(seen, ["BlobStart"])
    }))

  it.scoped("queue exposes the events as a stream", () =>
    Effect.gen(function*() {
      const events = yield* Progress.Events
      yield* Stream.runDrain(bytes(1, 2, 3).pipe(Progress.track({ digest, total: 6 })))
      yield* Progress.emit({ _tag: "ImageDone", digest, bytes: 6, total: 6 })
      const taken = yield* events.stream.pipe(
        Stream.takeUntil((e) => e._tag === "ImageDone"),
        Stream.runCollect
      )
      assert.deepStrictEqual(Chunk.toArray(taken).map((e) => [e._tag, e.bytes]), [
        ["BlobProgress", 1],
        ["BlobProgress", 3],
        ["BlobProgress", 6],
        ["ImageDone", 6]
      ])
      assert.deepStrictEqual(yield* events.takeAll, [])
    }).pipe(Effect.provide(Progress.queue())))

  it.scoped("a queue with a capacity keeps the newest events", () =>
    Effect.gen(function*() {
      const events = yield* Progress.Events
      for (let i = 1; i <= 5; i++) yield* Progress.emit({ _tag: "BlobProgress", digest, bytes: i, total: 5 })
      assert.deepStrictEqual((yield* events.takeAll).map((e) => e.bytes), [4, 5])
    }).pipe(Effect.provide(Progress.queue({ capacity: 2 }))))
})
