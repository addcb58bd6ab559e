import { CredentialHelper } from "@effect-registry/node"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "docker-credential-test.mjs")

let dir: string
let env: Record<string, string>

const script = (name: string, body: string) => {
  const file = path.join(dir, `docker-credential-${name}`)
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "credhelper-"))
  fs.copyFileSync(fixture, path.join(dir, "docker-credential-test"))
  fs.chmodSync(path.join(dir, "docker-credential-test"), 0o755)
  fs.writeFileSync(
    path.join(dir, "store.json"),
    JSON.stringify({
      "registry.example.com": { Username: "alice", Secret: "s3cret" },
      "https://index.docker.io/v1/": { Username: "<token>", Secret: "refresh-token" }
    })
  )
  script("garbage", "cat > /dev/null\necho 'this is not json {'")
  script("badshape", "cat > /dev/null\necho '{\"Username\":\"alice\"}'")
  script("hang", "cat > /dev/null\nsleep 30")
  script("broken", "cat > /dev/null\necho 'error talking to the keychain' >&2\nexit 3")
  env = { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`, TEST_HELPER_STORE: path.join(dir, "store.json") }
})

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("CredentialHelper", () => {
  it.effect("gets username and password", () =>
    Effect.gen(function*() {
      const found = yield* CredentialHelper.get("test", "registry.example.com", { env })
      assert.isTrue(Option.isSome(found))
      const credentials = Option.getOrThrow(found)
      assert.strictEqual(credentials._tag, "Basic")
      if (credentials._tag === "Basic") {
        assert.strictEqual(credentials.username, "alice")
        assert.strictEqual(Redacted.value(credentials.password), "s3cret")
      }
      assert.notInclude(JSON.stringify(credentials), "s3cret")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("reads <token> as an identity token", () =>
    Effect.gen(function*() {
      const credentials = Option.getOrThrow(yield* CredentialHelper.get("test", "https://index.docker.io/v1/", { env }))
      assert.strictEqual(credentials._tag, "IdentityToken")
      if (credentials._tag === "IdentityToken") assert.strictEqual(Redacted.value(credentials.token), "refresh-token")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("'credentials not found' is None, not an error", () =>
    Effect.gen(function*() {
      const found = yield* CredentialHelper.get("test", "other.example.com", { env })
      assert.isTrue(Option.isNone(found))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a missing helper is a NotFound error", () =>
    Effect.gen(function*() {
      const error = yield* CredentialHelper.get("nonexistent", "registry.example.com", { env }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "CredentialHelperError")
      assert.strictEqual(error.reason, "NotFound")
      assert.include(error.message, "docker-credential-nonexistent")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("garbage output is a Malformed error that does not echo the output", () =>
    Effect.gen(function*() {
      const error = yield* CredentialHelper.get("garbage", "registry.example.com", { env }).pipe(Effect.flip)
      assert.strictEqual(error.reason, "Malformed")
      assert.notInclude(error.message, "this is not json")
      const shape = yield* CredentialHelper.get("badshape", "registry.example.com", { env }).pipe(Effect.flip)
      assert.strictEqual(shape.reason, "Malformed")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a non-zero exit is a Failed error with the helper's message", () =>
    Effect.gen(function*() {
      const error = yield* CredentialHelper.get("broken", "registry.example.com", { env }).pipe(Effect.flip)
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.exitCode, 3)
      assert.include(error.message, "error talking to the keychain")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("a hanging helper times out and is killed", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const error = yield* CredentialHelper.get("hang", "registry.example.com", { env, timeout: "300 millis" }).pipe(
        Effect.flip
      )
      assert.strictEqual(error.reason, "Timeout")
      assert.isBelow(Date.now() - started, 5_000)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("refuses helper names that are not plain names", () =>
    Effect.gen(function*() {
      const error = yield* CredentialHelper.get("../evil", "registry.example.com", { env }).pipe(Effect.flip)
      assert.strictEqual(error.reason, "InvalidName")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("stores and erases", () =>
    Effect.gen(function*() {
      const host = "store.example.com:5000"
      yield* CredentialHelper.store("test", { serverUrl: host, username: "bob", secret: Redacted.make("pw") }, { env })
      const stored = Option.getOrThrow(yield* CredentialHelper.get("test", host, { env }))
      assert.strictEqual(stored._tag, "Basic")
      if (stored._tag === "Basic") assert.strictEqual(Redacted.value(stored.password), "pw")
      yield* CredentialHelper.erase("test", host, { env })
      assert.isTrue(Option.isNone(yield* CredentialHelper.get("test", host, { env })))
      // erasing again is fine
      yield* CredentialHelper.erase("test", host, { env })
      const failed = yield* CredentialHelper.store(
        "broken",
        { serverUrl: host, username: "bob", secret: Redacted.make("pw") },
        { env }
      ).pipe(Effect.flip)
      assert.strictEqual(failed.reason, "Failed")
      assert.notInclude(failed.message, "pw\"")
    }).pipe(Effect.provide(NodeContext.layer)))
})
