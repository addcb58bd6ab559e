// Hostile servers: node:http (and https) test servers of ours on 127.0.0.1 that redirect blobs to another
// origin, downgrade to http, send wrong bytes, point token realms elsewhere, paginate forever, send huge
// bodies; and a grep of every output for the credentials.
import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as StreamModule from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import * as BlobFile from "../src/BlobFile.js"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"
import { selfSigned } from "./support/selfSigned.js"

const PASSWORD = "hunter2-Pa55w0rd-very-secret"
const TOKEN = "tok-ABCDEF0123456789-secret-token"
const USER = "alice"
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`

const sha256 = (bytes: Uint8Array): string => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

interface Seen {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
}

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, seen: Array<Seen>) => void

interface Server {
  readonly origin: string
  readonly seen: Array<Seen>
  readonly written: { bytes: number }
}

const listen = (handler: Handler, tls?: { key: string; cert: string }): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; result: Server }>((resume) => {
      const seen: Array<Seen> = []
      const written = { bytes: 0 }
      const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization })
        const write = res.write.bind(res)
        res.write = ((chunk: Buffer | string, ...rest: Array<never>) => {
          written.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length
          return write(chunk, ...rest)
        }) as typeof res.write
        req.resume()
        handler(req, res, seen)
      }
      const server = tls !== undefined ? Https.createServer(tls, onRequest) : Http.createServer(onRequest)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          result: { origin: `${tls !== undefined ? "https" : "http"}://127.0.0.1:${port}`, seen, written }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ result }) => result))

const json = (res: Http.ServerResponse, status: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

// A registry speaking Basic or Bearer (token at `${origin}/token` unless `realm` says otherwise).
const registryHandler = (
  options: {
    readonly auth: "basic" | "bearer" | "none"
    readonly realm?: () => string
    readonly blob?: (req: Http.IncomingMessage, res: Http.ServerResponse) => void
    readonly other?: (req: Http.IncomingMessage, res: Http.ServerResponse) => boolean
  }
): Handler =>
(req, res) => {
  const url = req.url ?? ""
  if (url.startsWith("/token")) {
    return json(res, 200, { token: TOKEN, expires_in: 300 })
  }
  const authorization = req.headers.authorization
  const ok = options.auth === "none" ||
    (options.auth === "basic" ? authorization === BASIC : authorization === `Bearer ${TOKEN}`)
  if (!ok) {
    const challenge = options.auth === "basic"
      ? `Basic realm="test"`
      : `Bearer realm="${options.realm?.() ?? `http://${req.headers.host}/token`}",service="test"`
    return json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, {
      "www-authenticate": challenge
    })
  }
  if (url === "/v2/") return json(res, 200, {})
  if (options.other?.(req, res) === true) return
  if (url.includes("/blobs/sha256:") && options.blob !== undefined) return options.blob(req, res)
  json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
}

const noRetry = Schedule.recurs(0)

const clientLayer = (
  url: string,
  credentials: Credentials.Credentials,
  extra: Partial<RegistryClient.Options> = {},
  http: NodeHttp.Options = {},
  auth: Partial<AuthService.Options> = {}
) =>
  RegistryClient.layer({ url, retrySchedule: noRetry, uploadRetrySchedule: noRetry, ...extra }).pipe(
    Layer.provide(AuthService.layer({ credentials, ...auth })),
    Layer.provide(Layer.mergeAll(
      NodeHttp.layer({ timeouts: { connect: "2 seconds", headers: "5 seconds", bodyIdle: "5 seconds" }, ...http }),
      NodeHash.layer
    ))
  )

const withClient = <A, E, LE>(
  layer: Layer.Layer<RegistryClient.RegistryClient, LE>,
  f: (client: RegistryClient.Service) => Effect.Effect<A, E>
) => Effect.flatMap(RegistryClient.RegistryClient, f).pipe(Effect.provide(layer))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

const blobBytes = new TextEncoder().encode("the blob bytes, served from elsewhere")
const blobDigest = sha256(blobBytes)

