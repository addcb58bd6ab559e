// Bounded work against hostile registries (issue 15, items 4 and 6): node:http servers of ours on 127.0.0.1
// that stream far more config bytes than the descriptor says, trickle bodies a byte at a time, list more
// tags than asked for, and put escape sequences in tags and error messages. Every test is bounded in time.
import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as MediaType from "@effect-registry/core/MediaType"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as Http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"

const ESC = "\u001b"
const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

interface Server {
  readonly origin: string
  readonly host: string
  readonly requests: Array<string>
  readonly written: { bytes: number }
}

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, server: Server) => void

const listen = (handler: Handler): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly http: Http.Server; readonly server: Server }>((resume) => {
      const requests: Array<string> = []
      const written = { bytes: 0 }
      let self: Server | undefined
      const http = Http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`)
        req.resume()
        if (self !== undefined) handler(req, res, self)
      })
      http.listen(0, "127.0.0.1", () => {
        const address = http.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        self = { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, requests, written }
        resume(Effect.succeed({ http, server: self }))
      })
    }),
    ({ http }) =>
      Effect.async<void>((resume) => {
        http.closeAllConnections()
        http.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ server }) => server))

const json = (res: Http.ServerResponse, status: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Writes `text` one byte every `everyMs`, for at most `maxMs` (then ends the answer). */
const trickle = (res: Http.ServerResponse, text: string, everyMs: number, maxMs: number) => {
  let i = 0
  const started = Date.now()
  const timer = setInterval(() => {
    if (res.destroyed || i >= text.length || Date.now() - started > maxMs) {
      clearInterval(timer)
      res.end()
      return
    }
    res.write(text[i++])
  }, everyMs)
  res.on("close", () => clearInterval(timer))
}

/** Streams zero bytes until the client stops reading (respecting backpressure), at most `max` bytes. */
const flood = (res: Http.ServerResponse, server: Server, max: number) => {
  const chunk = Buffer.alloc(64 * 1024)
  const pump = () => {
    while (!res.destroyed && server.written.bytes < max) {
      server.written.bytes += chunk.length
      if (!res.write(chunk)) return void res.once("drain", pump)
    }
    res.end()
  }
  res.on("error", () => undefined)
  pump()
}

const clientLayer = (url: string, extra: Partial<RegistryClient.Options> = {}) =>
  RegistryClient.layer({ url, retrySchedule: Schedule.recurs(0), uploadRetrySchedule: Schedule.recurs(0), ...extra })
    .pipe(
      Layer.provide(AuthService.layer({ credentials: Credentials.anonymous })),
      Layer.provide(Layer.mergeAll(
        NodeHttp.layer({ timeouts: { connect: "2 seconds", headers: "5 seconds", bodyIdle: "5 seconds" } }),
        NodeHash.layer
      ))
    )

const withClient = <A, E>(
  url: string,
  f: (client: RegistryClient.Service) => Effect.Effect<A, E>,
  extra: Partial<RegistryClient.Options> = {}
) => Effect.flatMap(RegistryClient.RegistryClient, f).pipe(Effect.provide(clientLayer(url, extra)))

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : String(exit.cause)}`)
}

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
        assert.include(ran.stderr, "more bytes than the descriptor says")
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
        assert.include(ran.stderr, "more bytes than the descriptor says")
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

// --- bodies that trickle -------------------------------------------------------------------------------------------

