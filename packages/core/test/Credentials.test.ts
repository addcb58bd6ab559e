import { Credentials } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

const SECRET = "pa55-W0rd-secret"

describe("Credentials", () => {
  it("constructors wrap secrets in Redacted", () => {
    const basic = Credentials.basic("alice", SECRET)
    assert.strictEqual(basic._tag, "Basic")
    assert.isTrue(basic._tag === "Basic" && Redacted.isRedacted(basic.password))
    assert.strictEqual(basic._tag === "Basic" && Redacted.value(basic.password), SECRET)

    const already = Redacted.make(SECRET)
    const reused = Credentials.basic("alice", already)
    assert.strictEqual(reused._tag === "Basic" && reused.password, already)

    const identity = Credentials.identityToken(SECRET, "bob")
    assert.deepStrictEqual(identity._tag === "IdentityToken" && identity.username, "bob")
    assert.isFalse("username" in Credentials.identityToken(SECRET))
    const bearer = Credentials.bearer(SECRET)
    assert.strictEqual(bearer._tag === "Bearer" && Redacted.value(bearer.token), SECRET)
    assert.isTrue(Credentials.isAnonymous(Credentials.anonymous))
    assert.isFalse(Credentials.isAnonymous(bearer))
  })

  it("secrets print as <redacted>", () => {
    for (
      const credentials of [
        Credentials.basic("alice", SECRET),
        Credentials.identityToken(SECRET, "alice"),
        Credentials.bearer(SECRET)
      ]
    ) {
      const json = JSON.stringify(credentials)
      assert.notInclude(json, SECRET)
      assert.include(json, "<redacted>")
      const secret = credentials._tag === "Basic" ? credentials.password : credentials._tag === "Anonymous"
        ? Redacted.make("")
        : credentials.token
      assert.strictEqual(String(secret), "<redacted>")
      assert.notInclude(`${secret}`, SECRET)
    }
  })

  it.effect("layerStatic answers the same credentials for every host", () =>
    Effect.gen(function*() {
      const provider = yield* Credentials.CredentialsProvider
      assert.strictEqual((yield* provider.get("a.test"))._tag, "Basic")
      assert.strictEqual((yield* provider.get("b.test:5000"))._tag, "Basic")
    }).pipe(Effect.provide(Credentials.layerStatic(Credentials.basic("alice", SECRET)))))

  it.effect("layerHosts looks hosts up case-insensitively, others are anonymous", () =>
    Effect.gen(function*() {
      const provider = yield* Credentials.CredentialsProvider
      assert.strictEqual((yield* provider.get("Registry.Test:5000"))._tag, "Basic")
      assert.strictEqual((yield* provider.get("registry.test"))._tag, "Anonymous")
      assert.strictEqual((yield* provider.get("__proto__"))._tag, "Anonymous")
    }).pipe(
      Effect.provide(Credentials.layerHosts({ "registry.test:5000": Credentials.basic("alice", SECRET) }))
    ))
})
