import { NodeHttp } from "@effect-registry/node"
import * as NodeHttpUndici from "@effect-registry/node/NodeHttpUndici"
import * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import * as Body from "../src/internal/bodyStream.js"

interface Pki {
  readonly dir: string
  readonly caPath: string
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
}

const openssl = (cwd: string, ...args: Array<string>) =>
  execFileSync("openssl", args, { cwd, stdio: "pipe", timeout: 30_000 })

const makePki = (): Pki => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodehttp-pki-"))
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  openssl(dir, "req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca")
  fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
  fs.writeFileSync(path.join(dir, "client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
  for (const name of ["server", "client"]) {
    openssl(dir, "req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`)
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`
    )
  }
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8")
  return {
    dir,
    caPath: path.join(dir, "ca.pem"),
    ca: read("ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key")
  }
}

const listen = (server: https.Server): Promise<string> =>
  new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })

const close = (server: https.Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

let pki: Pki
let okServer: https.Server
let okHost: string
let silentServer: https.Server
let silentHost: string
let mtlsServer: https.Server
let mtlsHost: string
const pending: Array<http.ServerResponse> = []

beforeAll(async () => {
  pki = makePki()
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ path: req.url }))
  }
  okServer = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, answer)
  silentServer = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
    pending.push(res)
    if (req.url === "/stall-body") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100" })
      res.write("first bytes")
    }
  })
  mtlsServer = https.createServer(
    { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
    answer
  )
  okHost = await listen(okServer)
  silentHost = await listen(silentServer)
  mtlsHost = await listen(mtlsServer)
})

afterAll(async () => {
  for (const res of pending) res.destroy()
  await Promise.all([close(okServer), close(silentServer), close(mtlsServer)])
  fs.rmSync(pki.dir, { recursive: true, force: true })
})

const get = (url: string) =>
  HttpClient.HttpClient.pipe(
    Effect.flatMap((client) => client.get(url)),
    Effect.flatMap((response) => Effect.map(response.json, (body) => ({ status: response.status, body })))
  )

describe("NodeHttp.registryUrl", () => {
  it("builds https unless plainHttp is explicit", () => {
    assert.strictEqual(NodeHttp.registryUrl("registry.example.com"), "https://registry.example.com")
    assert.strictEqual(NodeHttp.registryUrl("localhost:5000"), "https://localhost:5000")
    assert.strictEqual(NodeHttp.registryUrl("127.0.0.1:5000", { insecure: true }), "https://127.0.0.1:5000")
    assert.strictEqual(NodeHttp.registryUrl("127.0.0.1:5000", { plainHttp: true }), "http://127.0.0.1:5000")
    assert.strictEqual(NodeHttp.registryUrl("https://host:1/"), "https://host:1")
    assert.strictEqual(NodeHttp.registryUrl("http://host:1"), "https://host:1")
  })
})

// The TLS settings and timeouts on both transports: node:http (`NodeHttp.layer`) and undici (`NodeHttpUndici.layer`).
for (
  const transport of [{ name: "NodeHttp.layer", layer: NodeHttp.layer }, {
    name: "NodeHttpUndici.layer",
    layer: NodeHttpUndici.layer
  }]
) {
  describe(transport.name, () => {
    it.live("trusts a CA given as PEM text", () =>
      Effect.gen(function*() {
        const result = yield* get(`https://${okHost}/v2/`).pipe(
          Effect.provide(transport.layer({ tls: { ca: pki.ca } }))
        )
        assert.strictEqual(result.status, 200)
        assert.deepStrictEqual(result.body, { path: "/v2/" })
      }))

    it.live("trusts a CA given as a file path, per registry", () =>
      Effect.gen(function*() {
        const result = yield* get(`https://${okHost}/v2/x`).pipe(
          Effect.provide(transport.layer({ registries: { [okHost]: { ca: pki.caPath } } }))
        )
        assert.strictEqual(result.status, 200)
      }))

    it.live("refuses an unknown CA with a TLS failure", () =>
      Effect.gen(function*() {
        const exit = yield* get(`https://${okHost}/v2/`).pipe(Effect.provide(transport.layer()), Effect.exit)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual(error?._tag, "RequestError")
          assert.strictEqual(NodeHttp.classify(error), "Tls")
        }
      }))

    it.live("a CA configured for another registry does not apply", () =>
      Effect.gen(function*() {
        const error = yield* get(`https://${okHost}/v2/`).pipe(
          Effect.provide(transport.layer({ registries: { "other.example:443": { ca: pki.ca } } })),
          Effect.flip
        )
        assert.strictEqual(NodeHttp.classify(error), "Tls")
      }))

    it.live("insecure skips verification when set explicitly", () =>
      Effect.gen(function*() {
        const result = yield* get(`https://${okHost}/v2/`).pipe(
          Effect.provide(transport.layer({ registries: { [okHost]: { insecure: true } } }))
        )
        assert.strictEqual(result.status, 200)
      }))

    it.live("presents a client certificate for mutual TLS", () =>
      Effect.gen(function*() {
        const withCert = yield* get(`https://${mtlsHost}/v2/`).pipe(
          Effect.provide(
            transport.layer({ tls: { ca: pki.ca, cert: pki.clientCert, key: Redacted.make(pki.clientKey) } })
          )
        )
        assert.strictEqual(withCert.status, 200)
        const without = yield* get(`https://${mtlsHost}/v2/`).pipe(
          Effect.provide(transport.layer({ tls: { ca: pki.ca } })),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(without))
      }))

    it.live("times out a server that never answers within the configured bound", () =>
      Effect.gen(function*() {
        const started = Date.now()
        const error = yield* get(`https://${silentHost}/v2/`).pipe(
          Effect.provide(transport.layer({ tls: { ca: pki.ca }, timeouts: { headers: "300 millis" } })),
          Effect.flip
        )
        const elapsed = Date.now() - started
        assert.strictEqual(error._tag, "RequestError")
        assert.strictEqual(NodeHttp.classify(error), "Timeout")
        assert.isBelow(elapsed, 5_000)
      }))

    it.live("fails a body that stalls longer than the body idle timeout", () =>
      Effect.gen(function*() {
        const started = Date.now()
        const error = yield* HttpClient.HttpClient.pipe(
          Effect.flatMap((client) => client.get(`https://${silentHost}/stall-body`)),
          Effect.flatMap((response) => {
            assert.strictEqual(response.status, 200)
            return response.arrayBuffer
          }),
          Effect.provide(transport.layer({ tls: { ca: pki.ca }, timeouts: { bodyIdle: "300 millis" } })),
          Effect.flip
        )
        assert.strictEqual(error._tag, "ResponseError")
        assert.strictEqual(NodeHttp.classify(error), "Timeout")
        assert.isBelow(Date.now() - started, 5_000)
      }))

    it.live("fails to build when a TLS file is missing", () =>
      Effect.gen(function*() {
        const error = yield* get(`https://${okHost}/v2/`).pipe(
          Effect.provide(transport.layer({ tls: { ca: path.join(pki.dir, "missing.pem") } })),
          Effect.flip
        )
        assert.strictEqual(error._tag, "NodeHttpError")
        if (error._tag === "NodeHttpError") assert.strictEqual(error.reason, "TlsFile")
      }))
  })
}

