import * as Credentials from "@effect-registry/core/Credentials"
import { DockerConfig } from "@effect-registry/node"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "docker-credential-test.mjs")

const b64 = (s: string) => Buffer.from(s).toString("base64")

interface Sandbox {
  readonly dir: string
  readonly home: string
  /** Environment for the code under test (through ConfigProvider). */
  readonly env: Map<string, string>
  /** Environment for credential helpers. */
  readonly helperEnv: Record<string, string>
  readonly write: (file: string, content: unknown) => string
  readonly helperStore: () => Record<string, { Username: string; Secret: string }>
}

const sandbox = Effect.acquireRelease(
  Effect.sync((): Sandbox => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockerconfig-"))
    const home = path.join(dir, "home")
    const bin = path.join(dir, "bin")
    fs.mkdirSync(home)
    fs.mkdirSync(bin)
    fs.copyFileSync(fixture, path.join(bin, "docker-credential-test"))
    fs.chmodSync(path.join(bin, "docker-credential-test"), 0o755)
    fs.writeFileSync(path.join(bin, "docker-credential-broken"), "#!/bin/sh\ncat >/dev/null\necho oops\nexit 4\n", {
      mode: 0o755
    })
    const storePath = path.join(dir, "helper-store.json")
    fs.writeFileSync(storePath, JSON.stringify({ "helped.example.com": { Username: "helen", Secret: "from-helper" } }))
    return {
      dir,
      home,
      env: new Map([["HOME", home]]),
      helperEnv: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, TEST_HELPER_STORE: storePath },
      write: (file, content) => {
        const full = path.join(dir, file)
        fs.mkdirSync(path.dirname(full), { recursive: true })
        fs.writeFileSync(full, typeof content === "string" ? content : JSON.stringify(content))
        return full
      },
      helperStore: () => JSON.parse(fs.readFileSync(storePath, "utf8"))
    }
  }),
  (s) => Effect.sync(() => fs.rmSync(s.dir, { recursive: true, force: true }))
)

const withEnv = (s: Sandbox) => Effect.withConfigProvider(ConfigProvider.fromMap(s.env))

const basicOf = (credentials: Option.Option<Credentials.Credentials>) => {
  const c = Option.getOrThrow(credentials)
  assert.strictEqual(c._tag, "Basic")
  return c._tag === "Basic" ? { username: c.username, password: Redacted.value(c.password) } : undefined
}

describe("DockerConfig.paths", () => {
  it.scoped("reads $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json and podman's auth.json, in that order", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.env.set("DOCKER_CONFIG", "/cfg/docker")
      s.env.set("REGISTRY_AUTH_FILE", "/cfg/auth.json")
      s.env.set("XDG_RUNTIME_DIR", "/run/user/1000")
      const p = yield* DockerConfig.paths().pipe(withEnv(s))
      assert.deepStrictEqual(p.read, [
        "/cfg/auth.json",
        "/cfg/docker/config.json",
        "/run/user/1000/containers/auth.json"
      ])
      assert.strictEqual(p.write, "/cfg/auth.json")
    }))

  it.scoped("defaults to ~/.docker/config.json", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      const p = yield* DockerConfig.paths().pipe(withEnv(s))
      assert.deepStrictEqual(p.read, [path.join(s.home, ".docker", "config.json")])
      assert.strictEqual(p.write, path.join(s.home, ".docker", "config.json"))
    }))
})