const serveBytes = (bytes: Uint8Array) => (_req: Http.IncomingMessage, res: Http.ServerResponse) => {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
  res.end(Buffer.from(bytes))
}

// A self-signed certificate for 127.0.0.1, made with openssl.
const makeCert = selfSigned("IP:127.0.0.1")

describe("redirects", () => {
  for (const scheme of ["basic", "bearer"] as const) {
    it.live(`a blob redirected to another origin gets no Authorization there (${scheme})`, () =>
      Effect.gen(function*() {
        const storage = yield* listen((req, res) => serveBytes(blobBytes)(req, res))
        const registry = yield* listen(registryHandler({
          auth: scheme,
          blob: (_req, res) => {
            res.writeHead(307, { location: `${storage.origin}/bucket/blob?sig=1` })
            res.end()
          }
        }))
        const bytes = yield* withClient(
          clientLayer(registry.origin, Credentials.basic(USER, PASSWORD)),
          (c) => collect(c.downloadBlob("app", blobDigest))
        )
        assert.deepStrictEqual(bytes, blobBytes)
        assert.isAtLeast(storage.seen.length, 1)
        for (const s of storage.seen) assert.isUndefined(s.authorization)
        // the registry itself did get the credentials
        const expected = scheme === "basic" ? BASIC : `Bearer ${TOKEN}`
        assert.isTrue(registry.seen.some((s) => s.url.includes("/blobs/") && s.authorization === expected))
      }).pipe(Effect.scoped))
  }

  it.live("a redirect from https to plain http is refused, and the http origin sees nothing", () =>
    Effect.gen(function*() {
      const cert = yield* makeCert
      const plain = yield* listen((req, res) => serveBytes(blobBytes)(req, res))
      const registry = yield* listen(
        registryHandler({
          auth: "basic",
          blob: (_req, res) => {
            res.writeHead(302, { location: `${plain.origin}/blob` })
            res.end()
          }
        }),
        cert
      )
      const exit = yield* Effect.exit(withClient(
        clientLayer(registry.origin, Credentials.basic(USER, PASSWORD), {}, { tls: { ca: cert.cert } }),
        (c) => collect(c.downloadBlob("app", blobDigest))
      ))
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "TransportError")
      if (error?._tag === "TransportError") assert.strictEqual(error.reason, "Redirect")
      assert.strictEqual(plain.seen.length, 0)
    }).pipe(Effect.scoped))

  it.live("TLS is verified by default: a certificate from an unknown CA fails with a typed error", () =>
    Effect.gen(function*() {
      const cert = yield* makeCert
      const registry = yield* listen(registryHandler({ auth: "none" }), cert)
      const exit = yield* Effect.exit(withClient(clientLayer(registry.origin, Credentials.anonymous), (c) => c.ping()))
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "TransportError")
      assert.strictEqual(registry.seen.length, 0)
    }).pipe(Effect.scoped))

  it.live("redirect loops are bounded", () =>
    Effect.gen(function*() {
      const registry = yield* listen(registryHandler({
        auth: "none",
        blob: (req, res) => {
          res.writeHead(307, { location: `${req.url}x` })
          res.end()
        }
      }))
      const exit = yield* Effect.exit(withClient(
        clientLayer(registry.origin, Credentials.anonymous, { maxRedirects: 4 }),
        (c) => collect(c.downloadBlob("app", blobDigest))
      ))
      const error = failureOf(exit)
      assert.strictEqual(error?._tag, "TransportError")
      assert.strictEqual(registry.seen.filter((s) => s.url.includes("/blobs/")).length, 5)
    }).pipe(Effect.scoped))
})

const collect = <E>(stream: StreamModule.Stream<Uint8Array, E>) =>
  Effect.map(
    StreamModule.runCollect(stream),
    (chunks) => {
      const parts = [...chunks]
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let o = 0
      for (const p of parts) {
        out.set(p, o)
        o += p.length
      }
      return out
    }
  )
