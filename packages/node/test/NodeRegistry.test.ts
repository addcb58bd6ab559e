import { AuthService, RegistryClient } from "@effect-registry/core"
import { NodeRegistry } from "@effect-registry/node"
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const build = (options: NodeRegistry.Options) =>
  Effect.map(Layer.build(NodeRegistry.layer(options)), (ctx) => ({
    client: Context.get(ctx, RegistryClient.RegistryClient),
    auth: Context.get(ctx, AuthService.AuthService)
  }))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "noderegistry-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

describe("NodeRegistry.baseUrl", () => {
  it("https for host:port unless plainHttp; full URLs as written", () => {
    assert.strictEqual(NodeRegistry.baseUrl({ url: "127.0.0.1:5000" }), "https://127.0.0.1:5000")
    assert.strictEqual(NodeRegistry.baseUrl({ url: "127.0.0.1:5000", plainHttp: true }), "http://127.0.0.1:5000")
    assert.strictEqual(NodeRegistry.baseUrl({ url: "localhost:5000" }), "https://localhost:5000")
    assert.strictEqual(NodeRegistry.baseUrl({ url: "https://r.example/prefix" }), "https://r.example/prefix")
    assert.strictEqual(NodeRegistry.baseUrl({ url: "http://r.example", plainHttp: false }), "http://r.example")
  })
})

describe("NodeRegistry.layer", () => {
  it.scopedLive("anonymous registry over plain http", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make()
      const { client } = yield* build({ url: registry.host, plainHttp: true, timeouts: { connect: "5 seconds" } })
      assert.strictEqual(client.url, registry.url)
      assert.deepStrictEqual(yield* client.repositories(), [])
    }))

  it.scopedLive("basic credentials from options, from Docker's config.json, and none", () =>
    Effect.gen(function*() {
      const users = [{ username: "alice", password: "s3cret" }]
      const registry = yield* RealRegistry.make({ mode: "basic", users })
      const withPassword = yield* build({
        url: registry.host,
        plainHttp: true,
        username: "alice",
        password: Redacted.make("s3cret")
      })
      assert.deepStrictEqual(yield* withPassword.client.repositories(), [])

      const configDir = yield* tempDir
      fs.writeFileSync(
        path.join(configDir, "config.json"),
        JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } } })
      )
      const fromConfig = yield* build({ url: registry.host, plainHttp: true, dockerConfig: { configDir } })
      assert.deepStrictEqual(yield* fromConfig.client.repositories(), [])

      const anonymous = yield* Effect.either(
        Effect.flatMap(build({ url: registry.host, plainHttp: true }), ({ client }) => client.repositories())
      )
      assert.isTrue(Either.isLeft(anonymous) && anonymous.left._tag === "Unauthorized")

      const wrong = yield* Effect.either(build({ url: registry.host, password: "x" }))
      assert.isTrue(Either.isLeft(wrong) && wrong.left._tag === "Unauthorized")
    }))

  it.scopedLive("TLS: the CA to trust, refused without it, insecure only when asked", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ mode: "tls" })
      const ca = registry.caPem ?? ""
      const trusted = yield* build({ url: registry.host, tls: { ca } })
      assert.strictEqual(trusted.client.url, registry.url)
      assert.deepStrictEqual(yield* trusted.client.repositories(), [])
      const refused = yield* Effect.either(build({ url: registry.host }))
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "TransportError")
      const insecure = yield* build({ url: registry.host, insecure: true })
      assert.deepStrictEqual(yield* insecure.client.repositories(), [])
    }))
})
