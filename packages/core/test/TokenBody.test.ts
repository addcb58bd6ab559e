// The token server's answer schema (src/internal/token.ts): lenient on expires_in, strict on field types,
// and first-error messages that name the field, never its value.
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Token from "../src/internal/token.js"

const SECRET = "tok-S3cret-value"
const decode = Schema.decodeUnknownEither(Token.TokenBody, { errors: "first" })
const message = (u: unknown): string => {
  const result = decode(u)
  if (Either.isRight(result)) return assert.fail("expected a decode failure")
  return Token.describeIssue(result.left.issue)
}

describe("TokenBody", () => {
  it("decodes the spec's fields; null counts as absent", () => {
    const body = decode({
      token: SECRET,
      expires_in: 300,
      issued_at: "2026-01-01T00:00:00Z",
      refresh_token: null,
      extra: [1, 2]
    })
    assert.isTrue(Either.isRight(body))
    if (Either.isRight(body)) {
      assert.strictEqual(body.right.token, SECRET)
      assert.strictEqual(body.right.expires_in, 300)
      assert.strictEqual(body.right.issued_at, "2026-01-01T00:00:00Z")
      assert.isUndefined(body.right.refresh_token)
    }
  })

  it("expires_in is clamped to 1 s .. 1 day; anything else is the default 60 s", () => {
    const lifetimeOf = (expiresIn: unknown) => {
      const body = decode({ token: SECRET, expires_in: expiresIn })
      return Either.isRight(body) ? body.right.expires_in : undefined
    }
    assert.strictEqual(lifetimeOf(0.001), Token.MinExpiresIn)
    assert.strictEqual(lifetimeOf(1e308), Token.MaxExpiresIn)
    assert.strictEqual(lifetimeOf("120"), 120)
    for (const odd of [0, -5, "NaN", null, true, { n: 1 }, "1e999"]) {
      assert.strictEqual(lifetimeOf(odd), Token.DefaultExpiresIn, JSON.stringify(odd))
    }
  })

  it("a field of the wrong type: its name and the type wanted, never the value", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ token: 12345 }, "\"token\" is not a string"],
      [{ token: SECRET, refresh_token: { value: SECRET } }, "\"refresh_token\" is not a string"],
      [{ access_token: [SECRET] }, "\"access_token\" is not a string"],
      [{ token: SECRET, issued_at: 17 }, "\"issued_at\" is not a string"],
      [[SECRET], "the answer is not a JSON object"],
      [SECRET, "the answer is not a JSON object"],
      [null, "the answer is not a JSON object"]
    ]
    for (const [input, expected] of cases) {
      const text = message(input)
      assert.include(text, expected)
      assert.notInclude(text, SECRET)
      assert.notInclude(text, "12345")
      assert.isBelow(text.length, 200)
    }
  })
})
