import { Digest, Manifest, MediaType, RegistryError } from "@effect-registry/core"
import { JsonSignature, Key, KeyId, Schema1, SigningError } from "@effect-registry/signing"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { bytes, fixture, text } from "./fixtures.js"

const joyentKid = KeyId.KeyId.make("TDHB:4TXA:GUTQ:HPET:DV5N:PJPB:XDMT:X2FX:P4SR:OJ77:FSSN:MD5T")
const joyentDigest = "sha256:b524e5d7837da98010567886762935bf3c10ad5ac1ff5112bc43299329ca9a54"
const v2s1Kid = "OZ45:U3IG:TDOI:PMBD:NGP2:LDIW:II2U:PSBI:MMCZ:YZUP:TUUO:XPZT"
const v2s1Digest = "sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000"

const layer = (n: number) => Digest.sha256(bytes(`layer ${n}`))

const buildExample = Effect.gen(function*() {
  const layers = [yield* layer(1), yield* layer(2), yield* layer(3)]
  const manifest = yield* Schema1.build({
    name: "example/repo",
    tag: "latest",
    layers,
    config: {
      architecture: "arm64",
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: [] },
      history: [
        { created: "2024-01-01T00:00:01Z", created_by: "ADD base" },
        { created: "2024-01-01T00:00:02Z", created_by: "ENV X=1", empty_layer: true },
        { created: "2024-01-01T00:00:03Z", created_by: "RUN make", author: "me" },
        { created: "2024-01-01T00:00:04Z", created_by: "COPY app" }
      ]
    }
  })
  return { layers, manifest }
})

describe("Schema1 fixtures", () => {
  it.effect("the joyent manifest verifies, with its key id and digest", () =>
    Effect.gen(function*() {
      const verified = yield* Schema1.verify(fixture("v1-signed-joyent.manifest.json"))
      assert.deepStrictEqual(verified.keyIds, [joyentKid])
      assert.strictEqual(verified.digest, joyentDigest)
      assert.strictEqual(verified.manifest.name, "joyentunsupported/boxplay")
      assert.strictEqual(verified.signatures[0].algorithm, "ES256")
      assert.strictEqual(verified.signatures[0].time, "2016-10-04T23:30:36Z")
      assert.strictEqual(yield* Digest.sha256(verified.payload), joyentDigest)
      assert.strictEqual(yield* Schema1.digest(fixture("v1-signed-joyent.manifest.json")), joyentDigest)
    }))

  it.effect("v2s1: right key id and digest, but the signature does not verify", () =>
    Effect.gen(function*() {
      const bytes = fixture("v2s1.manifest.json")
      const signatures = yield* Schema1.signatures(bytes)
      assert.strictEqual(signatures.length, 1)
      const key = yield* Key.fromJwk(signatures[0].header.jwk)
      assert.strictEqual(key.keyId, v2s1Kid)
      assert.strictEqual(yield* Schema1.digest(bytes), v2s1Digest)
      const error = yield* Effect.flip(Schema1.verify(bytes))
      assert.strictEqual(error._tag, "VerifyError")
      assert.strictEqual(error.reason, "BadSignature")
      assert.strictEqual(error.keyId, v2s1Kid)
      assert.strictEqual(error.index, 0)
      const unverified = SigningError.toManifestUnverified(error, { repository: "mitr/busybox", reference: "latest" })
      assert.isTrue(RegistryError.isRegistryError(unverified))
      assert.strictEqual(unverified._tag, "ManifestUnverified")
      assert.strictEqual(unverified.cause, error)
    }))

  it.effect("v2s1-invalid-signatures fails with a typed error", () =>
    Effect.gen(function*() {
      const bytes = fixture("v2s1-invalid-signatures.manifest.json")
      const error = yield* Effect.flip(Schema1.verify(bytes))
      assert.strictEqual(error.reason, "Malformed")
      assert.isTrue(SigningError.isSigningError(error))
      const tooLarge = yield* Effect.flip(Schema1.verify(fixture("v1-signed-joyent.manifest.json"), { maxSize: 100 }))
      assert.strictEqual(tooLarge.reason, "Malformed")
      const signError = yield* Effect.flip(Schema1.sign(bytes, yield* Key.generate()))
      assert.strictEqual(signError.reason, "InvalidSignatures")
    }))

  it.effect("v2s1-unsigned has no signatures; verify says Unsigned; signing it keeps its digest", () =>
    Effect.gen(function*() {
      const unsigned = fixture("v2s1-unsigned.manifest.json")
      assert.deepStrictEqual(yield* Schema1.signatures(unsigned), [])
      assert.strictEqual(yield* Schema1.digest(unsigned), v2s1Digest)
      const error = yield* Effect.flip(Schema1.verify(unsigned))
      assert.strictEqual(error.reason, "Unsigned")

      const key = yield* Key.generate()
      const signed = yield* Schema1.sign(unsigned, key)
      assert.strictEqual(signed.digest, v2s1Digest)
      const verified = yield* Schema1.verify(signed.bytes)
      assert.strictEqual(verified.digest, v2s1Digest)
      assert.deepStrictEqual(verified.keyIds, [key.keyId])
    }))

  it.effect("signing the joyent manifest again keeps its signature", () =>
    Effect.gen(function*() {
      const key = yield* Key.generate({ type: "EC", curve: "P-384" })
      const signed = yield* Schema1.sign(fixture("v1-signed-joyent.manifest.json"), key)
      assert.deepStrictEqual(signed.keyIds, [joyentKid, key.keyId])
      assert.strictEqual(signed.digest, joyentDigest)
      const verified = yield* Schema1.verify(signed.bytes)
      assert.deepStrictEqual(verified.keyIds, [joyentKid, key.keyId])
      assert.strictEqual(verified.digest, joyentDigest)
    }))
})

