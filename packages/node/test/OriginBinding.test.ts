// Credentials stay with their registry (issue 15, part 1), through the whole client on loopback servers of
// ours: two servers on 127.0.0.1 are two origins. Each test asserts what the other origin received (nothing,
// or nothing secret) and, after an https start, that every request the client made was https.
import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Credentials from "@effect-registry/core/Credentials"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { selfSignedCertificate } from "./support/selfSigned.js"

const USER = "alice"
const PASSWORD = "origin-binding-Pa55w0rd"
const IDENTITY = "origin-binding-identity-t0ken"
const STATIC = "origin-binding-static-t0ken"
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`
const GRANTED = "granted-token-for-the-registry"
const SECRETS = [PASSWORD, IDENTITY, STATIC, GRANTED, BASIC.slice(6)]

interface Received {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
  readonly body: string
}

interface Origin {
  readonly url: string
  readonly received: Array<Received>
}

type Answer = (req: Http.IncomingMessage, res: Http.ServerResponse, body: string) => void

// One origin: a server on 127.0.0.1 that records each request (headers and body) before answering it.
const origin = (answer: Answer, tls?: { readonly key: string; readonly cert: string }) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly origin: Origin }>((resume) => {
      const received: Array<Received> = []
      const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("latin1")
          received.push({
            method: req.method ?? "",
            url: req.url ?? "",
            authorization: req.headers.authorization,
            body
          })
          answer(req, res, body)
        })
      }
      const server = tls === undefined ? Http.createServer(onRequest) : Https.createServer(tls, onRequest)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          origin: { url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`, received }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ origin }) => origin))

const reply = (res: Http.ServerResponse, status: number, headers: Http.OutgoingHttpHeaders = {}, body = "{}") => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers })
  res.end(body)
}

// Another origin that asks for credentials: Basic, or Bearer with its own realm; it would take anything.
const greedy = (scheme: "basic" | "bearer"): Answer => (req, res) => {
  if ((req.url ?? "").startsWith("/token")) return reply(res, 200, {}, JSON.stringify({ token: "other-token" }))
  if (req.headers.authorization === undefined) {
    const challenge = scheme === "basic"
      ? `Basic realm="other"`
      : `Bearer realm="http://${req.headers.host}/token",service="other"`
    return reply(res, 401, { "www-authenticate": challenge })
  }
  reply(res, 202, { location: req.url ?? "/", range: "0-0" })
}

// A registry that wants Basic (or a Bearer token from `realm`), handing the rest to `routes`.
const registry = (
  auth: "basic" | "bearer",
  routes: (req: Http.IncomingMessage, res: Http.ServerResponse) => boolean,
  realm?: () => string,
  token: string = GRANTED
): Answer =>
(req, res) => {
  const url = req.url ?? ""
  if (url.startsWith("/token")) return reply(res, 200, {}, JSON.stringify({ token: GRANTED, expires_in: 300 }))
  const ok = req.headers.authorization === (auth === "basic" ? BASIC : `Bearer ${token}`)
  if (!ok) {
    const challenge = auth === "basic"
      ? `Basic realm="registry"`
      : `Bearer realm="${realm?.() ?? `http://${req.headers.host}/token`}",service="r"`
    return reply(res, 401, { "www-authenticate": challenge })
  }
  if (url === "/v2/") return reply(res, 200)
  if (routes(req, res)) return
  reply(res, 404, {}, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] }))
}

// A self-signed certificate for 127.0.0.1 (both https origins of a test use it).
const certificate = selfSignedCertificate

// Every URL the client asked for, token requests included (the HttpClient itself is wrapped).
const recordingHttp = (urls: Array<string>, http: NodeHttp.Options) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) => Effect.sync(() => void urls.push(request.url))))
  ).pipe(Layer.provide(NodeHttp.layer({ timeouts: { connect: "2 seconds", headers: "5 seconds" }, ...http })))

const noRetry = Schedule.recurs(0)

