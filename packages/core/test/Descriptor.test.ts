import { Descriptor, Digest, MediaType, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

const decode = Schema.decodeUnknownEither(Descriptor.Descriptor, { onExcessProperty: "preserve" })

describe("Descriptor", () => {
  it("decodes all fields and keeps unknown ones", () => {
    const r = decode({
      mediaType: MediaType.OciManifest,
      digest: MediaType.OciEmptyDigest,
      size: 2,
      urls: ["https://example.test/x"],
      annotations: { a: "b" },
      platform: { os: "linux", architecture: "amd64", "x-p": 1 },
      artifactType: "application/x",
      data: "e30=",
      "x-extra": [1]
    })
    assert.isTrue(Either.isRight(r))
    if (Either.isRight(r)) {
      assert.deepStrictEqual(r.right["x-extra"], [1])
      assert.strictEqual(r.right.platform?.["x-p"], 1)
      assert.deepStrictEqual(Descriptor.embeddedData(r.right), new Uint8Array([0x7b, 0x7d]))
    }
  })

  const bad: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["negative size", { size: -1 }],
    ["fractional size", { size: 1.5 }],
    ["bad digest", { digest: "sha256:abc" }],
    ["bad data", { data: "not base64!" }],
    ["annotations not strings", { annotations: { a: 1 } }],
    ["missing mediaType", { mediaType: undefined }]
  ]
  for (const [name, patch] of bad) {
    it(`refuses ${name}`, () => {
      const input: Record<string, unknown> = { ...MediaType.OciEmptyDescriptor, ...patch }
      for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k]
      assert.isTrue(Either.isLeft(decode(input)))
      assert.isFalse(Descriptor.isDescriptor(input))
    })
  }

  it("embeddedData is undefined when data disagrees with size", () => {
    assert.isUndefined(Descriptor.embeddedData({ ...MediaType.OciEmptyDescriptor, size: 3 }))
    assert.isUndefined(Descriptor.embeddedData({ mediaType: "x", digest: MediaType.OciEmptyDigest, size: 2 }))
  })

  it.effect("fromBytes and make", () =>
    Effect.gen(function*() {
      const d = yield* Descriptor.fromBytes(MediaType.OciEmpty, new TextEncoder().encode("{}"), { embed: true })
      assert.deepStrictEqual(d, { ...MediaType.OciEmptyDescriptor })
      const m = yield* Descriptor.make({ mediaType: "x", digest: MediaType.OciEmptyDigest, size: 2, urls: undefined })
      assert.deepStrictEqual(m, { mediaType: "x", digest: MediaType.OciEmptyDigest, size: 2 })
      assert.isTrue(Digest.isDigest(m.digest))
      const e = yield* Effect.flip(Descriptor.make({ mediaType: "x", digest: "sha256:1", size: 2 }))
      assert.instanceOf(e, RegistryError.DigestInvalid)
      const s = yield* Effect.flip(Descriptor.make({ mediaType: "x", digest: MediaType.OciEmptyDigest, size: -2 }))
      assert.strictEqual(s._tag, "ManifestInvalid")
      assert.include(s.detail ?? "", "size")
      const u = yield* Effect.flip(
        Descriptor.make({ mediaType: "x", digest: MediaType.OciEmptyDigest, size: 2, data: "!" })
      )
      assert.include(u.detail ?? "", "data")
    }))
})