describe("Schema1.sign / verify", () => {
  it.effect("round trips for P-256, P-384, P-521 and RSA-2048", () =>
    Effect.gen(function*() {
      const { manifest } = yield* buildExample
      const options: ReadonlyArray<Key.GenerateOptions> = [
        { type: "EC", curve: "P-256" },
        { type: "EC", curve: "P-384" },
        { type: "EC", curve: "P-521" },
        { type: "RSA", bits: 2048 }
      ]
      for (const o of options) {
        const key = yield* Key.generate(o)
        const signed = yield* Schema1.sign(manifest, key)
        assert.strictEqual(signed.mediaType, MediaType.DockerManifestSchema1Signed)
        assert.strictEqual(signed.kind, "schema1")
        assert.strictEqual(text(signed.payload), JSON.stringify(manifest, null, 3))
        assert.strictEqual(signed.digest, yield* Digest.sha256(signed.payload))
        const verified = yield* Schema1.verify(signed.bytes)
        assert.deepStrictEqual(verified.keyIds, [key.keyId])
        assert.strictEqual(verified.signatures[0].algorithm, key.algorithm)
        assert.strictEqual(verified.digest, signed.digest)
        assert.deepStrictEqual(verified.manifest.fsLayers, manifest.fsLayers)
        // core agrees on the digest and decodes what we wrote
        const decoded = yield* Manifest.decode(signed.bytes)
        assert.strictEqual(decoded.kind, "schema1")
        assert.strictEqual(decoded.digest, signed.digest)
      }
    }))

  it.effect("several signers at once, data-last, with the TestClock's time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-06-01T10:00:00Z"))
      const { manifest } = yield* buildExample
      const a = yield* Key.generate()
      const b = yield* Key.generate({ type: "RSA" })
      const signed = yield* Schema1.sign([a, b])(manifest)
      assert.deepStrictEqual(signed.keyIds, [a.keyId, b.keyId])
      const verified = yield* Schema1.verify(signed.bytes)
      assert.deepStrictEqual(verified.keyIds, [a.keyId, b.keyId])
      assert.deepStrictEqual(verified.signatures.map((s) => s.time), ["2025-06-01T10:00:00Z", "2025-06-01T10:00:00Z"])
      const none = yield* Effect.flip(Schema1.sign(manifest, []))
      assert.strictEqual(none.reason, "NoSignatures")
    }))

  it.effect("a value's own signatures member is dropped, bytes keep theirs", () =>
    Effect.gen(function*() {
      const { manifest } = yield* buildExample
      const key = yield* Key.generate()
      const first = yield* Schema1.sign(manifest, key)
      const again = yield* Schema1.sign(first.manifest, key)
      assert.strictEqual(again.keyIds.length, 1)
      assert.strictEqual(again.digest, first.digest)
      const kept = yield* Schema1.sign(first.bytes, key)
      assert.strictEqual(kept.keyIds.length, 2)
    }))

  it.effect("tampering, swapping and a wrong formatLength fail verification", () =>
    Effect.gen(function*() {
      const { manifest } = yield* buildExample
      const key = yield* Key.generate()
      const signed = yield* Schema1.sign(manifest, key)
      const tampered = bytes(text(signed.bytes).replace("\"tag\": \"latest\"", "\"tag\": \"lat3st\""))
      assert.strictEqual((yield* Effect.flip(Schema1.verify(tampered))).reason, "BadSignature")

      const other = yield* Schema1.sign({ ...manifest, tag: "other" }, key)
      const otherSig = (yield* Schema1.signatures(other.bytes))[0].signature
      const mySig = (yield* Schema1.signatures(signed.bytes))[0].signature
      const swapped = bytes(text(signed.bytes).replace(mySig, otherSig))
      assert.strictEqual((yield* Effect.flip(Schema1.verify(swapped))).reason, "BadSignature")

      const js = yield* JsonSignature.parse(signed.bytes)
      const header = JSON.parse(Buffer.from(js.signatures[0].protected, "base64url").toString()) as {
        formatLength: number
      }
      const wrongProtected = Buffer.from(JSON.stringify({ ...header, formatLength: header.formatLength + 2 }))
        .toString("base64url")
      const wrong = bytes(text(signed.bytes).replace(js.signatures[0].protected, wrongProtected))
      const e = yield* Effect.flip(Schema1.verify(wrong))
      assert.strictEqual(e._tag, "VerifyError")
      assert.include(["BadSignature", "InvalidManifest"], e.reason)
    }))

  it.effect("refuses to sign what is not a schema 1 manifest", () =>
    Effect.gen(function*() {
      const key = yield* Key.generate()
      const notSchema1 = yield* Effect.flip(Schema1.sign(bytes(`{\n   "schemaVersion": 2\n}`), key))
      assert.strictEqual(notSchema1.reason, "InvalidManifest")
      const { manifest } = yield* buildExample
      const mismatched = yield* Effect.flip(Schema1.sign({ ...manifest, history: [] }, key))
      assert.strictEqual(mismatched.reason, "InvalidManifest")
    }))
})