const client = (
  url: string,
  credentials: Credentials.Credentials,
  options: { readonly urls?: Array<string>; readonly http?: NodeHttp.Options } = {}
) =>
  RegistryClient.layer({ url, retrySchedule: noRetry, uploadRetrySchedule: noRetry }).pipe(
    Layer.provide(AuthService.layer({ credentials })),
    Layer.provide(Layer.mergeAll(recordingHttp(options.urls ?? [], options.http ?? {}), NodeHash.layer))
  )

const run = <A, E, LE>(
  layer: Layer.Layer<RegistryClient.RegistryClient, LE>,
  f: (client: RegistryClient.Service) => Effect.Effect<A, E>
) => Effect.exit(Effect.flatMap(RegistryClient.RegistryClient, f).pipe(Effect.provide(layer)))

const failure = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

const assertRefused = <A, E>(exit: Exit.Exit<A, E>, tag: string, reason: string) => {
  const error = failure(exit) as { readonly _tag?: string; readonly reason?: string; readonly message?: string }
  assert.strictEqual(error?._tag, tag)
  assert.strictEqual(error?.reason, reason)
  for (const secret of SECRETS) assert.notInclude(String(error?.message), secret)
}

const assertNothingSecret = (received: ReadonlyArray<Received>) => {
  for (const r of received) {
    assert.isUndefined(r.authorization, `${r.method} ${r.url}`)
    for (const secret of SECRETS) {
      assert.notInclude(r.body, secret)
      assert.notInclude(r.url, secret)
    }
  }
}

