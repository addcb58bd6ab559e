import { Key, KeyId, SigningError } from "@effect-registry/signing"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as crypto from "node:crypto"
import { bytes } from "./fixtures.js"

const joyentJwk = {
  crv: "P-256",
  kid: "TDHB:4TXA:GUTQ:HPET:DV5N:PJPB:XDMT:X2FX:P4SR:OJ77:FSSN:MD5T",
  kty: "EC" as const,
  x: "qXf9Xdjpv6zuDnXQQozI7kgr4NzrxfGamhzIYk1AtB0",
  y: "TTtzXr2y44oHeDINWrrI8QZG18n7SzzOOuvKSMd9gKo"
}

const flipFailure = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.flip(self)

describe("KeyId", () => {
  it.each(
    [
      ["", ""],
      ["f", "MY"],
      ["fo", "MZXQ"],
      ["foo", "MZXW6"],
      ["foob", "MZXW6YQ"],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI"]
    ] as const
  )("base32 matches the RFC 4648 test vector %j -> %j (no padding)", (input, expected) => {
    assert.strictEqual(KeyId.base32(bytes(input)), expected)
  })

  it("is the libtrust key id of a known key (joyent fixture's JWK)", () => {
    const key = crypto.createPublicKey({
      key: { kty: "EC", crv: "P-256", x: joyentJwk.x, y: joyentJwk.y },
      format: "jwk"
    })
    const kid = KeyId.fromSpki(key.export({ type: "spki", format: "der" }))
    assert.strictEqual(kid, joyentJwk.kid)
    assert.isTrue(KeyId.isKeyId(kid))
    assert.strictEqual(kid.length, 59)
  })

  it("guards the format", () => {
    assert.isFalse(KeyId.isKeyId("TDHB:4TXA"))
    assert.isFalse(KeyId.isKeyId(joyentJwk.kid.toLowerCase()))
    assert.isFalse(KeyId.isKeyId(42))
  })
})