describe("Schema1.build", () => {
  it.effect("fsLayers and history newest first, with a v1 id/parent chain", () =>
    Effect.gen(function*() {
      const { layers, manifest } = yield* buildExample
      assert.strictEqual(manifest.schemaVersion, 1)
      assert.strictEqual(manifest.name, "example/repo")
      assert.strictEqual(manifest.tag, "latest")
      assert.strictEqual(manifest.architecture, "arm64")
      assert.deepStrictEqual(manifest.fsLayers.map((l) => l.blobSum), [layers[2], layers[1], layers[0]])
      const v1 = manifest.history.map((h) => JSON.parse(h.v1Compatibility) as Record<string, unknown>)
      assert.strictEqual(v1.length, 3)
      assert.strictEqual(v1[0].parent, v1[1].id)
      assert.strictEqual(v1[1].parent, v1[2].id)
      assert.isUndefined(v1[2].parent)
      for (const entry of v1) assert.match(String(entry.id), /^[0-9a-f]{64}$/)
      // the top entry carries the config, without the v2-only members
      assert.strictEqual(v1[0].os, "linux")
      assert.deepStrictEqual(v1[0].config, { Cmd: ["/bin/sh"] })
      assert.isUndefined(v1[0].rootfs)
      assert.isUndefined(v1[0].history)
      // lower entries from the config's non-empty history
      assert.strictEqual(v1[2].created, "2024-01-01T00:00:01Z")
      assert.deepStrictEqual(v1[1].container_config, { Cmd: ["RUN make"] })
      assert.strictEqual(v1[1].author, "me")
      // the first members in docker's order
      assert.deepStrictEqual(Object.keys(manifest), [
        "schemaVersion",
        "name",
        "tag",
        "architecture",
        "fsLayers",
        "history"
      ])
    }))

  it.effect("is deterministic and independent of the config's member order", () =>
    Effect.gen(function*() {
      const layers = [yield* layer(1), yield* layer(2)]
      const a = yield* Schema1.build({ name: "r", tag: "t", layers, config: { os: "linux", architecture: "amd64" } })
      const b = yield* Schema1.build({ name: "r", tag: "t", layers, config: `{"architecture":"amd64","os":"linux"}` })
      assert.deepStrictEqual(a, b)
      const c = yield* Schema1.build({ name: "r", tag: "t", layers, config: { os: "windows", architecture: "amd64" } })
      assert.notStrictEqual(c.history[0].v1Compatibility, a.history[0].v1Compatibility)
      // the lower entries depend only on the layers below them
      assert.strictEqual(c.history[1].v1Compatibility, a.history[1].v1Compatibility)
      const d = yield* Schema1.build({ name: "r", tag: "t", layers, config: {}, architecture: "s390x" })
      assert.strictEqual(d.architecture, "s390x")
      const e = yield* Schema1.build({ name: "r", tag: "t", layers, config: bytes("{}") })
      assert.strictEqual(e.architecture, "amd64")
    }))

  // missing layers, a non-object config, an empty name or tag; `layers` is filled in with one real layer
  const refused: ReadonlyArray<
    readonly [
      what: string,
      options: Omit<Schema1.BuildOptions, "layers">,
      withLayer: boolean,
      SigningError.BuildErrorReason
    ]
  > = [
    ["no layers", { name: "r", tag: "t", config: {} }, false, "NoLayers"],
    ["a JSON array config", { name: "r", tag: "t", config: "[1]" }, true, "InvalidConfig"],
    ["a config that is not JSON", { name: "r", tag: "t", config: "{" }, true, "InvalidConfig"],
    ["an empty name", { name: "", tag: "t", config: {} }, true, "InvalidName"],
    ["an empty tag", { name: "r", tag: "", config: {} }, true, "InvalidTag"]
  ]
  it.effect.each(refused)("refuses %s", ([, options, withLayer, reason]) =>
    Effect.gen(function*() {
      const layers = withLayer ? [yield* layer(1)] : []
      const error = yield* Effect.flip(Schema1.build({ ...options, layers }))
      assert.strictEqual(error._tag, "BuildError")
      assert.strictEqual(error.reason, reason)
    }))

  it.effect("built, signed and verified end to end", () =>
    Effect.gen(function*() {
      const key = yield* Key.generate()
      const { layers, manifest } = yield* buildExample
      const signed = yield* Schema1.sign(manifest, key)
      const verified = yield* Schema1.verify(signed.bytes)
      assert.deepStrictEqual(verified.manifest.fsLayers.map((l) => l.blobSum), [...layers].reverse())
      assert.deepStrictEqual(verified.keyIds, [key.keyId])
    }))
})
