import { JsonSignature, Key } from "@effect-registry/signing"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import {
  bytes,
  certTime,
  fixture,
  intermediateCert,
  leafCert,
  leafKey,
  otherRootCert,
  rootCert,
  text
} from "./fixtures.js"

const payloadText = `{
   "schemaVersion": 1,
   "name": "example/repo",
   "tag": "latest"
}`

const decodeProtected = (s: string): unknown => JSON.parse(Buffer.from(s, "base64url").toString("utf8"))

const resign = (
  js: JsonSignature.JsonSignature,
  f: (s: JsonSignature.Signature, i: number) => JsonSignature.Signature
) => ({
  ...js,
  signatures: js.signatures.map(f)
})

describe("JsonSignature", () => {
  it.effect("finds formatLength and formatTail of a payload", () =>
    Effect.gen(function*() {
      const js = yield* JsonSignature.fromPayload(bytes(payloadText))
      assert.strictEqual(js.formatLength, payloadText.length - 2)
      assert.strictEqual(text(js.formatTail), "\n}")
      assert.strictEqual(js.signatures.length, 0)
      const trailing = yield* JsonSignature.fromPayload(bytes(`{"a":1}  \n`))
      assert.strictEqual(trailing.formatLength, 6)
      assert.strictEqual(text(trailing.formatTail), "}  \n")
    }))

  it.effect.each(["{}", "[1]", "\"x\"", "{nope", `{"signatures":[],"a":1}`])(
    "refuses a payload that cannot be pretty-signed: %s",
    (p) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(JsonSignature.fromPayload(bytes(p)))
        assert.strictEqual(e._tag, "SignError")
        assert.strictEqual(e.reason, "InvalidPayload", p)
      })
  )

  it.effect("refuses to write a document without signatures", () =>
    Effect.gen(function*() {
      const noSigs = yield* Effect.flip(JsonSignature.toPretty(yield* JsonSignature.fromPayload(bytes(payloadText))))
      assert.strictEqual(noSigs.reason, "NoSignatures")
    }))

  it.effect("writes libtrust's layout and re-writes the joyent fixture byte for byte", () =>
    Effect.gen(function*() {
      const original = fixture("v1-signed-joyent.manifest.json")
      const parsed = yield* JsonSignature.parse(original)
      assert.strictEqual(parsed.formatLength, 3306)
      assert.strictEqual(text(parsed.formatTail), "\n}")
      const rewritten = yield* JsonSignature.toPretty(parsed)
      assert.strictEqual(text(rewritten), text(original))

      const v2s1 = fixture("v2s1.manifest.json")
      assert.strictEqual(text(yield* JsonSignature.toPretty(yield* JsonSignature.parse(v2s1))), text(v2s1))
    }))

  it.effect("signs with the Clock's time and the exact pretty layout", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-02-29T12:34:56.789Z"))
      const key = yield* Key.generate()
      const js = yield* JsonSignature.sign(yield* JsonSignature.fromPayload(bytes(payloadText)), key)
      const s = js.signatures[0]
      assert.deepStrictEqual(decodeProtected(s.protected), {
        formatLength: payloadText.length - 2,
        formatTail: "Cn0",
        time: "2024-02-29T12:34:56Z"
      })
      assert.strictEqual(
        Buffer.from(s.protected, "base64url").toString("utf8"),
        `{"formatLength":${payloadText.length - 2},"formatTail":"Cn0","time":"2024-02-29T12:34:56Z"}`
      )
      const jwk = yield* Key.toJwk(key.publicKey)
      if (jwk.kty !== "EC") return assert.fail("expected an EC JWK")
      const out = text(yield* JsonSignature.toPretty(js))
      const expected = payloadText.slice(0, -2) + `,
   "signatures": [
      {
         "header": {
            "jwk": {
               "crv": "P-256",
               "kid": "${key.keyId}",
               "kty": "EC",
               "x": "${jwk.x}",
               "y": "${jwk.y}"
            },
            "alg": "ES256"
         },
         "signature": "${s.signature}",
         "protected": "${s.protected}"
      }
   ]
}`
      assert.strictEqual(out, expected)
      const verified = yield* JsonSignature.verify(yield* JsonSignature.parse(bytes(out)))
      assert.strictEqual(verified.length, 1)
      assert.strictEqual(verified[0].keyId, key.keyId)
      assert.strictEqual(verified[0].time, "2024-02-29T12:34:56Z")
      assert.isFalse(verified[0].chain)
    }))

  it.effect("two signers; signing keeps existing signatures", () =>
    Effect.gen(function*() {
      const a = yield* Key.generate()
      const b = yield* Key.generate({ type: "RSA" })
      const once = yield* JsonSignature.toPretty(
        yield* JsonSignature.sign(yield* JsonSignature.fromPayload(bytes(payloadText)), a)
      )
      const twice = yield* JsonSignature.parse(once).pipe(
        Effect.mapError((e) => assert.fail(e.message)),
        Effect.flatMap(JsonSignature.sign(b)),
        Effect.flatMap((js) => JsonSignature.toPretty(js))
      )
      const parsed = yield* JsonSignature.parse(twice)
      assert.strictEqual(text(parsed.payload), payloadText)
      const verified = yield* JsonSignature.verify(parsed)
      assert.deepStrictEqual(verified.map((v) => v.keyId), [a.keyId, b.keyId])
      assert.deepStrictEqual(verified.map((v) => v.algorithm), ["ES256", "RS256"])
    }))

  it.effect("a tampered payload, a swapped signature and a wrong formatLength each fail", () =>
    Effect.gen(function*() {
      const a = yield* Key.generate()
      const b = yield* Key.generate()
      const signed = yield* JsonSignature.toPretty(
        yield* JsonSignature.fromPayload(bytes(payloadText)).pipe(
          Effect.flatMap(JsonSignature.sign(a)),
          Effect.flatMap(JsonSignature.sign(b))
        )
      )
      const tampered = bytes(text(signed).replace("example/repo", "example/rep0"))
      const t = yield* Effect.flip(Effect.flatMap(JsonSignature.parse(tampered), (js) => JsonSignature.verify(js)))
      assert.strictEqual(t.reason, "BadSignature")
      assert.strictEqual(t.index, 0)

      const js = yield* JsonSignature.parse(signed)
      const swapped = resign(js, (s, i) => ({ ...s, signature: js.signatures[1 - i].signature }))
      const sw = yield* Effect.flip(JsonSignature.verify(swapped))
      assert.strictEqual(sw.reason, "BadSignature")

      // a protected header claiming another formatLength: the signature no longer covers it
      const header = decodeProtected(js.signatures[0].protected) as { formatLength: number }
      const wrong = Buffer.from(JSON.stringify({ ...header, formatLength: header.formatLength - 1 })).toString(
        "base64url"
      )
      const wrongDoc = yield* JsonSignature.toPretty(resign(js, (s, i) => (i === 0 ? { ...s, protected: wrong } : s)))
      const w = yield* Effect.flip(Effect.flatMap(JsonSignature.parse(wrongDoc), (x) => JsonSignature.verify(x)))
      assert.strictEqual(w.reason, "FormatMismatch")
      // ... and alone (one signature), it fails the signature check
      const lone = { ...js, signatures: [{ ...js.signatures[0], protected: wrong }] }
      const loneDoc = yield* JsonSignature.toPretty(lone)
      const l = yield* Effect.flip(Effect.flatMap(JsonSignature.parse(loneDoc), (x) => JsonSignature.verify(x)))
      assert.strictEqual(l.reason, "BadSignature")
      // beyond the document
      const far = Buffer.from(JSON.stringify({ ...header, formatLength: 1_000_000 })).toString("base64url")
      const farDoc = yield* JsonSignature.toPretty({ ...js, signatures: [{ ...js.signatures[0], protected: far }] })
      const f = yield* Effect.flip(JsonSignature.parse(farDoc))
      assert.strictEqual(f.reason, "InvalidProtectedHeader")
    }))

  it.effect("refuses alg none, unknown algorithms, missing keys and malformed blocks", () =>
    Effect.gen(function*() {
      const key = yield* Key.generate()
      const js = yield* JsonSignature.sign(yield* JsonSignature.fromPayload(bytes(payloadText)), key)
      const withHeader = (header: JsonSignature.Header) => resign(js, (s) => ({ ...s, header }))
      const jwk = js.signatures[0].header.jwk
      const none = yield* Effect.flip(JsonSignature.verify(withHeader({ jwk, alg: "none" })))
      assert.strictEqual(none.reason, "AlgorithmNone")
      const hs = yield* Effect.flip(JsonSignature.verify(withHeader({ jwk, alg: "HS256" })))
      assert.strictEqual(hs.reason, "UnsupportedAlgorithm")
      const missing = yield* Effect.flip(JsonSignature.verify(withHeader({ alg: "ES256" })))
      assert.strictEqual(missing.reason, "MissingKey")
      const badKid = yield* Effect.flip(
        JsonSignature.verify(
          withHeader({
            jwk: { ...jwk, kid: "AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA" },
            alg: "ES256"
          })
        )
      )
      assert.strictEqual(badKid.reason, "KeyIdMismatch")

      const malformed = [
        `{"a":1,"signatures":1}`,
        `{"a":1,"signatures":[]}`,
        `{"a":1,"signatures":[{"header":{},"signature":"x","protected":"x"}]}`,
        `{"a":1,"signatures":[{"header":{"alg":"ES256"},"signature":"x","protected":"%%%"}]}`,
        `[1]`
      ]
      for (const doc of malformed) {
        const e = yield* Effect.flip(JsonSignature.parse(bytes(doc)))
        assert.include(["Malformed", "InvalidProtectedHeader"], e.reason, doc)
      }
      const unsigned = yield* JsonSignature.parse(bytes(payloadText))
      assert.strictEqual(unsigned.signatures.length, 0)
      const u = yield* Effect.flip(JsonSignature.verify(unsigned))
      assert.strictEqual(u.reason, "Unsigned")
    }))

  it.effect("x5c chains are checked against the caller's roots at the Clock's time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(certTime)
      const key = yield* Key.privateKeyFromPem(leafKey)
      const js = yield* JsonSignature.fromPayload(bytes(payloadText)).pipe(
        Effect.flatMap(JsonSignature.sign(key, { x5c: [leafCert, intermediateCert] }))
      )
      assert.strictEqual(js.signatures[0].header.x5c?.length, 2)
      const doc = yield* JsonSignature.toPretty(js)
      const parsed = yield* JsonSignature.parse(doc)

      const ok = yield* JsonSignature.verify(parsed, { roots: [rootCert] })
      assert.strictEqual(ok[0].keyId, key.keyId)
      assert.isTrue(ok[0].chain)

      const noRoots = yield* Effect.flip(JsonSignature.verify(parsed))
      assert.strictEqual(noRoots.reason, "ChainUntrusted")
      const otherRoot = yield* Effect.flip(JsonSignature.verify(parsed, { roots: [otherRootCert] }))
      assert.strictEqual(otherRoot.reason, "ChainUntrusted")

      // leaf without its intermediate: not anchored at the root
      const short = resign(parsed, (s) => ({ ...s, header: { ...s.header, x5c: [s.header.x5c?.[0] ?? ""] } }))
      const shortError = yield* Effect.flip(JsonSignature.verify(short, { roots: [rootCert] }))
      assert.strictEqual(shortError.reason, "ChainUntrusted")
      // links out of order
      const reversed = resign(
        parsed,
        (s) => ({ ...s, header: { ...s.header, x5c: [...(s.header.x5c ?? [])].reverse() } })
      )
      const reversedError = yield* Effect.flip(JsonSignature.verify(reversed, { roots: [rootCert] }))
      assert.include(["ChainInvalid", "KeyIdMismatch"], reversedError.reason)
      // a chain whose leaf is not the jwk's key
      const other = yield* Key.generate()
      const otherJwk = yield* Key.toJwk(other.publicKey)
      const wrongJwk = resign(parsed, (s) => ({ ...s, header: { ...s.header, jwk: otherJwk } }))
      const wrongJwkError = yield* Effect.flip(JsonSignature.verify(wrongJwk, { roots: [rootCert] }))
      assert.strictEqual(wrongJwkError.reason, "KeyIdMismatch")

      // before the certificates' validity
      yield* TestClock.setTime(Date.parse("2000-01-01T00:00:00Z"))
      const early = yield* Effect.flip(JsonSignature.verify(parsed, { roots: [rootCert] }))
      assert.strictEqual(early.reason, "ChainInvalid")

      // signing with a chain whose leaf is another key is refused
      const refused = yield* Effect.flip(
        JsonSignature.fromPayload(bytes(payloadText)).pipe(
          Effect.flatMap(JsonSignature.sign(other, { x5c: [leafCert] }))
        )
      )
      assert.strictEqual(refused.reason, "InvalidCertificate")
    }))
})
