import { Cli } from "@effect-registry/cli"
import * as MediaType from "@effect-registry/core/MediaType"
import { HostileServer } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// What the CLI takes from a hostile registry: a config blob that does not end, names and messages with escape
// sequences.

const { flood, json } = HostileServer
const listen = HostileServer.serve
type Handler = HostileServer.Handler

const ESC = "\u001b"
const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const runCli = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "bounds-cli-"))
    const io = yield* Cli.memoryIo({})
    const code = yield* Cli.run([...args, "--plain-http"]).pipe(
      Effect.provide(io.layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DOCKER_CONFIG", home], ["HOME", home]]))),
      Effect.ensuring(Effect.sync(() => fs.rmSync(home, { recursive: true, force: true })))
    )
    return { code, stdout: yield* io.stdout, stderr: yield* io.stderr }
  })

// --- a config blob far larger than its descriptor --------------------------------------------------------------

const configBytes = "{}"
const config = { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length }

const imageRegistry =
  (configDescriptor: { mediaType: string; digest: string; size: number }): Handler => (req, res, server) => {
    const url = req.url ?? ""
    if (url === "/v2/") return json(res, 200, {})
    if (url.startsWith("/v2/app/manifests/")) {
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: configDescriptor,
        layers: []
      })
      res.writeHead(200, { "content-type": MediaType.OciManifest, "docker-content-digest": sha256(manifest) })
      return void res.end(manifest)
    }
    // the blob: 600 MiB of zeroes for a descriptor of 2 bytes
    if (url.startsWith("/v2/app/blobs/")) {
      res.writeHead(200, { "content-type": "application/octet-stream" })
      return flood(res, server, 600 * 1024 * 1024)
    }
    json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
  }

describe("a config blob that does not end", () => {
  it.live(
    "CLI config stops at the descriptor's size: the registry gets to send only a little of its 600 MiB",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(imageRegistry(config))
        const before = process.memoryUsage().arrayBuffers
        const ran = yield* runCli(["config", `${server.host}/app:latest`])
        const grown = process.memoryUsage().arrayBuffers - before
        assert.notStrictEqual(ran.code, 0)
        assert.include(ran.stderr, "Size mismatch: expected 2 byte")
        // reading stopped at 2 bytes: what the server wrote is socket buffers, not 600 MiB
        assert.isBelow(server.written.bytes, 32 * 1024 * 1024, `the server wrote ${server.written.bytes} bytes`)
        assert.isBelow(grown, 64 * 1024 * 1024, `array buffers grew by ${grown} bytes`)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "CLI sign (converting REF's image) reads the config the same bounded way",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(imageRegistry(config))
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bounds-key-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const keyFile = path.join(dir, "key.pem")
        const { privateKey } = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
        fs.writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }))
        const ran = yield* runCli(["sign", `${server.host}/app:latest`, "--key", keyFile, "--dry-run"])
        assert.notStrictEqual(ran.code, 0, ran.stdout)
        assert.include(ran.stderr, "Size mismatch: expected 2 byte")
        assert.isBelow(server.written.bytes, 32 * 1024 * 1024)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a config descriptor over the manifest limit is refused before any blob request",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(imageRegistry({ ...config, size: 600 * 1024 * 1024 }))
        const ran = yield* runCli(["config", `${server.host}/app:latest`])
        assert.notStrictEqual(ran.code, 0)
        assert.include(ran.stderr, "the limit is")
        assert.isFalse(server.requests.some((r) => r.includes("/blobs/")), server.requests.join("\n"))
      })),
    { timeout: 30_000 }
  )
})

// --- what a hostile registry says never reaches the terminal raw --------------------------------------------------

describe("escape sequences from a registry", () => {
  it.live(
    "tags and registry error messages are printed without control characters",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen((req, res) => {
          const url = req.url ?? ""
          if (url === "/v2/") return json(res, 200, {})
          if (url.startsWith("/v2/app/tags/list")) {
            return json(res, 200, { name: "app", tags: ["ok", `evil${ESC}[2J${ESC}]0;pwned\u0007`, "\u009b31mred"] })
          }
          json(res, 404, {
            errors: [{ code: "NAME_UNKNOWN", message: `${ESC}[31mno such repository${ESC}[0m ${"x".repeat(50_000)}` }]
          })
        })
        const tags = yield* runCli(["tags", `${server.host}/app`])
        assert.strictEqual(tags.code, 0, tags.stderr)
        assert.include(tags.stdout, "ok")
        assert.include(tags.stdout, "evil")
        assert.notMatch(tags.stdout, /[\u001b\u0007\u009b]/)
        const missing = yield* runCli(["tags", `${server.host}/other`])
        assert.notStrictEqual(missing.code, 0)
        assert.include(missing.stderr, "no such repository")
        assert.notMatch(missing.stderr, /[\u001b\u0007\u009b]/)
        assert.isBelow(missing.stderr.length, 8 * 1024)
      })),
    { timeout: 30_000 }
  )
})
