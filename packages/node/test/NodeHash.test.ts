import * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import { NodeHash } from "@effect-registry/node"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"

const text = (s: string) => new TextEncoder().encode(s)

// FIPS 180-2 test vectors.
const vectors = [
  {
    input: "",
    sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    sha512:
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
  },
  {
    input: "abc",
    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    sha512:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
  },
  {
    input: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    sha256: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    sha512:
      "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"
  }
] as const

describe("NodeHash", () => {
  it("matches the FIPS 180-2 vectors", () => {
    for (const v of vectors) {
      for (const algorithm of ["sha256", "sha512"] as const) {
        const hasher = NodeHash.makeHasher(algorithm)
        hasher.update(text(v.input))
        assert.strictEqual(hasher.digestHex(), v[algorithm])
      }
    }
  })

  it("hashes a million 'a's incrementally", () => {
    const hasher = NodeHash.makeHasher("sha256")
    const block = text("a".repeat(1000))
    for (let i = 0; i < 1000; i++) hasher.update(block)
    assert.strictEqual(hasher.digestHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  })

  it.effect("provides Hash to core's stream helpers", () =>
    Effect.gen(function*() {
      const result = yield* Hash.digestOf(Stream.make(text("a"), text("b"), text("c")))
      assert.strictEqual(result.digest, `sha256:${vectors[1].sha256}`)
      assert.strictEqual(result.size, 3)
      const sha512 = yield* Hash.digestOf(Stream.make(text("abc")), "sha512")
      assert.strictEqual(sha512.digest, `sha512:${vectors[1].sha512}`)
      const digest = yield* Digest.parse(`sha256:${vectors[1].sha256}`)
      const passed = yield* Stream.make(text("ab"), text("c")).pipe(Hash.verify({ digest, size: 3 }), Stream.runCollect)
      assert.strictEqual(Chunk.size(passed), 2)
    }).pipe(Effect.provide(NodeHash.layer)))

  it.prop(
    "incremental hashing equals one-shot hashing",
    [FastCheck.uint8Array({ maxLength: 4096 }), FastCheck.array(FastCheck.nat(4096), { maxLength: 8 })],
    ([bytes, cuts]) => {
      for (const algorithm of ["sha256", "sha512"] as const) {
        const whole = NodeHash.makeHasher(algorithm)
        whole.update(bytes)
        const pieces = NodeHash.makeHasher(algorithm)
        const points = [...cuts.map((c) => c % (bytes.length + 1)), 0, bytes.length].sort((a, b) => a - b)
        for (let i = 1; i < points.length; i++) pieces.update(bytes.subarray(points[i - 1], points[i]))
        assert.strictEqual(pieces.digestHex(), whole.digestHex())
      }
    }
  )
})
