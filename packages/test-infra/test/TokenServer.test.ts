import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as TokenServer from "../src/TokenServer.js"

const alice = { username: "alice", password: "s3cret-Pa55" }
const timeout = { timeout: 60_000 }

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(request)).pipe(
    Effect.flatMap((response) =>
      Effect.map(response.text, (text) => ({
        status: response.status,
        headers: response.headers,
        json: text.length > 0 && response.headers["content-type"] === "application/json"
          ? JSON.parse(text) as Record<string, unknown>
          : {}
      }))
    ),
    Effect.provide(NodeHttpClient.layer)
  )

const defined = <A>(value: A | undefined): A => {
  if (value === undefined) throw new Error("expected a value")
  return value
}

const parts = (token: string) => {
  const [header, payload, signature] = token.split(".")
  return {
    header: JSON.parse(Buffer.from(defined(header), "base64url").toString("utf8")) as {
      alg: string
      x5c: Array<string>
    },
    claims: JSON.parse(Buffer.from(defined(payload), "base64url").toString("utf8")) as Record<string, unknown>,
    input: `${header}.${payload}`,
    signature: Buffer.from(defined(signature), "base64url")
  }
}

const form = (fields: ReadonlyArray<readonly [string, string]>) => HttpClientRequest.bodyUrlParams(fields)