describe("NodeHttpUndici.layer", () => {
  it.live("reads answers through its own body stream (the platform's private body field is still where it was)", () =>
    Effect.gen(function*() {
      // NodeHttpUndici replaces the body of @effect/platform-node's undici answer, found through a private field; an
      // upgrade that moves it would silently fall back to the platform's body: this test fails then.
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`https://${okHost}/v2/`)
      assert.isTrue(Body.isWrapped(response), "the undici answer's body was found and replaced")
      assert.deepStrictEqual(yield* response.json, { path: "/v2/" })
      const head = yield* client.head(`https://${okHost}/v2/`)
      assert.isFalse(Body.isWrapped(head), "an answer to HEAD has no body to replace")
    }).pipe(Effect.provide(NodeHttpUndici.layer({ tls: { ca: pki.ca } }))))
})

describe("NodeHttp.classify", () => {
  it("classifies error codes", () => {
    assert.strictEqual(NodeHttp.classify({ cause: { code: "ECONNREFUSED" } }), "Connection")
    assert.strictEqual(NodeHttp.classify({ code: "UND_ERR_CONNECT_TIMEOUT" }), "Timeout")
    assert.strictEqual(NodeHttp.classify(new Error("x")), "Other")
  })
})

describe("NodeHttp.bodyStream", () => {
  const decodeError = (cause: unknown) => ({ _tag: "Decode" as const, cause })
  const source = () => new Readable({ read() {} })

  it.effect("hands over the pieces as they arrived (same buffers, no copies), all that wait per pull", () =>
    Effect.gen(function*() {
      const readable = source()
      const pieces = [Buffer.from("abc"), Buffer.from("defg"), Buffer.from("h")]
      const last = Buffer.from("ij")
      // three pieces arrive together: the first pull takes them all, as one chunk
      for (const p of pieces) readable.push(p)
      const pulled = yield* Stream.toPull(NodeHttp.bodyStream(readable, decodeError, 1024 * 1024))
      const first = Chunk.toReadonlyArray(yield* pulled)
      assert.strictEqual(first.length, 3, "one batch of three pieces")
      first.forEach((piece, i) => assert.strictEqual(piece, pieces[i], `piece ${i} is the buffer that arrived`))
      assert.strictEqual(first.reduce((n, p) => n + p.length, 0), 8)
      // a last piece and the end: that piece alone, then the end
      readable.push(last)
      readable.push(null)
      const second = Chunk.toReadonlyArray(yield* pulled)
      assert.strictEqual(second.length, 1)
      assert.strictEqual(second[0], last)
      const end = yield* Effect.either(pulled)
      assert.isTrue(end._tag === "Left" && Option.isNone(end.left), "the end after the last batch")
    }).pipe(Effect.scoped))

  it.effect("pauses the readable while `limit` bytes wait and resumes it when they are taken", () =>
    Effect.gen(function*() {
      const readable = source()
      const stream = NodeHttp.bodyStream(readable, decodeError, 8)
      const pulled = yield* Stream.toPull(stream)
      readable.push(Buffer.alloc(2))
      const first = yield* pulled // listening from here on
      assert.strictEqual(Chunk.reduce(first, 0, (n, p) => n + p.length), 2)
      readable.push(Buffer.alloc(5))
      readable.push(Buffer.alloc(5))
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      assert.isTrue(readable.isPaused(), "10 bytes waiting with a limit of 8")
      const second = yield* pulled
      assert.strictEqual(Chunk.reduce(second, 0, (n, p) => n + p.length), 10)
      assert.isFalse(readable.isPaused())
      readable.push(null)
      const end = yield* Effect.either(pulled)
      assert.isTrue(end._tag === "Left" && Option.isNone(end.left))
    }).pipe(Effect.scoped))

  it.live("a slow body is handed over piece by piece as it arrives", () =>
    Effect.gen(function*() {
      const readable = source()
      const pulled = yield* Stream.toPull(NodeHttp.bodyStream(readable, decodeError, 64 * 1024 * 1024))
      const started = Date.now()
      setTimeout(() => readable.push(Buffer.from("x")), 5)
      const first = yield* pulled
      assert.strictEqual(Chunk.reduce(first, 0, (n, p) => n + p.length), 1)
      // a 5 ms wait; generous bound for a loaded machine
      assert.isBelow(Date.now() - started, 2000)
      setTimeout(() => readable.push(Buffer.from("yz")), 5)
      const second = yield* pulled
      assert.strictEqual(Buffer.from(Chunk.unsafeGet(second, 0)).toString(), "yz")
    }).pipe(Effect.scoped, Effect.timeout("5 seconds")))

  it.effect("received pieces come before the error; the error is mapped with onError", () =>
    Effect.gen(function*() {
      const readable = source()
      readable.push(Buffer.from("abcd"))
      const boom = new Error("reset")
      setImmediate(() => readable.destroy(boom))
      const seen: Array<number> = []
      const error = yield* NodeHttp.bodyStream(readable, decodeError, 1024).pipe(
        Stream.runForEach((piece) => Effect.sync(() => seen.push(piece.length))),
        Effect.flip
      )
      assert.deepStrictEqual(seen, [4])
      assert.strictEqual(error.cause, boom)
    }))

  it.effect("bodies sharing a budget: paused once the budget is held, never below their share", () =>
    Effect.gen(function*() {
      // a budget of 16 pieces of 64 KiB; each body's share is 64 KiB (the floor)
      const piece = 64 * 1024
      const budget = NodeHttp.makeBodyBudget(16 * piece)
      const readables = [source(), source(), source(), source()]
      const pulls = yield* Effect.forEach(
        readables,
        (r) => Stream.toPull(NodeHttp.bodyStream(r, decodeError, 64 * 1024 * 1024, budget))
      )
      // listening from here on (the first pull of each takes its first piece)
      for (const r of readables) r.push(Buffer.alloc(piece))
      for (const pull of pulls) yield* pull
      assert.strictEqual(budget.waiting, 0)
      // the first body receives 20 pieces nobody takes: it is paused once it holds the whole budget
      for (let i = 0; i < 20; i++) readables[0].push(Buffer.alloc(piece))
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      assert.isTrue(readables[0].isPaused(), "the budget is held")
      assert.strictEqual(budget.waiting, 16 * piece, "what the paused readable had still buffered stays there")
      // the others still take their share while the budget is held, and are paused at it
      readables[1].push(Buffer.alloc(piece))
      readables[1].push(Buffer.alloc(piece))
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      assert.isTrue(readables[1].isPaused(), "over budget with its share")
      assert.isFalse(readables[2].isPaused(), "holds nothing: never paused by the others")
      assert.strictEqual(budget.waiting, 17 * piece, "paused after its first piece; the second waits in the readable")
      // the first body's bytes are taken: the budget has room again, and every paused body goes on
      const taken = yield* pulls[0]
      assert.strictEqual(Chunk.reduce(taken, 0, (n, p) => n + p.length), 16 * piece)
      assert.isFalse(readables[1].isPaused(), "resumed once the budget has room")
      const second = Chunk.reduce(yield* pulls[1], 0, (n, p) => n + p.length)
      assert.isAtLeast(second, piece)
      yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      // the four pieces readables[0] still had buffered arrive now, and whatever of its two readables[1] has
      // not handed over yet
      assert.strictEqual(budget.waiting, 4 * piece + 2 * piece - second)
      assert.isAtMost(budget.peak, 16 * piece + 4 * piece, "at most the budget plus a piece per body")
      for (const r of readables) r.push(null)
    }).pipe(Effect.scoped))

  it.effect("a body that stops early gives its bytes back to the budget", () =>
    Effect.gen(function*() {
      const budget = NodeHttp.makeBodyBudget(1024)
      const readable = source()
      readable.push(Buffer.alloc(100))
      readable.push(Buffer.alloc(100))
      yield* NodeHttp.bodyStream(readable, decodeError, 1024, budget).pipe(Stream.take(1), Stream.runDrain)
      assert.strictEqual(budget.waiting, 0)
      assert.isTrue(readable.destroyed)
    }))

  it.effect("a body closed before its end fails; a stream stopped early destroys the readable", () =>
    Effect.gen(function*() {
      const closed = source()
      closed.push(Buffer.from("ab"))
      setImmediate(() => closed.destroy())
      const error = yield* NodeHttp.bodyStream(closed, decodeError, 1024).pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(error._tag, "Decode")

      const long = source()
      long.push(Buffer.alloc(100))
      long.push(Buffer.alloc(100))
      const taken = yield* NodeHttp.bodyStream(long, decodeError, 4).pipe(Stream.take(1), Stream.runCollect)
      assert.strictEqual(taken.length, 1)
      assert.isTrue(long.destroyed)
    }))
})
