import { Digest, Hash, RegistryError } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
const sha256 = (b: Uint8Array) => Digest.unsafeMake(`sha256:${createHash("sha256").update(b).digest("hex")}`)
const chunks = (b: Uint8Array, size: number) => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size))
  return Stream.fromIterable(out)
}
const collect = <E>(s: Stream.Stream<Uint8Array, E, Hash.Hash>) =>
  Stream.runCollect(s).pipe(Effect.map((c) => Chunk.toReadonlyArray(c).reduce((n, b) => n + b.length, 0)))

layer(PortableHash.layer)("Hash (PortableHash)", (it) => {
  const data = bytes(100_003)
  const digest = sha256(data)

  it.effect("digestOf agrees with node:crypto for sha256 and sha512", () =>
    Effect.gen(function*() {
      const r = yield* Hash.digestOf(chunks(data, 4096))
      assert.deepStrictEqual(r, { digest, size: data.length })
      const r512 = yield* chunks(data, 777).pipe(Hash.digestOf("sha512"))
      assert.strictEqual(r512.digest, `sha512:${createHash("sha512").update(data).digest("hex")}`)
      const empty = yield* Hash.digestOf(Stream.empty)
      assert.strictEqual(empty.digest, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
      assert.strictEqual(yield* Hash.digestBytes(data), digest)
    }))

  it.effect("verify passes a good stream through unchanged", () =>
    Effect.gen(function*() {
      const out = yield* chunks(data, 1000).pipe(Hash.verify({ digest, size: data.length }), Stream.runCollect)
      const joined = new Uint8Array(data.length)
      let o = 0
      for (const c of out) {
        joined.set(c, o)
        o += c.length
      }
      assert.deepStrictEqual(joined, data)
      // data-first form, size unknown
      assert.strictEqual(yield* collect(Hash.verify(chunks(data, 999), { digest })), data.length)
    }))

  it.effect("truncated stream: SizeMismatch when size is known, DigestMismatch otherwise", () =>
    Effect.gen(function*() {
      const short = data.subarray(0, data.length - 10)
      const e = yield* Effect.flip(collect(chunks(short, 4096).pipe(Hash.verify({ digest, size: data.length }))))
      assert.instanceOf(e, RegistryError.SizeMismatch)
      if (e._tag === "SizeMismatch") {
        assert.strictEqual(e.expected, data.length)
        assert.strictEqual(e.actual, short.length)
      }
      const d = yield* Effect.flip(collect(chunks(short, 4096).pipe(Hash.verify({ digest, repository: "a/b" }))))
      assert.instanceOf(d, RegistryError.DigestMismatch)
      if (d._tag === "DigestMismatch") {
        assert.strictEqual(d.expected, digest)
        assert.strictEqual(d.actual, sha256(short))
        assert.strictEqual(d.repository, "a/b")
      }
    }))

  it.effect("tampered stream of the right size: DigestMismatch", () =>
    Effect.gen(function*() {
      const tampered = data.slice()
      tampered[5000] ^= 1
      const e = yield* Effect.flip(collect(chunks(tampered, 4096).pipe(Hash.verify({ digest, size: data.length }))))
      assert.instanceOf(e, RegistryError.DigestMismatch)
    }))

  it.effect("over-long stream fails as soon as the size is exceeded, without emitting the excess", () =>
    Effect.gen(function*() {
      const pulled = yield* Ref.make(0)
      const long = Stream.concat(chunks(data, 4096), Stream.repeatValue(new Uint8Array(4096)).pipe(Stream.take(1000)))
        .pipe(Stream.tap(() => Ref.update(pulled, (n) => n + 1)))
      const emitted = yield* Ref.make(0)
      const exit = yield* long.pipe(
        Hash.verify({ digest, size: data.length }),
        Stream.runForEach((c) => Ref.update(emitted, (n) => n + c.length)),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      const e = yield* Effect.flip(exit)
      assert.instanceOf(e, RegistryError.SizeMismatch)
      assert.isAtMost(yield* Ref.get(emitted), data.length)
      assert.isBelow(yield* Ref.get(pulled), 50) // stopped long before the 1000 extra chunks
    }))

  it.effect("re-running the same stream value hashes anew", () =>
    Effect.gen(function*() {
      const verified = chunks(data, 4096).pipe(Hash.verify({ digest, size: data.length }))
      assert.strictEqual(yield* collect(verified), data.length)
      assert.strictEqual(yield* collect(verified), data.length)
      const counter = yield* Ref.make(0)
      // first run is cut short, second run complete: the second must verify on its own
      const flaky = Stream.unwrap(Effect.map(
        Ref.getAndUpdate(counter, (n) => n + 1),
        (n) =>
          n === 0 ? Stream.concat(chunks(data.subarray(0, 500), 100), Stream.fail("cut" as const)) : chunks(data, 4096)
      ))
      const retried = flaky.pipe(Hash.verify({ digest, size: data.length }), Stream.retry(Schedule.recurs(1)))
      const first = yield* Effect.flip(collect(flaky.pipe(Hash.verify({ digest, size: data.length }))))
      assert.strictEqual(first, "cut")
      assert.strictEqual(yield* collect(retried), data.length)
    }))

  it.effect("tap reports digest and size at the end", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const s = chunks(data, 5000).pipe(
        Hash.tap("sha256", (d, n) => Ref.update(seen, (xs) => [...xs, [d, n] as const]))
      )
      assert.strictEqual(yield* collect(s), data.length)
      assert.strictEqual(yield* collect(s), data.length)
      assert.deepStrictEqual(yield* Ref.get(seen), [[digest, data.length], [digest, data.length]])
    }))
})

describe("Hash", () => {
  it.effect("a malformed hasher is a defect, not a silent pass", () =>
    Effect.gen(function*() {
      const broken = Hash.make(() => ({ update: () => {}, digestHex: () => "nope" }))
      const exit = yield* Hash.digestBytes(new Uint8Array(1)).pipe(
        Effect.provideService(Hash.Hash, broken),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Die")
    }))
})