describe("TokenServer", () => {
  it("parseScope splits type, name (which may hold a port) and actions", () => {
    assert.deepStrictEqual(TokenServer.parseScope("repository:alice/app:pull,push"), {
      type: "repository",
      name: "alice/app",
      actions: ["pull", "push"]
    })
    assert.deepStrictEqual(TokenServer.parseScope("repository:localhost:5000/app:pull"), {
      type: "repository",
      name: "localhost:5000/app",
      actions: ["pull"]
    })
    assert.deepStrictEqual(TokenServer.parseScope("registry:catalog:*"), {
      type: "registry",
      name: "catalog",
      actions: ["*"]
    })
    assert.isUndefined(TokenServer.parseScope("nonsense"))
    assert.isUndefined(TokenServer.parseScope("repository::pull"))
  })

  layer(TokenServer.layer({ users: [alice], anonymousPull: (repository) => repository.startsWith("public/") }), {
    timeout: "60 seconds"
  })("GET and POST", (it) => {
    it.effect("GET with Basic credentials: a signed ES256 token with x5c and the requested access", () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.TokenServer
        const before = yield* server.issued
        const response = yield* send(
          HttpClientRequest.get(server.realm).pipe(
            HttpClientRequest.setUrlParams({ service: server.service, account: "alice" }),
            HttpClientRequest.appendUrlParams([
              ["scope", "repository:alice/app:pull,push repository:alice/src:pull"],
              ["scope", "registry:catalog:*"]
            ]),
            HttpClientRequest.basicAuth(alice.username, alice.password)
          )
        )
        assert.strictEqual(response.status, 200)
        const token = response.json.token as string
        assert.strictEqual(response.json.access_token, token)
        assert.strictEqual(response.json.expires_in, 300)
        assert.isString(response.json.issued_at)
        assert.isUndefined(response.json.refresh_token)
        assert.strictEqual(yield* server.issued, before + 1)

        const { claims, header, input, signature } = parts(token)
        assert.strictEqual(header.alg, "ES256")
        const certificate = new Crypto.X509Certificate(server.certificatePem)
        assert.strictEqual(header.x5c[0], certificate.raw.toString("base64"))
        assert.isTrue(
          Crypto.verify("sha256", Buffer.from(input), {
            key: certificate.publicKey,
            dsaEncoding: "ieee-p1363"
          }, signature)
        )
        assert.strictEqual(claims.iss, server.issuer)
        assert.strictEqual(claims.sub, "alice")
        assert.strictEqual(claims.aud, server.service)
        assert.strictEqual((claims.exp as number) - (claims.iat as number), 300)
        assert.isString(claims.jti)
        assert.deepStrictEqual(claims.access, [
          { type: "repository", name: "alice/app", actions: ["pull", "push"] },
          { type: "repository", name: "alice/src", actions: ["pull"] },
          { type: "registry", name: "catalog", actions: ["*"] }
        ])
      }))

    it.effect("GET: wrong credentials are 401 JSON; anonymous gets pull where the policy allows", () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.TokenServer
        const wrong = yield* send(
          HttpClientRequest.get(server.realm).pipe(HttpClientRequest.basicAuth("alice", "nope"))
        )
        assert.strictEqual(wrong.status, 401)
        assert.deepStrictEqual((wrong.json.errors as Array<{ code: string }>)[0]?.code, "UNAUTHORIZED")

        const anonymous = yield* send(
          HttpClientRequest.get(server.realm).pipe(
            HttpClientRequest.appendUrlParams([
              ["scope", "repository:public/app:pull,push"],
              ["scope", "repository:private/app:pull"]
            ])
          )
        )
        assert.strictEqual(anonymous.status, 200)
        const { claims } = parts(anonymous.json.token as string)
        assert.strictEqual(claims.sub, "")
        assert.deepStrictEqual(claims.access, [{ type: "repository", name: "public/app", actions: ["pull"] }])

        const requests = yield* server.requests
        assert.isTrue(requests.some((request) => request.status === 401 && request.user === "alice"))
        assert.notInclude(JSON.stringify(requests), alice.password)
        assert.notInclude(JSON.stringify(requests), "nope")
      }))

    it.effect("POST password grant returns a refresh token that the refresh_token grant accepts", () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.TokenServer
        const password = yield* send(
          HttpClientRequest.post(server.realm).pipe(form([
            ["grant_type", "password"],
            ["username", alice.username],
            ["password", alice.password],
            ["service", server.service],
            ["client_id", "effect-registry-tests"],
            ["access_type", "offline"],
            ["scope", "repository:alice/app:pull"]
          ]))
        )
        assert.strictEqual(password.status, 200)
        const refresh = password.json.refresh_token as string
        assert.isString(refresh)
        assert.strictEqual(password.json.token, password.json.access_token)

        const refreshed = yield* send(
          HttpClientRequest.post(server.realm).pipe(form([
            ["grant_type", "refresh_token"],
            ["refresh_token", refresh],
            ["service", server.service],
            ["scope", "repository:alice/other:pull,push"]
          ]))
        )
        assert.strictEqual(refreshed.status, 200)
        const { claims } = parts(refreshed.json.access_token as string)
        assert.strictEqual(claims.sub, "alice")
        assert.deepStrictEqual(claims.access, [
          { type: "repository", name: "alice/other", actions: ["pull", "push"] }
        ])

        const wrongPassword = yield* send(
          HttpClientRequest.post(server.realm).pipe(form([
            ["grant_type", "password"],
            ["username", "alice"],
            ["password", "nope"]
          ]))
        )
        assert.strictEqual(wrongPassword.status, 401)

        yield* server.revokeRefreshTokens
        const revoked = yield* send(
          HttpClientRequest.post(server.realm).pipe(form([
            ["grant_type", "refresh_token"],
            ["refresh_token", refresh]
          ]))
        )
        assert.strictEqual(revoked.status, 401)

        const offline = yield* send(
          HttpClientRequest.get(server.realm).pipe(
            HttpClientRequest.setUrlParams({ offline_token: "true", client_id: "x" }),
            HttpClientRequest.basicAuth(alice.username, alice.password)
          )
        )
        assert.isString(offline.json.refresh_token)
        const log = yield* server.requests
        assert.isTrue(log.some((entry) => entry.grantType === "refresh_token" && entry.user === "alice"))
        assert.notInclude(JSON.stringify(log), refresh)
      }))

    it.effect("unknown service is 400; other paths 404", () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.TokenServer
        const service = yield* send(
          HttpClientRequest.get(server.realm).pipe(HttpClientRequest.setUrlParam("service", "other"))
        )
        assert.strictEqual(service.status, 400)
        const other = yield* send(HttpClientRequest.get(`${server.url}/elsewhere`))
        assert.strictEqual(other.status, 404)
      }))
  })

  it.scopedLive("refuses POST when asked to, and honours the token lifetime and policy", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.make({
        users: [alice],
        allowPost: false,
        tokenLifetime: "2 seconds",
        policy: ({ scopes, user }) => scopes.map((scope) => ({ ...scope, actions: user === "alice" ? ["pull"] : [] }))
      })
      const post = yield* send(
        HttpClientRequest.post(server.realm).pipe(form([
          ["grant_type", "password"],
          ["username", alice.username],
          ["password", alice.password]
        ]))
      )
      assert.strictEqual(post.status, 405)
      const get = yield* send(
        HttpClientRequest.get(server.realm).pipe(
          HttpClientRequest.setUrlParam("scope", "repository:alice/app:pull,push"),
          HttpClientRequest.basicAuth(alice.username, alice.password)
        )
      )
      assert.strictEqual(get.json.expires_in, 2)
      const { claims } = parts(get.json.token as string)
      assert.strictEqual((claims.exp as number) - (claims.iat as number), 2)
      assert.deepStrictEqual(claims.access, [{ type: "repository", name: "alice/app", actions: ["pull"] }])
      assert.strictEqual(yield* server.issued, 1)
    }), timeout)

  it.live("closes its socket when the scope closes", () =>
    Effect.gen(function*() {
      const realm = yield* Effect.scoped(Effect.map(TokenServer.make(), (server) => server.realm))
      const after = yield* Effect.either(send(HttpClientRequest.get(realm)))
      assert.isTrue(after._tag === "Left")
    }), timeout)

  it.live("missing openssl fails with the command that installs it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(TokenServer.make({ openssl: "/nonexistent/openssl" })))
      assert.strictEqual(error.reason, "OpensslMissing")
      assert.include(error.message, "apt-get install -y openssl")
    }), timeout)
})
