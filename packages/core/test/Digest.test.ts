import { Digest, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"

const hex64 = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
const hex128 = "f".repeat(128)

describe("Digest", () => {
  it.effect("parses sha256 and sha512", () =>
    Effect.gen(function*() {
      const d = yield* Digest.parse(`sha256:${hex64}`)
      assert.strictEqual(d, `sha256:${hex64}`)
      assert.strictEqual(Digest.algorithm(d), "sha256")
      assert.strictEqual(Digest.encoded(d), hex64)
      const e = yield* Digest.parse(`sha512:${hex128}`)
      assert.strictEqual(Digest.algorithm(e), "sha512")
      assert.strictEqual(Digest.encoded(e), hex128)
    }))

  const bad: ReadonlyArray<readonly [string, string]> = [
    ["", "empty"],
    [hex64, "missing ':'"],
    [`:${hex64}`, "missing algorithm"],
    [`md5:${"a".repeat(32)}`, "unknown algorithm \"md5\""],
    [`sha1:${"a".repeat(40)}`, "unknown algorithm \"sha1\""],
    [`SHA256:${hex64}`, "must be lowercase"],
    [`sha256:${hex64.toUpperCase()}`, "hex must be lowercase"],
    [`sha256:${hex64.slice(1)}`, "must be 64 characters, got 63"],
    [`sha256:${hex64}00`, "must be 64 characters, got 66"],
    [`sha512:${hex64}`, "must be 128 characters, got 64"],
    [`sha256:${"z".repeat(64)}`, "must be hex"],
    ["sha256:", "missing sha256 hex"],
    [`sha-256!:${hex64}`, "malformed algorithm"]
  ]
  for (const [input, problem] of bad) {
    it.effect(`refuses ${JSON.stringify(input.slice(0, 20))}: ${problem}`, () =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(Digest.parse(input))
        assert.instanceOf(e, RegistryError.DigestInvalid)
        assert.strictEqual(e.digest, input)
        assert.include(e.detail ?? "", problem)
        assert.include(e.message, problem)
        assert.isFalse(Digest.isDigest(input))
      }))
  }

  it.effect("fromHex", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Digest.fromHex("sha256", hex64), `sha256:${hex64}`)
      const e = yield* Effect.flip(Digest.fromHex("sha512", hex64))
      assert.include(e.detail ?? "", "128 characters")
      const u = yield* Effect.flip(Digest.fromHex("sha256", hex64.toUpperCase()))
      assert.include(u.detail ?? "", "lowercase")
    }))

  it.effect("sha256 / sha512 of bytes agree with node:crypto", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode("{}")
      assert.strictEqual(
        yield* Digest.sha256(bytes),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
      )
      assert.strictEqual(yield* Digest.sha512(bytes), `sha512:${createHash("sha512").update(bytes).digest("hex")}`)
      // a view into a larger buffer hashes only its own bytes
      const big = new Uint8Array([9, 9, 0x7b, 0x7d, 9])
      assert.strictEqual(yield* Digest.sha256(big.subarray(2, 4)), yield* Digest.sha256(bytes))
    }))

  it("Schema names the problem", () => {
    const r = Schema.decodeUnknownEither(Digest.Digest)(`sha256:${hex64.slice(2)}`)
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) assert.include(r.left.message, "must be 64 characters")
    assert.isTrue(Either.isRight(Schema.decodeUnknownEither(Digest.Digest)(`sha256:${hex64}`)))
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Digest.Digest)(42)))
  })

  it.prop("isDigest agrees with parse, never throws", [FastCheck.string()], ([s]) => {
    const ok = Either.isRight(Digest.either(s))
    assert.strictEqual(Digest.isDigest(s), ok)
  })

  it.prop("every 64-hex string is a sha256 digest", [FastCheck.hexaString({ minLength: 64, maxLength: 64 })], ([h]) => {
    assert.isTrue(Digest.isDigest(`sha256:${h.toLowerCase()}`))
  })
})
