import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as RealRegistry from "../src/RealRegistry.js"

const alice = { username: "alice", password: "s3cret-Pa55" }
const timeout = { timeout: 60_000 }

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(request)).pipe(Effect.provide(NodeHttpClient.layer))

const bodyText = (response: HttpClientResponse.HttpClientResponse) => response.text

const defined = <A>(value: A | undefined): A => {
  if (value === undefined) throw new Error("expected a value")
  return value
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.setTimeout(2000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const TokenResponse = Schema.Struct({
  token: Schema.String,
  access_token: Schema.String,
  expires_in: Schema.Number,
  issued_at: Schema.String
})

/** parameters of a `Bearer k="v",...` challenge */
const challengeParams = (header: string | undefined): Record<string, string> => {
  const params: Record<string, string> = {}
  for (const match of (header ?? "").matchAll(/(\w+)="([^"]*)"/g)) params[match[1] ?? ""] = match[2] ?? ""
  return params
}

const fetchToken = (realm: string, params: Record<string, string>, scopes: ReadonlyArray<string>, basic?: {
  readonly username: string
  readonly password: string
}) =>
  Effect.gen(function*() {
    let request = HttpClientRequest.get(realm).pipe(
      HttpClientRequest.setUrlParam("service", params.service ?? ""),
      HttpClientRequest.appendUrlParams(scopes.map((scope) => ["scope", scope] as const))
    )
    if (basic !== undefined) request = HttpClientRequest.basicAuth(request, basic.username, basic.password)
    const response = yield* send(request)
    assert.strictEqual(response.status, 200)
    return yield* Effect.flatMap(response.json, Schema.decodeUnknown(TokenResponse))
  })

const uploadBlob = (url: string, repository: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const digest = `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`
    const started = yield* send(HttpClientRequest.post(`${url}/v2/${repository}/blobs/uploads/`))
    assert.strictEqual(started.status, 202)
    const location = new URL(defined(started.headers["location"]), url)
    location.searchParams.set("digest", digest)
    const put = yield* send(
      HttpClientRequest.put(location.toString()).pipe(
        HttpClientRequest.bodyUint8Array(bytes, "application/octet-stream")
      )
    )
    assert.strictEqual(put.status, 201)
    assert.strictEqual(put.headers["docker-content-digest"], digest)
    return digest
  })

const base32 = (bytes: Uint8Array) => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  let bits = 0
  let value = 0
  let out = ""
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return bits > 0 ? out + alphabet[(value << (5 - bits)) & 31] : out
}

/** A schema1 manifest with a libtrust "pretty" JWS signature (ES256, key in the `jwk` header). */
const signedSchema1 = (name: string, tag: string, layer: string): Uint8Array => {
  const payload = JSON.stringify(
    {
      schemaVersion: 1,
      name,
      tag,
      architecture: "amd64",
      fsLayers: [{ blobSum: layer }],
      history: [{ v1Compatibility: JSON.stringify({ id: "a".repeat(64), created: "2020-01-01T00:00:00Z" }) }]
    },
    null,
    3
  )
  const { privateKey, publicKey } = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
  const jwk = publicKey.export({ format: "jwk" })
  const spki = publicKey.export({ format: "der", type: "spki" })
  const kid = base32(Crypto.createHash("sha256").update(spki).digest().subarray(0, 30)).match(/.{4}/g)?.join(":")
  const formatLength = payload.lastIndexOf("}") - 1
  const formatTail = payload.slice(formatLength)
  const b64 = (text: string) => Buffer.from(text).toString("base64url")
  const protectedHeader = b64(
    JSON.stringify({ formatLength, formatTail: b64(formatTail), time: new Date().toISOString() })
  )
  const signature = Crypto.sign("sha256", Buffer.from(`${protectedHeader}.${b64(payload)}`), {
    key: privateKey,
    dsaEncoding: "ieee-p1363"
  }).toString("base64url")
  const signatures = [{
    header: { jwk: { crv: "P-256", kid, kty: "EC", x: jwk.x, y: jwk.y }, alg: "ES256" },
    signature,
    protected: protectedHeader
  }]
  const signed = payload.slice(0, formatLength) + ",\n   \"signatures\": " +
    JSON.stringify(signatures, null, 3).replace(/\n/g, "\n   ") + formatTail
  return new TextEncoder().encode(signed)
}

