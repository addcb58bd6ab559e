// Bad input, parsers: references, digests, WWW-Authenticate, Link, Range / Content-Range / Retry-After.
// Every input gives a typed result: a success, or a failure that is a RegistryError; never a throw or a defect.
import { Challenge, Digest, Reference, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as LinkHeader from "../src/internal/http/linkHeader.js"
import * as Range from "../src/internal/http/range.js"

const Runs = { timeout: 180_000, fastCheck: { numRuns: 10_000 } }

// A failure must be a RegistryError, never a defect or an interruption.
const assertTyped = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return
  assert.strictEqual(exit.cause._tag, "Fail", `not a typed failure: ${String(exit.cause)}`)
  if (exit.cause._tag === "Fail") assert.isTrue(RegistryError.isRegistryError(exit.cause.error))
}

const fromChars = (chars: string, maxLength = 80) =>
  fc.array(fc.constantFrom(...chars.split("")), { maxLength }).map((a) => a.join(""))

const text = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.fullUnicodeString({ maxLength: 100 }),
  fc.string({ unit: "binary", maxLength: 100 })
)

const referenceLike = fc.oneof(
  text,
  fromChars("abcz019._-/:@ABZ", 120),
  fc.tuple(
    fc.constantFrom("", "localhost:5000/", "registry.example.com/", "[::1]:5000/", "127.0.0.1:99999/", "UPPER/"),
    fromChars("abc019._-/", 60),
    fc.constantFrom("", ":", ":latest", ":v1.0", ":" + "t".repeat(129), "@sha256:", "@sha256:" + "a".repeat(64)),
    fc.constantFrom("", "@sha256:" + "0".repeat(64), "@md5:abc")
  ).map(([a, b, c, d]) => a + b + c + d)
)

const hex = fromChars("0123456789abcdefABCDEFxyz", 140)
const digestLike = fc.oneof(
  text,
  fc.tuple(fc.constantFrom("sha256", "sha512", "md5", "", "SHA256", "sha256+b64", "a.b"), hex).map(([a, h]) =>
    `${a}:${h}`
  ),
  fc.constantFrom("sha256:", ":", "sha256:" + "a".repeat(64), "sha512:" + "f".repeat(128))
)

describe("references", () => {
  it.prop("Reference.parse: success or ReferenceInvalid", [referenceLike], ([s]) => {
    const exit = Effect.runSyncExit(Reference.parse(s))
    assertTyped(exit)
    if (Exit.isSuccess(exit)) {
      assert.isTrue(exit.value.repository.length > 0 && exit.value.repository.length <= Reference.MaxNameLength)
    }
  }, Runs)

  it.prop("Reference.repository and tagOrDigest: typed", [referenceLike], ([s]) => {
    assertTyped(Effect.runSyncExit(Reference.repository(s)))
    assertTyped(Effect.runSyncExit(Reference.tagOrDigest(s)))
  }, Runs)
})

describe("digests", () => {
  it.prop("Digest.parse: success (a valid digest) or DigestInvalid", [digestLike], ([s]) => {
    const exit = Effect.runSyncExit(Digest.parse(s))
    assertTyped(exit)
    assert.strictEqual(Exit.isSuccess(exit), Digest.isDigest(s))
    if (Exit.isSuccess(exit)) {
      assert.match(exit.value, /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/)
    }
  }, Runs)
})

const headerText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.fullUnicodeString({ maxLength: 100 }),
  fromChars("Bearer Basic realm=\"\\,; service scope error=tk68=/:", 200)
)

const challengeLike = fc.oneof(
  headerText,
  fc.array(
    fc.tuple(
      fc.constantFrom("Bearer", "Basic", "bearer", "Digest", "", "Negotiate"),
      fc.array(
        fc.tuple(
          fc.constantFrom("realm", "service", "scope", "error", "REALM", "", "x"),
          fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("\"", "\"\\\"\"", "\"a,b\"", "\"https://a/t\""))
        ),
        { maxLength: 5 }
      )
    ),
    { maxLength: 4 }
  ).map((cs) => cs.map(([s, ps]) => `${s} ${ps.map(([k, v]) => `${k}=${v}`).join(",")}`).join(", "))
)