describe("Key", () => {
  const generated: ReadonlyArray<readonly [Key.GenerateOptions, Key.Algorithm, number]> = [
    [{ type: "EC" }, "ES256", 256],
    [{ type: "EC", curve: "P-384" }, "ES384", 384],
    [{ type: "EC", curve: "P-521" }, "ES512", 521],
    [{ type: "RSA" }, "RS256", 2048]
  ]
  it.effect.each(generated)(
    "generates %j: a key with its algorithm %s and size %i",
    ([options, algorithm, bits]) =>
      Effect.gen(function*() {
        const key = yield* Key.generate(options)
        assert.strictEqual(key._tag, "PrivateKey")
        assert.strictEqual(key.algorithm, algorithm)
        assert.strictEqual(key.bits, bits)
        assert.isTrue(KeyId.isKeyId(key.keyId))
        assert.strictEqual(key.publicKey.keyId, key.keyId)
        assert.strictEqual(key.publicKey._tag, "PublicKey")
      })
  )

  it.effect("refuses RSA keys under 2048 bits and unknown curves", () =>
    Effect.gen(function*() {
      const small = yield* flipFailure(Key.generate({ type: "RSA", bits: 1024 }))
      assert.strictEqual(small.reason, "KeyTooSmall")
      const curve = yield* flipFailure(Key.fromJwk({ ...joyentJwk, crv: "P-192", kid: undefined }))
      assert.strictEqual(curve.reason, "UnsupportedCurve")
      const okp = yield* flipFailure(Key.fromJwk({ kty: "OKP", crv: "Ed25519", x: "AAAA" }))
      assert.strictEqual(okp.reason, "UnsupportedKeyType")
      const ed = crypto.generateKeyPairSync("ed25519").privateKey
      const edError = yield* flipFailure(Key.fromKeyObject(ed))
      assert.strictEqual(edError.reason, "UnsupportedKeyType")
      const rsa1024 = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey
      const rsaError = yield* flipFailure(Key.fromKeyObject(rsa1024))
      assert.strictEqual(rsaError.reason, "KeyTooSmall")
    }))

  it.effect("imports libtrust's JWK form and computes its key id", () =>
    Effect.gen(function*() {
      const key = yield* Key.fromJwk(joyentJwk)
      assert.strictEqual(key._tag, "PublicKey")
      assert.strictEqual(key.keyId, joyentJwk.kid)
      assert.strictEqual(key.curve, "P-256")
      const fromText = yield* Key.fromJwk(JSON.stringify(joyentJwk))
      assert.isTrue(Equal.equals(key, fromText))
      assert.deepStrictEqual(yield* Key.toJwk(key), joyentJwk)
      assert.strictEqual(yield* Key.toJwkJson(key), JSON.stringify(joyentJwk))
    }))

  it.effect("refuses a JWK whose kid is not its key id, and malformed JWKs", () =>
    Effect.gen(function*() {
      const mismatch = yield* flipFailure(
        Key.fromJwk({ ...joyentJwk, kid: "OZ45:U3IG:TDOI:PMBD:NGP2:LDIW:II2U:PSBI:MMCZ:YZUP:TUUO:XPZT" })
      )
      assert.strictEqual(mismatch.reason, "KeyIdMismatch")
      const noY = yield* flipFailure(Key.fromJwk({ kty: "EC", crv: "P-256", x: joyentJwk.x }))
      assert.strictEqual(noY.reason, "InvalidJwk")
      const notJson = yield* flipFailure(Key.fromJwk("{nope"))
      assert.strictEqual(notJson.reason, "InvalidJwk")
      const offCurve = yield* flipFailure(Key.fromJwk({ kty: "EC", crv: "P-256", x: joyentJwk.x, y: joyentJwk.x }))
      assert.strictEqual(offCurve.reason, "InvalidKey")
      assert.isTrue(SigningError.isSigningError(offCurve))
    }))

  it.effect.each([{ type: "EC", curve: "P-384" }, { type: "RSA" }] as const)(
    "JWK round trips, public and private: %j",
    (options) =>
      Effect.gen(function*() {
        const key = yield* Key.generate(options)
        const jwk = yield* Key.toJwk(key)
        assert.strictEqual(jwk.kid, key.keyId)
        assert.isDefined(jwk.d)
        // alphabetical members, as Go writes libtrust's maps
        assert.deepStrictEqual(Object.keys(jwk), [...Object.keys(jwk)].sort())
        const back = yield* Key.privateKeyFromJwk(jwk)
        assert.strictEqual(back.keyId, key.keyId)
        const { signature } = yield* Key.sign(back, bytes("x"))
        yield* Key.verify(key.publicKey, key.algorithm, bytes("x"), signature)

        const publicJwk = yield* Key.toJwk(key.publicKey)
        assert.isUndefined(publicJwk.d)
        const notPrivate = yield* flipFailure(Key.privateKeyFromJwk(publicJwk))
        assert.strictEqual(notPrivate.reason, "NotPrivate")
        const pub = yield* Key.publicKeyFromJwk(jwk)
        assert.strictEqual(pub._tag, "PublicKey")
        assert.strictEqual(pub.keyId, key.keyId)
      })
  )

  it.effect("PEM round trips (libtrust blocks, PKCS #8, keyID header, public)", () =>
    Effect.gen(function*() {
      const ec = yield* Key.generate({ type: "EC", curve: "P-521" })
      const rsa = yield* Key.generate({ type: "RSA" })
      const ecPem = yield* Key.toPem(ec)
      assert.isTrue(ecPem.startsWith("-----BEGIN EC PRIVATE KEY-----\n"))
      const rsaPem = yield* Key.toPem(rsa)
      assert.isTrue(rsaPem.startsWith("-----BEGIN RSA PRIVATE KEY-----\n"))
      const pkcs8 = yield* Key.toPem(ec, { pkcs8: true })
      assert.isTrue(pkcs8.startsWith("-----BEGIN PRIVATE KEY-----\n"))
      const withHeader = yield* Key.toPem(ec, { keyIdHeader: true })
      assert.include(withHeader, `\nkeyID: ${ec.keyId}\n\n`)
      const pubPem = yield* Key.toPem(ec.publicKey)
      assert.isTrue(pubPem.startsWith("-----BEGIN PUBLIC KEY-----\n"))

      for (const [pem, expected] of [[ecPem, ec], [rsaPem, rsa], [pkcs8, ec], [withHeader, ec]] as const) {
        const back = yield* Key.privateKeyFromPem(pem)
        assert.strictEqual(back.keyId, expected.keyId)
        assert.strictEqual(back.type, expected.type)
      }
      // node reads our PEM too
      assert.strictEqual(crypto.createPrivateKey(ecPem).asymmetricKeyType, "ec")
      const pub = yield* Key.publicKeyFromPem(pubPem)
      assert.isTrue(Equal.equals(pub, ec.publicKey))
      const fromPrivate = yield* Key.publicKeyFromPem(ecPem)
      assert.isTrue(Equal.equals(fromPrivate, ec.publicKey))
      const notPrivate = yield* flipFailure(Key.privateKeyFromPem(pubPem))
      assert.strictEqual(notPrivate.reason, "NotPrivate")
      // PEM written by openssl/node in PKCS #8 and SPKI
      const nodePem = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
        type: "pkcs8",
        format: "pem"
      })
      const nodeKey = yield* Key.fromPem(String(nodePem))
      assert.strictEqual(nodeKey._tag, "PrivateKey")
    }))

  it.effect("refuses broken PEM", () =>
    Effect.gen(function*() {
      const none = yield* flipFailure(Key.fromPem("hello"))
      assert.strictEqual(none.reason, "InvalidPem")
      const unterminated = yield* flipFailure(Key.fromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n"))
      assert.strictEqual(unterminated.reason, "InvalidPem")
      const badBase64 = yield* flipFailure(Key.fromPem("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"))
      assert.strictEqual(badBase64.reason, "InvalidPem")
      const garbage = yield* flipFailure(Key.fromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
      assert.strictEqual(garbage.reason, "InvalidKey")
      const cert = yield* flipFailure(Key.fromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
      assert.strictEqual(cert.reason, "InvalidPem")
    }))

  it.effect("signs raw JWS signatures and refuses none, unknown and mismatched algorithms", () =>
    Effect.gen(function*() {
      const data = bytes("payload")
      const p256 = yield* Key.generate()
      const { algorithm, signature } = yield* Key.sign(p256, data)
      assert.strictEqual(algorithm, "ES256")
      assert.strictEqual(signature.length, 64)
      yield* Key.verify(p256.publicKey, "ES256", data, signature)

      const bad = yield* flipFailure(Key.verify(p256.publicKey, "ES256", bytes("payloaD"), signature))
      assert.strictEqual(bad.reason, "BadSignature")
      assert.strictEqual(bad.keyId, p256.keyId)
      const none = yield* flipFailure(Key.verify(p256.publicKey, "none", data, signature))
      assert.strictEqual(none.reason, "AlgorithmNone")
      const hs = yield* flipFailure(Key.verify(p256.publicKey, "HS256", data, signature))
      assert.strictEqual(hs.reason, "UnsupportedAlgorithm")
      const es384 = yield* flipFailure(Key.verify(p256.publicKey, "ES384", data, signature))
      assert.strictEqual(es384.reason, "AlgorithmMismatch")
      const rs = yield* flipFailure(Key.verify(p256.publicKey, "RS256", data, signature))
      assert.strictEqual(rs.reason, "AlgorithmMismatch")
      const short = yield* flipFailure(Key.verify(p256.publicKey, "ES256", data, signature.subarray(0, 63)))
      assert.strictEqual(short.reason, "BadSignature")

      const rsa = yield* Key.generate({ type: "RSA" })
      const rsaSig = yield* Key.sign(rsa, data)
      assert.strictEqual(rsaSig.algorithm, "RS256")
      assert.strictEqual(rsaSig.signature.length, 256)
      yield* Key.verify(rsa.publicKey, "RS256", data, rsaSig.signature)
      const rsaEs = yield* flipFailure(Key.verify(rsa.publicKey, "ES256", data, rsaSig.signature))
      assert.strictEqual(rsaEs.reason, "AlgorithmMismatch")
      // RSA keys verify RS384/RS512 as libtrust does
      const rs512 = crypto.sign("sha512", data, rsa.keyObject)
      yield* Key.verify(rsa.publicKey, "RS512", data, rs512)
    }))

  it.effect("never shows private key material", () =>
    Effect.gen(function*() {
      const key = yield* Key.generate()
      const jwk = yield* Key.toJwk(key)
      const shown = [String(key), JSON.stringify(key), JSON.stringify(key.toJSON())].join("\n")
      assert.isDefined(jwk.d)
      assert.notInclude(shown, String(jwk.d))
      assert.include(shown, key.keyId)
    }))
})