describe("RealRegistry", () => {
  it.live(
    "anonymous: GET /v2/ is 200 over a real socket; blobs upload and delete; all gone after the scope",
    () =>
      Effect.gen(function*() {
        const registry = yield* Effect.scoped(Effect.gen(function*() {
          const registry = yield* RealRegistry.make({ mode: "anonymous" })
          assert.strictEqual(registry.mode, "anonymous")
          assert.strictEqual(registry.host, `127.0.0.1:${registry.port}`)
          assert.strictEqual(registry.url, `http://127.0.0.1:${registry.port}`)
          assert.isUndefined(registry.caPem)
          assert.isTrue(Fs.statSync(registry.rootDirectory).isDirectory())
          assert.isTrue(isAlive(registry.pid))

          const ping = yield* send(HttpClientRequest.get(`${registry.url}/v2/`))
          assert.strictEqual(ping.status, 200)
          assert.strictEqual(ping.headers["docker-distribution-api-version"], "registry/2.0")
          assert.strictEqual(yield* bodyText(ping), "{}")

          const digest = yield* uploadBlob(registry.url, "it/anon", new TextEncoder().encode("hello registry"))
          const head = yield* send(HttpClientRequest.head(`${registry.url}/v2/it/anon/blobs/${digest}`))
          assert.strictEqual(head.status, 200)
          // storage lands in the temp dir
          assert.isTrue(
            Fs.existsSync(Path.join(registry.rootDirectory, "docker", "registry", "v2", "repositories", "it"))
          )
          const deleted = yield* send(HttpClientRequest.del(`${registry.url}/v2/it/anon/blobs/${digest}`))
          assert.strictEqual(deleted.status, 202)

          const upload = yield* send(HttpClientRequest.post(`${registry.url}/v2/it/anon/blobs/uploads/`))
          assert.strictEqual(upload.status, 202)
          assert.isTrue(defined(upload.headers["location"]).startsWith(`${registry.url}/v2/it/anon/blobs/uploads/`))
          assert.isString(yield* registry.logs)
          return registry
        }))
        assert.isFalse(isAlive(registry.pid))
        assert.isFalse(yield* accepts(registry.port))
        assert.isFalse(Fs.existsSync(registry.directory))
      }),
    timeout
  )

  it.live("stops the registry and removes its temp dir when the test fails", () =>
    Effect.gen(function*() {
      let started: RealRegistry.Running | undefined
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        started = yield* RealRegistry.make()
        assert.isTrue(isAlive(started.pid))
        return yield* Effect.fail("the test failed")
      })))
      assert.isTrue(Exit.isFailure(exit))
      assert.isDefined(started)
      assert.isFalse(isAlive(defined(started).pid))
      assert.isFalse(yield* accepts(defined(started).port))
      assert.isFalse(Fs.existsSync(defined(started).directory))
    }), timeout)

  it.scopedLive(
    "basic: 401 with a Basic challenge without or with wrong credentials, 200 with them",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "basic", users: [alice], realm: "test-realm" })
        assert.deepStrictEqual(registry.users, [alice])
        const htpasswd = Fs.readFileSync(Path.join(registry.directory, "htpasswd"), "utf8")
        assert.match(htpasswd, /^alice:\$2[aby]\$\d\d\$/)
        assert.notInclude(htpasswd, alice.password)

        const anonymous = yield* send(HttpClientRequest.get(`${registry.url}/v2/`))
        assert.strictEqual(anonymous.status, 401)
        assert.strictEqual(anonymous.headers["www-authenticate"], "Basic realm=\"test-realm\"")
        assert.include(yield* bodyText(anonymous), "UNAUTHORIZED")

        const wrong = yield* send(
          HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.basicAuth("alice", "wrong"))
        )
        assert.strictEqual(wrong.status, 401)
        assert.strictEqual(wrong.headers["www-authenticate"], "Basic realm=\"test-realm\"")

        const ok = yield* send(
          HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.basicAuth(alice.username, alice.password))
        )
        assert.strictEqual(ok.status, 200)
      }),
    timeout
  )

  it.scopedLive(
    "token: Bearer challenge, a real token from the realm, then 200 and a push upload",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "token", users: [alice] })
        const tokenServer = defined(registry.tokenServer)
        assert.isDefined(tokenServer)
        assert.strictEqual(yield* tokenServer.issued, 0)

        const challenged = yield* send(HttpClientRequest.get(`${registry.url}/v2/`))
        assert.strictEqual(challenged.status, 401)
        const header = challenged.headers["www-authenticate"]
        assert.isTrue(header?.startsWith("Bearer "))
        const params = challengeParams(header)
        assert.strictEqual(params.realm, tokenServer.realm)
        assert.strictEqual(params.service, tokenServer.service)

        const scope = "repository:alice/app:pull,push"
        const token = yield* fetchToken(defined(params.realm), params, [scope], alice)
        assert.strictEqual(token.token, token.access_token)
        assert.strictEqual(yield* tokenServer.issued, 1)

        const ping = yield* send(
          HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.bearerToken(token.token))
        )
        assert.strictEqual(ping.status, 200)

        const push = yield* send(
          HttpClientRequest.post(`${registry.url}/v2/alice/app/blobs/uploads/`).pipe(
            HttpClientRequest.bearerToken(token.token)
          )
        )
        assert.strictEqual(push.status, 202)

        const requests = yield* tokenServer.requests
        assert.strictEqual(requests.length, 1)
        assert.strictEqual(defined(requests[0]).user, "alice")
        assert.deepStrictEqual(defined(requests[0]).scopes, [scope])
        assert.notInclude(JSON.stringify(requests), alice.password)
      }),
    timeout
  )

  it.scopedLive(
    "token: an anonymous pull-only token gets insufficient_scope on push; foreign tokens are invalid",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({
          mode: "token",
          users: [alice],
          tokenServer: { anonymousPull: (repository) => repository.startsWith("public/") }
        })
        const tokenServer = defined(registry.tokenServer)
        const challenged = yield* send(HttpClientRequest.post(`${registry.url}/v2/public/app/blobs/uploads/`))
        assert.strictEqual(challenged.status, 401)
        const params = challengeParams(challenged.headers["www-authenticate"])
        // distribution lists the actions in either order (it builds them from a map)
        const [resource, actions] = [
          params.scope?.slice(0, params.scope.lastIndexOf(":")),
          params.scope?.split(":").pop()
        ]
        assert.strictEqual(resource, "repository:public/app")
        assert.deepStrictEqual(actions?.split(",").sort(), ["pull", "push"])

        const anonymous = yield* fetchToken(defined(params.realm), params, [defined(params.scope)])
        const refused = yield* send(
          HttpClientRequest.post(`${registry.url}/v2/public/app/blobs/uploads/`).pipe(
            HttpClientRequest.bearerToken(anonymous.token)
          )
        )
        assert.strictEqual(refused.status, 401)
        assert.strictEqual(challengeParams(refused.headers["www-authenticate"]).error, "insufficient_scope")
        // the same token may pull
        const pull = yield* send(
          HttpClientRequest.get(`${registry.url}/v2/public/app/tags/list`).pipe(
            HttpClientRequest.bearerToken(anonymous.token)
          )
        )
        assert.strictEqual(pull.status, 404)
        assert.include(yield* bodyText(pull), "NAME_UNKNOWN")

        const pushToken = yield* fetchToken(defined(params.realm), params, [defined(params.scope)], alice)
        const pushed = yield* send(
          HttpClientRequest.post(`${registry.url}/v2/public/app/blobs/uploads/`).pipe(
            HttpClientRequest.bearerToken(pushToken.token)
          )
        )
        assert.strictEqual(pushed.status, 202)
        assert.strictEqual(yield* tokenServer.issued, 2)

        for (
          const token of [
            yield* tokenServer.mint({ audience: "another-service" }),
            yield* tokenServer.mint({ untrusted: true }),
            yield* tokenServer.mint({ lifetimeSeconds: -3600 }),
            "not-a-jwt"
          ]
        ) {
          const rejected = yield* send(
            HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.bearerToken(token))
          )
          assert.strictEqual(rejected.status, 401)
          assert.strictEqual(challengeParams(rejected.headers["www-authenticate"]).error, "invalid_token")
        }
        const minted = yield* tokenServer.mint({ access: [] })
        const accepted = yield* send(
          HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.bearerToken(minted))
        )
        assert.strictEqual(accepted.status, 200)
      }),
    timeout
  )

  it.scopedLive("tls: https with the CA trusted is 200, without it the connection fails", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ mode: "tls" })
      assert.strictEqual(registry.url, `https://127.0.0.1:${registry.port}`)
      assert.isTrue(registry.tls)
      assert.include(registry.caPem, "BEGIN CERTIFICATE")

      const trusted = NodeHttpClient.layerWithoutAgent.pipe(
        Layer.provide(NodeHttpClient.makeAgentLayer({ ca: defined(registry.caPem) }))
      )
      for (const url of [`${registry.url}/v2/`, `https://localhost:${registry.port}/v2/`]) {
        const ping = yield* Effect.flatMap(HttpClient.HttpClient, (client) => client.get(url)).pipe(
          Effect.provide(trusted)
        )
        assert.strictEqual(ping.status, 200)
      }

      const untrusted = yield* Effect.either(send(HttpClientRequest.get(`${registry.url}/v2/`)))
      assert.isTrue(untrusted._tag === "Left")
      const plain = yield* Effect.either(send(HttpClientRequest.get(`http://127.0.0.1:${registry.port}/v2/`)))
      assert.isTrue(plain._tag === "Left" || plain.right.status === 400)
    }), timeout)

  it.scopedLive("tls can be combined with basic auth", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ mode: "basic", users: [alice], tls: true })
      assert.strictEqual(registry.mode, "basic")
      const client = NodeHttpClient.layerWithoutAgent.pipe(
        Layer.provide(NodeHttpClient.makeAgentLayer({ ca: defined(registry.caPem) }))
      )
      const statusOf = (request: HttpClientRequest.HttpClientRequest) =>
        Effect.flatMap(HttpClient.HttpClient, (http) => http.execute(request)).pipe(
          Effect.map((response) => response.status),
          Effect.provide(client)
        )
      assert.strictEqual(yield* statusOf(HttpClientRequest.get(`${registry.url}/v2/`)), 401)
      assert.strictEqual(
        yield* statusOf(
          HttpClientRequest.get(`${registry.url}/v2/`).pipe(HttpClientRequest.basicAuth(alice.username, alice.password))
        ),
        200
      )
    }), timeout)

  it.scopedLive("relativeUrls: the upload Location is relative", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ relativeUrls: true })
      assert.isTrue(registry.relativeUrls)
      const upload = yield* send(HttpClientRequest.post(`${registry.url}/v2/it/rel/blobs/uploads/`))
      assert.strictEqual(upload.status, 202)
      assert.isTrue(defined(upload.headers["location"]).startsWith("/v2/it/rel/blobs/uploads/"))
    }), timeout)

  it.scopedLive("deleteEnabled=false: a blob DELETE is 405 UNSUPPORTED", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ deleteEnabled: false })
      const digest = yield* uploadBlob(registry.url, "it/nodelete", new TextEncoder().encode("keep me"))
      const deleted = yield* send(HttpClientRequest.del(`${registry.url}/v2/it/nodelete/blobs/${digest}`))
      assert.strictEqual(deleted.status, 405)
      assert.include(yield* bodyText(deleted), "UNSUPPORTED")
      const head = yield* send(HttpClientRequest.head(`${registry.url}/v2/it/nodelete/blobs/${digest}`))
      assert.strictEqual(head.status, 200)
    }), timeout)

  it.live(
    "schema1Enabled: a signed schema1 manifest is accepted when enabled and refused when disabled",
    () =>
      Effect.gen(function*() {
        const put = (schema1Enabled: boolean) =>
          Effect.scoped(Effect.gen(function*() {
            const registry = yield* RealRegistry.make({ schema1Enabled })
            const layer = yield* uploadBlob(registry.url, "it/s1", new TextEncoder().encode("a layer"))
            const response = yield* send(
              HttpClientRequest.put(`${registry.url}/v2/it/s1/manifests/latest`).pipe(
                HttpClientRequest.bodyUint8Array(
                  signedSchema1("it/s1", "latest", layer),
                  "application/vnd.docker.distribution.manifest.v1+prettyjws"
                )
              )
            )
            return { status: response.status, body: yield* bodyText(response) }
          }))
        const enabled = yield* put(true)
        assert.strictEqual(enabled.status, 201, enabled.body)
        const disabled = yield* put(false)
        assert.strictEqual(disabled.status, 500, disabled.body)
        assert.include(disabled.body, "UNKNOWN")
      }),
    timeout
  )

  it.live("a missing docker-registry fails with the command that installs it", () =>
    Effect.gen(function*() {
      const empty = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-empty-"))
      try {
        for (
          const options of [
            { binary: "/nonexistent/docker-registry" },
            { searchPath: empty }
          ] satisfies ReadonlyArray<RealRegistry.Options>
        ) {
          const error = yield* Effect.flip(Effect.scoped(RealRegistry.make(options)))
          assert.strictEqual(error._tag, "RealRegistryError")
          assert.strictEqual(error.reason, "BinaryMissing")
          assert.include(error.message, "apt-get update && apt-get install -y docker-registry")
          assert.include(error.message, RealRegistry.installCommand)
        }
      } finally {
        Fs.rmSync(empty, { recursive: true, force: true })
      }
    }), timeout)

  it.live("a registry that cannot start fails with its captured output", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-fake-"))
      const fake = Path.join(dir, "docker-registry")
      Fs.writeFileSync(fake, "#!/bin/sh\necho \"configuration error: $2 is not ok\" >&2\nexit 3\n", { mode: 0o755 })
      try {
        const error = yield* Effect.flip(Effect.scoped(RealRegistry.make({ binary: fake, portAttempts: 2 })))
        assert.strictEqual(error.reason, "Exited")
        assert.include(error.logs, "configuration error")
        assert.include(error.message, "configuration error")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }), timeout)

  it.scopedLive("layer: the running registry is a service", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const ping = yield* send(HttpClientRequest.get(`${registry.url}/v2/`))
      assert.strictEqual(ping.status, 200)
    }).pipe(Effect.provide(RealRegistry.layer())), timeout)
})

// The launcher waits on the real clock, so a suite may build it under the TestClock of
// `it.effect` / `layer(...)` without `excludeTestServices`.
layer(RealRegistry.layer(), { timeout: "60 seconds" })("RealRegistry under the TestClock", (it) => {
  it.effect("starts and answers although the test clock never moves", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      assert.isTrue(registry.url.startsWith("http://127.0.0.1:"))
      assert.isDefined(registry.pid)
    }))
})