describe("WWW-Authenticate", () => {
  it.prop("Challenge.parse never throws; schemes are lower-case, parameters strings", [challengeLike], ([h]) => {
    const parsed = Challenge.parse(h)
    assert.isTrue(Array.isArray(parsed))
    for (const c of parsed) {
      assert.strictEqual(c.scheme, c.scheme.toLowerCase())
      assert.isTrue(c.scheme.length > 0)
      for (const v of Object.values(c.params)) assert.strictEqual(typeof v, "string")
      // the helpers are total on what parse gives
      void Challenge.realm(c)
      void Challenge.scopes(c)
    }
    void Challenge.select(parsed)
    void Challenge.format(parsed)
  }, Runs)
})

const linkLike = fc.oneof(
  headerText,
  fc.array(
    fc.tuple(
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom("/v2/_catalog?last=a&n=2", "http://x/y", "javascript:alert(1)", "//evil.test/x", "", " ")
      ),
      fc.constantFrom("rel=\"next\"", "rel=next", "rel=\"prev next\"", "rel=\"", "", "rel=\"n\\\"ext\"", "x=\"a,b\"")
    ),
    { maxLength: 4 }
  ).map((ls) => ls.map(([t, p]) => `<${t}>; ${p}`).join(", "))
)

describe("Link", () => {
  it.prop("nextLink never throws; a next link is an absolute http(s) URL", [linkLike], ([h]) => {
    const links = LinkHeader.parseLinks(h)
    assert.isTrue(Array.isArray(links))
    const next = LinkHeader.nextLink(h, "https://registry.test/v2/_catalog?n=2")
    if (Option.isSome(next)) {
      const url = new URL(next.value)
      assert.include(["http:", "https:"], url.protocol)
    }
  }, Runs)
})

const rangeLike = fc.oneof(
  headerText,
  fc.tuple(
    fc.constantFrom("", "bytes=", "bytes ", "BYTES ", " "),
    fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53, 1e300, -1)),
    fc.constantFrom("-", "--", "", " - "),
    fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53, -5)),
    fc.constantFrom("", "/*", "/0", "/100", "/", "/abc", "/9007199254740993")
  ).map(([p, a, d, b, t]) => `${p}${a}${d}${b}${t}`)
)

describe("Range, Content-Range, Retry-After, lengths", () => {
  it.prop("uploadedBytes: None or a safe non-negative integer", [rangeLike, fc.nat()], ([h, confirmed]) => {
    const n = Range.uploadedBytes(h, confirmed)
    if (Option.isSome(n)) assert.isTrue(Number.isSafeInteger(n.value) && n.value >= 0)
  }, Runs)

  it.prop("parseContentRange: None or start <= end < total", [rangeLike], ([h]) => {
    const r = Range.parseContentRange(h)
    if (Option.isSome(r)) {
      assert.isTrue(Number.isSafeInteger(r.value.start) && r.value.start >= 0 && r.value.start <= r.value.end)
      if (r.value.total !== undefined) assert.isBelow(r.value.end, r.value.total)
    }
  }, Runs)

  it.prop(
    "parseRetryAfter: None or a finite non-negative Duration",
    [
      fc.oneof(headerText, fc.nat().map(String), fc.date().map((d) => isNaN(d.getTime()) ? "x" : d.toUTCString())),
      fc.nat()
    ],
    ([h, now]) => {
      const d = Range.parseRetryAfter(h, now)
      if (Option.isSome(d)) assert.isTrue(Duration.isFinite(d.value) && Duration.toMillis(d.value) >= 0)
    },
    Runs
  )

  it.prop("parseLength: None or a safe non-negative integer", [rangeLike], ([h]) => {
    const n = Range.parseLength(h)
    if (Option.isSome(n)) assert.isTrue(Number.isSafeInteger(n.value) && n.value >= 0)
  }, Runs)
})