const bytes = new TextEncoder().encode("blob bytes for the origin binding tests")
const digest = `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

// Tags of `app` whose next page is said to be on `other`.
const tagsLinkingTo = (other: Origin) => (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  if (!(req.url ?? "").startsWith("/v2/app/tags/list")) return false
  reply(res, 200, { link: `<${other.url}/v2/app/tags/list?last=a>; rel="next"` }, `{"tags":["a"]}`)
  return true
}

describe("Link on another origin", () => {
  it.live("a tags page whose next Link points at another origin answering 401 Basic: refused, it gets nothing", () =>
    Effect.gen(function*() {
      const other = yield* origin(greedy("basic"))
      const reg = yield* origin(registry("basic", tagsLinkingTo(other)))
      const exit = yield* run(client(reg.url, Credentials.basic(USER, PASSWORD)), (c) => c.tags("app"))
      assertRefused(exit, "UnexpectedResponse", "ForeignOrigin")
      assert.strictEqual(other.received.length, 0)
      // the registry itself did get the credentials
      assert.isTrue(reg.received.some((r) => r.url.startsWith("/v2/app/tags") && r.authorization === BASIC))
    }).pipe(Effect.scoped))
})

describe("upload Location on another origin", () => {
  it.live("a POST answered with a Location elsewhere: refused; no PATCH, PUT or DELETE reaches the other origin", () =>
    Effect.gen(function*() {
      const other = yield* origin(greedy("basic"))
      const reg = yield* origin(registry("basic", (req, res) => {
        const url = req.url ?? ""
        if (req.method === "HEAD" && url.includes("/blobs/")) return reply(res, 404), true
        if (req.method === "POST" && url.startsWith("/v2/app/blobs/uploads/")) {
          return reply(res, 202, { location: `${other.url}/v2/app/blobs/uploads/s1` }), true
        }
        return false
      }))
      const exit = yield* run(
        client(reg.url, Credentials.basic(USER, PASSWORD)),
        (c) => c.uploadBlob("app", digest, BlobSource.fromBytes(bytes))
      )
      assertRefused(exit, "UnexpectedResponse", "ForeignOrigin")
      assert.strictEqual(other.received.length, 0)
    }).pipe(Effect.scoped))

  it.live("a PATCH answered with a Location elsewhere: refused; the clean-up DELETE goes to the registry", () =>
    Effect.gen(function*() {
      const other = yield* origin(greedy("basic"))
      const reg = yield* origin(registry("basic", (req, res) => {
        const url = req.url ?? ""
        if (req.method === "HEAD" && url.includes("/blobs/")) return reply(res, 404), true
        if (req.method === "POST") return reply(res, 202, { location: "/v2/app/blobs/uploads/s1" }), true
        if (req.method === "PATCH") {
          return reply(res, 202, { location: `${other.url}/v2/app/blobs/uploads/s2`, range: "0-9" }), true
        }
        if (req.method === "DELETE") return reply(res, 204), true
        return false
      }))
      const exit = yield* run(
        client(reg.url, Credentials.basic(USER, PASSWORD)),
        (c) =>
          c.uploadBlob(
            "app",
            digest,
            BlobSource.oneShot(Stream.make(bytes.subarray(0, 10), bytes.subarray(10))),
            { chunkSize: 10 }
          )
      )
      assertRefused(exit, "UnexpectedResponse", "ForeignOrigin")
      assert.strictEqual(other.received.length, 0)
      assert.isTrue(reg.received.some((r) => r.method === "DELETE" && r.url === "/v2/app/blobs/uploads/s1"))
    }).pipe(Effect.scoped))

  it.live("cancelUpload and uploadStatus with a Location on another origin send nothing there", () =>
    Effect.gen(function*() {
      const other = yield* origin(greedy("basic"))
      const reg = yield* origin(registry("basic", () => false))
      const layer = client(reg.url, Credentials.basic(USER, PASSWORD))
      const location = `${other.url}/v2/app/blobs/uploads/s1`
      assertRefused(yield* run(layer, (c) => c.cancelUpload(location)), "UnexpectedResponse", "ForeignOrigin")
      assertRefused(yield* run(layer, (c) => c.uploadStatus(location)), "UnexpectedResponse", "ForeignOrigin")
      assert.strictEqual(other.received.length, 0)
    }).pipe(Effect.scoped))
})

describe("another origin asking for a token", () => {
  const kinds = [
    ["Basic credentials", Credentials.basic(USER, PASSWORD)],
    ["an identity token", Credentials.identityToken(IDENTITY, USER)],
    ["a static registry token", Credentials.bearer(STATIC)]
  ] as const
  for (const [kind, credentials] of kinds) {
    it.live(`a blob redirect to an origin whose Bearer realm is its own: it never sees ${kind}`, () =>
      Effect.gen(function*() {
        const other = yield* origin(greedy("bearer"))
        const reg = yield* origin(registry(
          credentials._tag === "Basic" ? "basic" : "bearer",
          (req, res) => {
            if (!(req.url ?? "").includes("/blobs/")) return false
            reply(res, 307, { location: `${other.url}/v2/app/blobs/${digest}` })
            return true
          },
          () => `${tokenServer.url}/token`,
          credentials._tag === "Bearer" ? STATIC : GRANTED
        ))
        // the registry's own token server, on a third origin: grants whatever it is asked
        const tokenServer = yield* origin((_req, res) =>
          reply(res, 200, {}, JSON.stringify({ token: GRANTED, expires_in: 300 }))
        )
        const exit = yield* run(client(reg.url, credentials), (c) => Stream.runDrain(c.downloadBlob("app", digest)))
        // the other origin's 401 is not answered with anything: a typed Unauthorized
        assert.strictEqual(failure(exit)?._tag, "Unauthorized")
        assert.isAtLeast(other.received.length, 1)
        assert.isTrue(other.received.every((r) => !r.url.startsWith("/token")))
        assertNothingSecret(other.received)
        // while the registry got the credentials (or the token they bought)
        const expected = credentials._tag === "Basic"
          ? BASIC
          : `Bearer ${credentials._tag === "Bearer" ? STATIC : GRANTED}`
        assert.isTrue(reg.received.some((r) => r.url.includes("/blobs/") && r.authorization === expected))
      }).pipe(Effect.scoped))
  }
})

describe("https is never continued over http", () => {
  it.live("an https registry's Link, upload Location and token realm on http are refused; only https is used", () =>
    Effect.gen(function*() {
      const cert = yield* certificate
      const plain = yield* origin(greedy("basic"))
      let realm = `${plain.url}/token`
      const reg = yield* origin(
        registry("basic", (req, res) => {
          const url = req.url ?? ""
          if (url.startsWith("/v2/app/tags/list")) {
            return reply(res, 200, { link: `<${plain.url}/v2/app/tags/list?last=a>; rel="next"` }, `{"tags":["a"]}`),
              true
          }
          if (req.method === "HEAD" && url.includes("/blobs/")) return reply(res, 404), true
          if (req.method === "POST") {
            return reply(res, 202, { location: `${plain.url}/v2/app/blobs/uploads/s1` }), true
          }
          if (url.startsWith("/v2/bearer/")) {
            return reply(res, 401, { "www-authenticate": `Bearer realm="${realm}",service="r"` }), true
          }
          return false
        }),
        cert
      )
      const urls: Array<string> = []
      const layer = client(reg.url, Credentials.basic(USER, PASSWORD), { urls, http: { tls: { ca: cert.cert } } })
      assertRefused(yield* run(layer, (c) => c.tags("app")), "UnexpectedResponse", "ForeignOrigin")
      assertRefused(
        yield* run(layer, (c) => c.uploadBlob("app", digest, BlobSource.fromBytes(bytes))),
        "UnexpectedResponse",
        "ForeignOrigin"
      )
      assertRefused(yield* run(layer, (c) => c.tags("bearer/app")), "Unauthorized", "InsecureRealm")
      realm = `http://127.0.0.1:${new URL(reg.url).port}/token`
      assertRefused(yield* run(layer, (c) => c.tags("bearer/app")), "Unauthorized", "InsecureRealm")
      assert.strictEqual(plain.received.length, 0)
      assert.isAtLeast(urls.length, 6)
      for (const url of urls) assert.isTrue(url.startsWith("https://"), url)
    }).pipe(Effect.scoped))

  it.live("a blob redirect to a CDN on another https origin still works, with no Authorization there", () =>
    Effect.gen(function*() {
      const cert = yield* certificate
      const cdn = yield* origin((_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
        res.end(Buffer.from(bytes))
      }, cert)
      const reg = yield* origin(
        registry("basic", (req, res) => {
          if (!(req.url ?? "").includes("/blobs/")) return false
          reply(res, 307, { location: `${cdn.url}/bucket/blob?signature=abc` })
          return true
        }),
        cert
      )
      const urls: Array<string> = []
      const layer = client(reg.url, Credentials.basic(USER, PASSWORD), { urls, http: { tls: { ca: cert.cert } } })
      const exit = yield* run(layer, (c) => BlobSource.collectBytes(c.downloadBlob("app", digest)))
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.deepStrictEqual(exit.value, bytes)
      assert.strictEqual(cdn.received.length, 1)
      assertNothingSecret(cdn.received)
      assert.isTrue(reg.received.some((r) => r.url.includes("/blobs/") && r.authorization === BASIC))
      for (const url of urls) assert.isTrue(url.startsWith("https://"), url)
    }).pipe(Effect.scoped))
})

describe("NodeRegistry.layer binds its credentials to its url", () => {
  it.live("username and password go to the registry only; a Link to another origin is refused", () =>
    Effect.gen(function*() {
      const other = yield* origin(greedy("basic"))
      const reg = yield* origin(registry("basic", tagsLinkingTo(other)))
      const layer = NodeRegistry.layer({
        url: reg.url,
        username: USER,
        password: PASSWORD,
        client: { retrySchedule: noRetry }
      })
      const exit = yield* Effect.exit(
        Effect.flatMap(RegistryClient.RegistryClient, (c) => c.tags("app")).pipe(Effect.provide(layer))
      )
      assertRefused(exit, "UnexpectedResponse", "ForeignOrigin")
      assert.strictEqual(other.received.length, 0)
    }).pipe(Effect.scoped))
})