describe("DockerConfig.lookup", () => {
  it.scoped("decodes auth, username/password, identitytoken and registrytoken entries", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.write("home/.docker/config.json", {
        auths: {
          "basic.example.com": { auth: b64("alice:pa:ss") },
          "fields.example.com": { username: "bob", password: "hunter2" },
          "oauth.example.com": { auth: b64("carol:"), identitytoken: "refresh-me" },
          "token.example.com": { registrytoken: "static-token" }
        }
      })
      const lookup = (host: string) => DockerConfig.lookup(host).pipe(withEnv(s))
      assert.deepStrictEqual(basicOf(yield* lookup("basic.example.com")), { username: "alice", password: "pa:ss" })
      assert.deepStrictEqual(basicOf(yield* lookup("fields.example.com")), { username: "bob", password: "hunter2" })
      const oauth = Option.getOrThrow(yield* lookup("oauth.example.com"))
      assert.strictEqual(oauth._tag, "IdentityToken")
      if (oauth._tag === "IdentityToken") {
        assert.strictEqual(oauth.username, "carol")
        assert.strictEqual(Redacted.value(oauth.token), "refresh-me")
      }
      const token = Option.getOrThrow(yield* lookup("token.example.com"))
      assert.strictEqual(token._tag, "Bearer")
      assert.isTrue(Option.isNone(yield* lookup("unknown.example.com")))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("matches Docker Hub key variants and URL-shaped keys", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.write("home/.docker/config.json", {
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
          "https://registry.example.com:5000/v1/": { auth: b64("u1:p1") },
          "http://plain.example.com": { auth: b64("u2:p2") },
          "quay.io/some-org": { auth: b64("scoped:secret") }
        }
      })
      const lookup = (host: string) => DockerConfig.lookup(host).pipe(withEnv(s))
      for (const host of ["registry-1.docker.io", "docker.io", "index.docker.io"]) {
        assert.deepStrictEqual(basicOf(yield* lookup(host)), { username: "hubuser", password: "hubpass" })
      }
      assert.deepStrictEqual(basicOf(yield* lookup("registry.example.com:5000")), { username: "u1", password: "p1" })
      assert.deepStrictEqual(basicOf(yield* lookup("Plain.Example.com")), { username: "u2", password: "p2" })
      assert.isTrue(Option.isNone(yield* lookup("registry.example.com")))
      // a podman repository-namespace key does not grant the whole host
      assert.isTrue(Option.isNone(yield* lookup("quay.io")))
    }).pipe(Effect.provide(NodeContext.layer)))

  for (const key of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
    it.scoped(`finds Docker Hub credentials stored under ${key}`, () =>
      Effect.gen(function*() {
        const s = yield* sandbox
        s.write("home/.docker/config.json", { auths: { [key]: { auth: b64("hub:pw") } } })
        const found = yield* DockerConfig.lookup("registry-1.docker.io").pipe(withEnv(s))
        assert.deepStrictEqual(basicOf(found), { username: "hub", password: "pw" })
      }).pipe(Effect.provide(NodeContext.layer)))
  }

  it.scoped("searches REGISTRY_AUTH_FILE, then DOCKER_CONFIG, then podman's auth.json", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      const authFile = s.write("auth.json", { auths: { "a.example.com": { auth: b64("from:authfile") } } })
      s.write("docker/config.json", {
        auths: {
          "a.example.com": { auth: b64("from:docker") },
          "b.example.com": { auth: b64("from:docker") },
          "c.example.com": {}
        }
      })
      s.write("run/containers/auth.json", {
        auths: { "b.example.com": { auth: b64("from:podman") }, "c.example.com": { auth: b64("from:podman") } }
      })
      s.env.set("REGISTRY_AUTH_FILE", authFile)
      s.env.set("DOCKER_CONFIG", path.join(s.dir, "docker"))
      s.env.set("XDG_RUNTIME_DIR", path.join(s.dir, "run"))
      const lookup = (host: string) => DockerConfig.lookup(host).pipe(withEnv(s))
      assert.strictEqual(basicOf(yield* lookup("a.example.com"))?.password, "authfile")
      assert.strictEqual(basicOf(yield* lookup("b.example.com"))?.password, "docker")
      // an empty entry (as Docker writes when a store holds the secret) falls through
      assert.strictEqual(basicOf(yield* lookup("c.example.com"))?.password, "podman")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("asks credHelpers and credsStore helpers, falling back to auths when the helper has none", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.write("home/.docker/config.json", {
        credsStore: "test",
        credHelpers: { "broken.example.com": "broken" },
        auths: { "stale.example.com": { auth: b64("old:entry") } }
      })
      const options = { helper: { env: s.helperEnv } }
      const lookup = (host: string) => DockerConfig.lookup(host, options).pipe(withEnv(s))
      assert.deepStrictEqual(basicOf(yield* lookup("helped.example.com")), {
        username: "helen",
        password: "from-helper"
      })
      assert.deepStrictEqual(basicOf(yield* lookup("stale.example.com")), { username: "old", password: "entry" })
      assert.isTrue(Option.isNone(yield* lookup("nobody.example.com")))
      const error = yield* lookup("broken.example.com").pipe(Effect.flip)
      assert.strictEqual(error.reason, "Helper")
      assert.strictEqual(error.host, "broken.example.com")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with Parse errors that do not reveal secrets", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.write("home/.docker/config.json", "{ not json")
      const notJson = yield* DockerConfig.lookup("x.example.com").pipe(withEnv(s), Effect.flip)
      assert.strictEqual(notJson.reason, "Parse")
      s.write("home/.docker/config.json", { auths: { "x.example.com": { auth: "c2VjcmV0LXdpdGhvdXQtY29sb24=" } } })
      const noColon = yield* DockerConfig.lookup("x.example.com").pipe(withEnv(s), Effect.flip)
      assert.strictEqual(noColon.reason, "Parse")
      assert.notInclude(noColon.message, "secret-without-colon")
      assert.notInclude(noColon.message, "c2VjcmV0")
      s.write("home/.docker/config.json", { auths: { "x.example.com": { password: 1234567 } } })
      const badShape = yield* DockerConfig.lookup("x.example.com").pipe(withEnv(s), Effect.flip)
      assert.strictEqual(badShape.reason, "Parse")
      assert.notInclude(badShape.message, "1234567")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a missing or empty file is no credentials", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      assert.isTrue(Option.isNone(yield* DockerConfig.lookup("x.example.com").pipe(withEnv(s))))
      s.write("home/.docker/config.json", "")
      assert.isTrue(Option.isNone(yield* DockerConfig.lookup("x.example.com").pipe(withEnv(s))))
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("DockerConfig.layer", () => {
  it.scoped("provides CredentialsProvider", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.write("docker/config.json", {
        auths: { "127.0.0.1:5000": { auth: b64("alice:s3cret") } },
        credHelpers: { "broken.example.com": "broken" }
      })
      s.env.set("DOCKER_CONFIG", path.join(s.dir, "docker"))
      const options = { helper: { env: s.helperEnv } }
      const get = (host: string) =>
        Effect.flatMap(Credentials.CredentialsProvider, (p) => p.get(host)).pipe(
          Effect.provide(DockerConfig.layer(options)),
          withEnv(s)
        )
      const found = yield* get("127.0.0.1:5000")
      assert.strictEqual(found._tag, "Basic")
      if (found._tag === "Basic") assert.strictEqual(Redacted.value(found.password), "s3cret")
      assert.notInclude(JSON.stringify(found), "s3cret")
      assert.deepStrictEqual(yield* get("elsewhere.example.com"), Credentials.anonymous)
      const error = yield* get("broken.example.com").pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthorized")
      assert.strictEqual(error.reason, "MissingCredentials")
      const ignored = yield* Effect.flatMap(Credentials.CredentialsProvider, (p) => p.get("broken.example.com")).pipe(
        Effect.provide(DockerConfig.layer({ ...options, ignoreHelperErrors: true })),
        withEnv(s)
      )
      assert.deepStrictEqual(ignored, Credentials.anonymous)
    }))
})

describe("DockerConfig.login / logout", () => {
  it.scoped("adds and removes auths entries, keeping other keys, atomically with mode 0600", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      const file = s.write("home/.docker/config.json", {
        auths: { "other.example.com": { auth: b64("o:p") }, "docker.io": { auth: b64("old:hub") } },
        proxies: { default: { httpProxy: "http://proxy:3128" } },
        detachKeys: "ctrl-e,e"
      })
      fs.chmodSync(file, 0o644)
      yield* DockerConfig.login("registry-1.docker.io", Credentials.basic("hub", "new-pass")).pipe(withEnv(s))
      yield* DockerConfig.login("127.0.0.1:5000", Credentials.identityToken("tok", "dave")).pipe(withEnv(s))
      const written = JSON.parse(fs.readFileSync(file, "utf8"))
      assert.deepStrictEqual(written.proxies, { default: { httpProxy: "http://proxy:3128" } })
      assert.strictEqual(written.detachKeys, "ctrl-e,e")
      assert.deepStrictEqual(Object.keys(written.auths).sort(), [
        "127.0.0.1:5000",
        "https://index.docker.io/v1/",
        "other.example.com"
      ])
      assert.strictEqual(written.auths["https://index.docker.io/v1/"].auth, b64("hub:new-pass"))
      assert.strictEqual(written.auths["127.0.0.1:5000"].identitytoken, "tok")
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
      assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ["config.json"])
      assert.deepStrictEqual(basicOf(yield* DockerConfig.lookup("docker.io").pipe(withEnv(s))), {
        username: "hub",
        password: "new-pass"
      })

      yield* DockerConfig.logout("index.docker.io").pipe(withEnv(s))
      const after = JSON.parse(fs.readFileSync(file, "utf8"))
      assert.deepStrictEqual(Object.keys(after.auths).sort(), ["127.0.0.1:5000", "other.example.com"])
      assert.strictEqual(after.detachKeys, "ctrl-e,e")
      assert.isTrue(Option.isNone(yield* DockerConfig.lookup("docker.io").pipe(withEnv(s))))
      // logging out again is fine
      yield* DockerConfig.logout("index.docker.io").pipe(withEnv(s))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("creates the file and directory when missing", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      s.env.set("DOCKER_CONFIG", path.join(s.dir, "new", "docker"))
      yield* DockerConfig.login("r.example.com", Credentials.basic("u", "p")).pipe(withEnv(s))
      const file = path.join(s.dir, "new", "docker", "config.json")
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), {
        auths: { "r.example.com": { auth: b64("u:p") } }
      })
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600)
      const anonymous = yield* DockerConfig.login("r.example.com", Credentials.anonymous).pipe(withEnv(s), Effect.flip)
      assert.strictEqual(anonymous.reason, "Unsupported")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("stores through the credential helper and drops a plain-text entry", () =>
    Effect.gen(function*() {
      const s = yield* sandbox
      const file = s.write("home/.docker/config.json", {
        credHelpers: { "h.example.com": "test" },
        auths: { "h.example.com": { auth: b64("old:plaintext") } }
      })
      const options = { helper: { env: s.helperEnv } }
      yield* DockerConfig.login("h.example.com", Credentials.basic("erin", "vault"), options).pipe(withEnv(s))
      assert.deepStrictEqual(s.helperStore()["h.example.com"], { Username: "erin", Secret: "vault" })
      const written = JSON.parse(fs.readFileSync(file, "utf8"))
      assert.deepStrictEqual(written.auths, {})
      assert.notInclude(fs.readFileSync(file, "utf8"), "vault")
      assert.deepStrictEqual(basicOf(yield* DockerConfig.lookup("h.example.com", options).pipe(withEnv(s))), {
        username: "erin",
        password: "vault"
      })
      yield* DockerConfig.logout("h.example.com", options).pipe(withEnv(s))
      assert.isUndefined(s.helperStore()["h.example.com"])
      assert.isTrue(Option.isNone(yield* DockerConfig.lookup("h.example.com", options).pipe(withEnv(s))))
    }).pipe(Effect.provide(NodeContext.layer)))
})