describe("wrong bytes", () => {
  it.live("a server sending other bytes for a digest: DigestMismatch, no file at the target", () =>
    Effect.gen(function*() {
      const evil = new TextEncoder().encode("not the bytes you asked for!!")
      const registry = yield* listen(registryHandler({ auth: "none", blob: serveBytes(evil) }))
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const target = path.join(dir, "blob")
      const exit = yield* Effect.exit(withClient(
        clientLayer(registry.origin, Credentials.anonymous),
        (c) =>
          BlobFile.writeAtomic(target, c.downloadBlob("app", blobDigest), { digest: blobDigest as never }).pipe(
            Effect.provide(Layer.merge(NodeFileSystem.layer, NodeHash.layer))
          )
      ))
      assert.strictEqual(failureOf(exit)?._tag, "DigestMismatch")
      assert.isFalse(fs.existsSync(target))
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.scoped))
})

describe("token realms", () => {
  it.live("a plain-http realm for an https registry is refused; the realm sees nothing", () =>
    Effect.gen(function*() {
      const cert = yield* makeCert
      const tokens = yield* listen((_req, res) => json(res, 200, { token: TOKEN }))
      const registry = yield* listen(
        registryHandler({ auth: "bearer", realm: () => `${tokens.origin}/token`, blob: serveBytes(blobBytes) }),
        cert
      )
      const refused = yield* Effect.exit(withClient(
        clientLayer(registry.origin, Credentials.basic(USER, PASSWORD), {}, { tls: { ca: cert.cert } }),
        (c) => c.hasBlob("app", blobDigest)
      ))
      const error = failureOf(refused)
      assert.strictEqual(error?._tag, "Unauthorized")
      if (error?._tag === "Unauthorized") assert.strictEqual(error.reason, "InsecureRealm")
      assert.strictEqual(tokens.seen.length, 0)

      // only when allowed explicitly
      const allowed = yield* Effect.exit(withClient(
        clientLayer(registry.origin, Credentials.basic(USER, PASSWORD), {}, { tls: { ca: cert.cert } }, {
          allowInsecureRealm: true
        }),
        (c) => c.hasBlob("app", blobDigest)
      ))
      assert.isTrue(Exit.isSuccess(allowed))
      assert.isAtLeast(tokens.seen.length, 1)
    }).pipe(Effect.scoped))

  it.live("a realm on another host gets the Basic credentials; the registry only ever sees the token", () =>
    Effect.gen(function*() {
      const tokens = yield* listen((_req, res) => json(res, 200, { token: TOKEN }))
      const registry = yield* listen(
        registryHandler({ auth: "bearer", realm: () => `${tokens.origin}/token`, blob: serveBytes(blobBytes) })
      )
      const found = yield* withClient(
        clientLayer(registry.origin, Credentials.basic(USER, PASSWORD)),
        (c) => c.hasBlob("app", blobDigest)
      )
      assert.isTrue(found)
      assert.isTrue(tokens.seen.every((s) => s.authorization === BASIC))
      assert.isFalse(registry.seen.some((s) => s.authorization?.startsWith("Basic") === true))

      // anonymous credentials: nothing is sent to the realm but the request
      const anonymous = yield* withClient(
        clientLayer(registry.origin, Credentials.anonymous),
        (c) => c.hasBlob("app", blobDigest)
      )
      assert.isTrue(anonymous)
      assert.isUndefined(tokens.seen[tokens.seen.length - 1].authorization)
    }).pipe(Effect.scoped))
})

describe("bounded work", () => {
  it.live("an endless Link pagination loop stops at maxPages; a repeated link at once", () =>
    Effect.gen(function*() {
      const registry = yield* listen(registryHandler({
        auth: "none",
        other: (req, res) => {
          const url = new URL(req.url ?? "/", "http://x")
          if (url.pathname !== "/v2/_catalog") return false
          const page = Number(url.searchParams.get("last") ?? "0")
          const next = url.searchParams.get("same") !== null ? req.url : `/v2/_catalog?last=${page + 1}`
          json(res, 200, { repositories: [`r${page}`] }, { link: `<${next}>; rel="next"` })
          return true
        }
      }))
      const layer = clientLayer(registry.origin, Credentials.anonymous, { maxPages: 50 })
      const endless = failureOf(yield* Effect.exit(withClient(layer, (c) => c.repositories())))
      assert.strictEqual(endless?._tag, "UnexpectedResponse")
      if (endless?._tag === "UnexpectedResponse") assert.strictEqual(endless.reason, "Pagination")
      assert.strictEqual(registry.seen.filter((s) => s.url.startsWith("/v2/_catalog")).length, 50)

      const repeated = failureOf(
        yield* Effect.exit(withClient(layer, (c) => c.repositoriesStream().pipe(StreamModule.runCollect)))
      )
      assert.strictEqual(repeated?._tag, "UnexpectedResponse")
    }).pipe(Effect.scoped))

  it.live("a manifest announced at 1 GiB is refused before its body is read", () =>
    Effect.gen(function*() {
      const registry = yield* listen(registryHandler({
        auth: "none",
        other: (req, res) => {
          if (!(req.url ?? "").includes("/manifests/")) return false
          res.writeHead(200, {
            "content-type": "application/vnd.oci.image.manifest.v1+json",
            "content-length": String(1024 * 1024 * 1024)
          })
          const piece = Buffer.alloc(1024 * 1024, 0x20)
          // writes with backpressure until the client goes away
          let sent = 0
          const pump = () => {
            while (sent < 1024 && !res.destroyed) {
              sent++
              if (!res.write(piece)) return void res.once("drain", pump)
            }
            res.end()
          }
          pump()
          return true
        }
      }))
      const started = Date.now()
      const error = failureOf(
        yield* Effect.exit(withClient(
          clientLayer(registry.origin, Credentials.anonymous),
          (c) => c.getManifest("app", "v1")
        ))
      )
      assert.strictEqual(error?._tag, "ManifestInvalid")
      if (error?._tag === "ManifestInvalid") assert.strictEqual(error.reason, "TooLarge")
      assert.isBelow(Date.now() - started, 10_000)
      yield* Effect.sleep("200 millis")
      // socket buffers hold some; nothing near the announced size was sent
      assert.isBelow(registry.written.bytes, 64 * 1024 * 1024)
    }).pipe(Effect.scoped))

  it.live("manifests without a length and error bodies of many MiB are read only up to a limit; a 50 MiB token answer is a typed failure", () =>
    Effect.gen(function*() {
      const endless = (contentType: string, status: number) => (res: Http.ServerResponse) => {
        res.writeHead(status, { "content-type": contentType })
        const piece = Buffer.alloc(256 * 1024, 0x5b) // "[": 50 MiB in all
        let sent = 0
        const pump = () => {
          while (sent < 200 && !res.destroyed) {
            sent++
            if (!res.write(piece)) return void res.once("drain", pump)
          }
          res.end()
        }
        pump()
      }
      const registry = yield* listen(registryHandler({
        auth: "none",
        other: (req, res) => {
          const url = req.url ?? ""
          if (url.includes("/manifests/")) endless("application/vnd.oci.image.manifest.v1+json", 200)(res)
          else if (url.includes("/tags/list")) endless("application/json", 500)(res)
          else return false
          return true
        }
      }))
      const layer = clientLayer(registry.origin, Credentials.anonymous)
      const manifest = failureOf(yield* Effect.exit(withClient(layer, (c) => c.getManifest("app", "v1"))))
      assert.strictEqual(manifest?._tag, "ManifestInvalid")
      const tags = failureOf(yield* Effect.exit(withClient(layer, (c) => c.tags("app"))))
      assert.strictEqual(tags?._tag, "RegistryUnavailable")
      assert.isBelow(String(tags?.message).length, 2_000)

      const tokens = yield* listen((_req, res) => endless("application/json", 200)(res))
      const bearer = yield* listen(registryHandler({ auth: "bearer", realm: () => `${tokens.origin}/token` }))
      const token = failureOf(
        yield* Effect.exit(withClient(
          clientLayer(bearer.origin, Credentials.basic(USER, PASSWORD)),
          (c) => c.tags("app")
        ))
      )
      assert.isDefined(token)
      assert.include(["Unauthorized", "UnexpectedResponse", "TransportError"], token?._tag)
      assert.isBelow(String(token?.message).length, 2_000)
      yield* Effect.sleep("200 millis")
      // the manifest and the error body were read up to their limits (4 MiB, 64 KiB) plus socket buffers
      assert.isBelow(registry.written.bytes, 2 * 16 * 1024 * 1024)
    }).pipe(Effect.scoped))
})

describe("credentials never leak", () => {
  it.live("error messages, String/JSON of errors, Debug logs and span attributes hold neither password nor token", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const spans: Array<Tracer.Span> = []
      const native = yield* Effect.tracer
      const recording = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span)
          return span
        },
        context: (f, fiber) => native.context(f, fiber)
      })
      const logger = Logger.make(({ annotations, logLevel, message, spans: logSpans }) => {
        logs.push(
          `${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify([...annotations])} ${String(logSpans)}`
        )
      })
      const cert = yield* makeCert
      const tokens = yield* listen((_req, res) => json(res, 200, { token: TOKEN }))
      const bearer = yield* listen(registryHandler({
        auth: "bearer",
        realm: () => `${tokens.origin}/token`,
        blob: serveBytes(new TextEncoder().encode("wrong"))
      }))
      const basic = yield* listen(registryHandler({
        auth: "basic",
        blob: (_req, res) => {
          res.writeHead(307, { location: "http://127.0.0.1:1/nowhere" })
          res.end()
        }
      }))
      const tlsRegistry = yield* listen(
        registryHandler({ auth: "bearer", realm: () => `${tokens.origin}/token` }),
        cert
      )
      const wrongPassword = yield* listen((_req, res) =>
        json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "no" }] }, { "www-authenticate": "Basic realm=x" })
      )

      const errors: Array<unknown> = []
      const attempt = <A, E, LE>(
        layer: Layer.Layer<RegistryClient.RegistryClient, LE>,
        f: (c: RegistryClient.Service) => Effect.Effect<A, E>
      ) =>
        Effect.exit(withClient(layer, f)).pipe(Effect.tap((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit)) errors.push(exit.cause._tag === "Fail" ? exit.cause.error : exit.cause)
          })
        ))
      const creds = Credentials.basic(USER, PASSWORD)
      yield* Effect.gen(function*() {
        yield* Effect.logDebug("starting the credential leak checks")
        yield* attempt(clientLayer(bearer.origin, creds), (c) => collect(c.downloadBlob("app", blobDigest)))
        yield* attempt(clientLayer(bearer.origin, creds), (c) => c.getManifest("app", "v1"))
        yield* attempt(clientLayer(basic.origin, creds), (c) => collect(c.downloadBlob("app", blobDigest)))
        yield* attempt(clientLayer(basic.origin, creds), (c) => c.tags("app"))
        yield* attempt(clientLayer(tlsRegistry.origin, creds, {}, { tls: { ca: cert.cert } }), (c) => c.tags("app"))
        yield* attempt(clientLayer(wrongPassword.origin, creds), (c) => c.tags("app"))
        yield* attempt(clientLayer(bearer.origin, Credentials.bearer(TOKEN)), (c) => c.tags("nope"))
      }).pipe(
        Effect.withTracer(recording),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )

      assert.isAtLeast(errors.length, 5)
      assert.isAtLeast(spans.length, 5)
      assert.isAtLeast(logs.length, 1)
      const outputs: Array<string> = [...logs]
      for (const error of errors) {
        outputs.push(String(error), JSON.stringify(error))
        if (error instanceof Error) outputs.push(error.message, error.stack ?? "")
      }
      for (const span of spans) {
        outputs.push(span.name, JSON.stringify([...span.attributes]))
        for (const [, value] of span.attributes) outputs.push(String(value))
      }
      const all = outputs.join("\n")
      const encodedBasic = Buffer.from(`${USER}:${PASSWORD}`).toString("base64")
      for (const secret of [PASSWORD, TOKEN, encodedBasic]) {
        assert.notInclude(all, secret)
      }
    }).pipe(Effect.scoped))
})