describe("bodies that trickle one byte at a time", () => {
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [] })
  const trickling: Handler = (req, res) => {
    const url = req.url ?? ""
    if (url === "/v2/") return json(res, 200, {})
    if (url.startsWith("/v2/other/")) {
      res.writeHead(404, { "content-type": "application/json" })
      return trickle(res, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "x".repeat(200) }] }), 100, 20_000)
    }
    if (url.includes("/manifests/")) {
      res.writeHead(200, { "content-type": MediaType.OciManifest })
      return trickle(res, manifest, 100, 20_000)
    }
    if (url.includes("/tags/list")) {
      res.writeHead(200, { "content-type": "application/json" })
      return trickle(res, JSON.stringify({ name: "app", tags: ["a", "b", "c"] }), 100, 20_000)
    }
    json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
  }

  it.live(
    "getManifest, tags and an error body fail with a Timeout once bodyTimeout has passed",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(trickling)
        // each byte arrives well within the idle timeout (5 s): only the total deadline can stop these
        const options = { bodyTimeout: "1 second" } as const
        const runs: ReadonlyArray<(c: RegistryClient.Service) => Effect.Effect<unknown, RegistryError.RegistryError>> =
          [
            (c) => c.getManifest("app", "latest"),
            (c) => c.tags("app")
          ]
        for (const run of runs) {
          const start = Date.now()
          const error = failure(yield* Effect.exit(withClient(server.origin, run, options)))
          const elapsed = Date.now() - start
          assert.isBelow(elapsed, 8_000, `took ${elapsed} ms`)
          assert.strictEqual(error._tag, "TransportError", error.message)
          if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
        }
        // an error body that trickles: read until the deadline, then the answer is mapped without it
        const start = Date.now()
        const error = failure(yield* Effect.exit(withClient(server.origin, (c) => c.tags("other"), options)))
        assert.isBelow(Date.now() - start, 8_000)
        assert.notStrictEqual(error._tag, "NameUnknown", "the body that never arrived was not read")
      })),
    { timeout: 60_000 }
  )
})

// --- listings longer than asked for ---------------------------------------------------------------------------------

describe("tags and repositories hold at most maxItems names", () => {
  const pages = 50
  const perPage = 10
  const listing: Handler = (req, res, server) => {
    const url = new URL(req.url ?? "/", server.origin)
    if (url.pathname === "/v2/") return json(res, 200, {})
    const page = Number(url.searchParams.get("page") ?? "0")
    const names = Array.from({ length: perPage }, (_, i) => `n${page * perPage + i}`)
    const next = page + 1 < pages ? { link: `<${url.pathname}?page=${page + 1}>; rel="next"` } : {}
    if (url.pathname === "/v2/app/tags/list") return json(res, 200, { name: "app", tags: names }, next)
    if (url.pathname === "/v2/_catalog") return json(res, 200, { repositories: names }, next)
    json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
  }

  it.live(
    "over maxItems: UnexpectedResponse (TooLarge) naming the Stream variant, and no page more than needed",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(listing)
        const tags = failure(yield* Effect.exit(withClient(server.origin, (c) => c.tags("app", { maxItems: 25 }))))
        assert.strictEqual(tags._tag, "UnexpectedResponse")
        if (tags._tag === "UnexpectedResponse") assert.strictEqual(tags.reason, "TooLarge")
        assert.include(tags.message, "tagsStream")
        assert.isAtMost(server.requests.filter((r) => r.includes("/tags/list")).length, 3)
        const repos = failure(yield* Effect.exit(withClient(server.origin, (c) => c.repositories({ maxItems: 5 }))))
        assert.include(repos.message, "repositoriesStream")
        // within the bound, and through the stream, everything
        const some = yield* withClient(server.origin, (c) => c.tags("app", { maxItems: pages * perPage }))
        assert.strictEqual(some.length, pages * perPage)
        const streamed = yield* withClient(server.origin, (c) => Stream.runCount(c.tagsStream("app")))
        assert.strictEqual(streamed, pages * perPage)
      })),
    { timeout: 60_000 }
  )
})

// --- uploadBlob with a size no upload can have ------------------------------------------------------------------------

describe("uploadBlob refuses a bad size locally", () => {
  it.live(
    "negative, fractional, NaN sizes and a zero chunk size: BlobUploadInvalid, no upload request",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen((req, res) => {
          if (req.url === "/v2/") return json(res, 200, {})
          json(res, 500, { errors: [{ code: "UNKNOWN", message: "should not be reached" }] })
        })
        const bytes = new TextEncoder().encode("hello")
        const digest = sha256(bytes)
        for (const options of [{ size: -1 }, { size: 1.5 }, { size: Number.NaN }, { chunkSize: 0 }]) {
          const exit = yield* Effect.exit(
            withClient(server.origin, (c) => c.uploadBlob("app", digest, Stream.make(bytes), options))
          )
          const error = failure(exit)
          assert.strictEqual(error._tag, "BlobUploadInvalid", String(error))
        }
        assert.deepStrictEqual(server.requests.filter((r) => !r.endsWith(" /v2/")), [])
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
