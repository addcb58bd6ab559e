import { Challenge } from "@effect-registry/core"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"

const plain = (challenges: ReadonlyArray<Challenge.Challenge>) =>
  challenges.map((c) => ({ scheme: c.scheme, params: { ...c.params }, ...(c.token68 ? { token68: c.token68 } : {}) }))

const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<unknown>]> = [
  ["empty", "", []],
  ["blank and commas", " , ,\t", []],
  ["basic", `Basic realm="Registry Realm"`, [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
  [
    "distribution bearer",
    `Bearer realm="http://127.0.0.1:5001/token",service="registry.test",scope="repository:a/b:pull"`,
    [{
      scheme: "bearer",
      params: { realm: "http://127.0.0.1:5001/token", service: "registry.test", scope: "repository:a/b:pull" }
    }]
  ],
  [
    "commas and spaces inside quotes",
    `Bearer realm="https://a/t",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"`,
    [{
      scheme: "bearer",
      params: { realm: "https://a/t", scope: "repository:a:pull,push repository:b:pull", error: "insufficient_scope" }
    }]
  ],
  [
    "any case scheme and parameter names",
    `bEaReR ReAlM="x", SERVICE=svc`,
    [{ scheme: "bearer", params: { realm: "x", service: "svc" } }]
  ],
  [
    "unquoted values, a URL among them",
    `Bearer realm=https://auth.example/token,service=registry.example`,
    [{ scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example" } }]
  ],
  [
    "escapes in quoted strings",
    `Basic realm="a\\"b\\\\c\\d"`,
    [{ scheme: "basic", params: { realm: `a"b\\cd` } }]
  ],
  [
    "several challenges (RFC 9110 example)",
    `Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"`,
    [
      { scheme: "newauth", params: { realm: "apps", type: "1", title: `Login to "apps"` } },
      { scheme: "basic", params: { realm: "simple" } }
    ]
  ],
  [
    "bearer then basic",
    `Bearer realm="https://a/t", Basic realm="r"`,
    [{ scheme: "bearer", params: { realm: "https://a/t" } }, { scheme: "basic", params: { realm: "r" } }]
  ],
  ["scheme alone", "Basic", [{ scheme: "basic", params: {} }]],
  [
    "schemes alone, comma separated",
    "Basic, Bearer realm=\"x\"",
    [{ scheme: "basic", params: {} }, { scheme: "bearer", params: { realm: "x" } }]
  ],
  ["token68", "Negotiate YII+/a==", [{ scheme: "negotiate", params: {}, token68: "YII+/a==" }]],
  [
    "token68 then another challenge",
    "Negotiate abc=, Basic realm=\"r\"",
    [{ scheme: "negotiate", params: {}, token68: "abc=" }, { scheme: "basic", params: { realm: "r" } }]
  ],
  ["spaces around =", `Basic realm = "x"`, [{ scheme: "basic", params: { realm: "x" } }]],
  ["first duplicate wins", `Basic realm="a", realm="b"`, [{ scheme: "basic", params: { realm: "a" } }]],
  ["unterminated quote drops the parameter", `Bearer service="s", realm="abc`, [{
    scheme: "bearer",
    params: { service: "s" }
  }]],
  ["parameters without a scheme are dropped", `realm="x", Basic`, [{ scheme: "basic", params: {} }]],
  ["garbage", `=,"",=="x`, []],
  ["__proto__ stays a plain parameter", `Basic __proto__="x"`, [{ scheme: "basic", params: { ["__proto__"]: "x" } }]]
]

describe("Challenge.parse", () => {
  for (const [name, header, expected] of cases) {
    it(name, () => {
      assert.deepStrictEqual(plain(Challenge.parse(header)), expected)
    })
  }

  it("keeps the prototype of params intact", () => {
    const [c] = Challenge.parse(`Basic __proto__="x", constructor="y"`)
    assert.strictEqual(Challenge.param(c, "__proto__"), "x")
    assert.strictEqual(Challenge.param(c, "constructor"), "y")
    assert.strictEqual(Challenge.param(c, "toString"), undefined)
    assert.strictEqual(Object.getPrototypeOf(c.params), Object.prototype)
  })

  it.prop("never throws and yields well-formed challenges", [FastCheck.string({ maxLength: 200 })], ([header]) => {
    const challenges = Challenge.parse(header)
    for (const c of challenges) {
      assert.isTrue(c.scheme.length > 0)
      assert.strictEqual(c.scheme, c.scheme.toLowerCase())
      for (const [k, v] of Object.entries(c.params)) {
        assert.strictEqual(k, k.toLowerCase())
        assert.strictEqual(typeof v, "string")
      }
    }
  })

  it.prop(
    "never throws on header-like input",
    [
      FastCheck.array(
        FastCheck.constantFrom("Bearer", "Basic", " ", ",", "=", "\"", "\\", "realm", "scope", "a:b/c", "\t", "x=y"),
        { maxLength: 40 }
      )
    ],
    ([parts]) => {
      const header = parts.join("")
      assert.isTrue(Array.isArray(Challenge.parse(header)))
      assert.strictEqual(typeof Challenge.format(Challenge.parse(header)), "string")
    }
  )

  it.prop(
    "format then parse gives the same challenges",
    [
      FastCheck.constantFrom("basic", "bearer", "newauth"),
      FastCheck.dictionary(
        FastCheck.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
        FastCheck.string({ maxLength: 30 }),
        { maxKeys: 4 }
      )
    ],
    ([scheme, params]) => {
      const c = Challenge.make(scheme, params)
      assert.deepStrictEqual(plain(Challenge.parse(Challenge.format(c))), plain([c]))
    }
  )
})

describe("Challenge getters", () => {
  it("reads realm, service, error and scopes", () => {
    const [c] = Challenge.parse(
      `Bearer realm="https://a/t",service="svc",scope="repository:a:pull,push  repository:b:pull",error="insufficient_scope"`
    )
    assert.isTrue(Challenge.isBearer(c))
    assert.isFalse(Challenge.isBasic(c))
    assert.strictEqual(Challenge.realm(c), "https://a/t")
    assert.strictEqual(Challenge.service(c), "svc")
    assert.strictEqual(Challenge.error(c), "insufficient_scope")
    assert.deepStrictEqual(Challenge.scopes(c), ["repository:a:pull,push", "repository:b:pull"])
    assert.deepStrictEqual(Challenge.scopes(Challenge.make("Bearer")), [])
  })

  it("selects Bearer over Basic and ignores other schemes", () => {
    assert.strictEqual(Challenge.select(Challenge.parse(`Basic realm="r", Bearer realm="b"`))?.scheme, "bearer")
    assert.strictEqual(Challenge.select(Challenge.parse(`Negotiate, Basic realm="r"`))?.scheme, "basic")
    assert.strictEqual(Challenge.select(Challenge.parse(`Negotiate abc`)), undefined)
  })

  it("formats with quoting", () => {
    assert.strictEqual(
      Challenge.format(Challenge.parse(`bearer realm=x,service="a \\"b\\""`)),
      `Bearer realm="x",service="a \\"b\\""`
    )
  })
})

describe("Challenge.unauthorized", () => {
  const respond = (challenge: string | undefined, authorization?: string) => {
    let request = HttpClientRequest.get("https://registry.test/v2/a/manifests/latest?x=1")
    if (authorization !== undefined) request = HttpClientRequest.setHeader(request, "authorization", authorization)
    return HttpClientResponse.fromWeb(
      request,
      new Response(null, { status: 401, headers: challenge === undefined ? {} : { "www-authenticate": challenge } })
    )
  }
  const table: ReadonlyArray<readonly [string | undefined, string | undefined, string]> = [
    [`Bearer realm="https://a/t",error="insufficient_scope"`, "Bearer Zq9s3cr3t", "InsufficientScope"],
    [`Bearer realm="https://a/t",error="invalid_token"`, "Bearer Zq9s3cr3t", "InvalidToken"],
    [`Bearer realm="https://a/t"`, "Bearer Zq9s3cr3t", "InvalidToken"],
    [`Bearer realm="https://a/t"`, undefined, "MissingCredentials"],
    [`Basic realm="r"`, undefined, "MissingCredentials"],
    [`Basic realm="r"`, "Basic YTpi", "RejectedCredentials"],
    [`Negotiate`, undefined, "UnsupportedChallenge"],
    [undefined, undefined, "UnsupportedChallenge"]
  ]
  for (const [challenge, authorization, reason] of table) {
    it(`${challenge ?? "no challenge"} / ${authorization ?? "anonymous"} → ${reason}`, () => {
      const error = Challenge.unauthorized(respond(challenge, authorization), ["repository:a:pull"])
      assert.strictEqual(error._tag, "Unauthorized")
      assert.strictEqual(error.reason, reason)
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.request, "GET https://registry.test/v2/a/manifests/latest")
      assert.notInclude(error.message, "Zq9s3cr3t")
      assert.notInclude(error.message, "YTpi")
    })
  }

  it("merges the challenge's scopes into the error", () => {
    const error = Challenge.unauthorized(
      respond(`Bearer realm="https://a/t",scope="repository:a:push repository:b:pull",error="insufficient_scope"`),
      ["repository:a:pull"]
    )
    assert.deepStrictEqual(error.scopes, ["repository:a:pull,push", "repository:b:pull"])
    assert.include(error.challenge ?? "", `realm="https://a/t"`)
  })
})
