/**
 * NodeHttpUndici.layer sends the HEAD requests the platform client would not trace straight on its undici dispatcher
 * (internal/headRequest.ts): the answers, failures, timeouts and interruptions must be those of the platform client.
 */
import { NodeHttp } from "@effect-registry/node"
import * as NodeHttpUndici from "@effect-registry/node/NodeHttpUndici"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

let server: http.Server
let base = ""
let closedHeld = 0
const held = new Set<http.ServerResponse>()

beforeAll(() =>
  new Promise<void>((resolve) => {
    server = http.createServer((req, res) => {
      if (req.url === "/hold") {
        // never answers; counts the requests whose connection the client closed
        held.add(res)
        res.on("close", () => {
          closedHeld++
          held.delete(res)
        })
        return
      }
      if (req.url === "/early") {
        res.writeEarlyHints({ link: "</style.css>; rel=preload" })
      }
      res.writeHead(req.url === "/missing" ? 404 : 200, [
        ["Content-Type", "application/vnd.oci.image.manifest.v1+json"],
        ["Content-Length", "397"],
        ["Docker-Content-Digest", "sha256:" + "ab".repeat(32)],
        ["X-Twice", "one"],
        ["X-Twice", "two"],
        ["Set-Cookie", "a=1; Path=/"],
        ["Set-Cookie", "b=2; Path=/"],
        ["X-Method", req.method ?? ""],
        ["X-Path", req.url ?? ""],
        ["X-Traceparent", String(req.headers.traceparent ?? "none")]
      ])
      res.end()
    })
    server.listen(0, "127.0.0.1", () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resolve()
    })
  })
)

afterAll(() =>
  new Promise<void>((resolve) => {
    for (const res of held) res.destroy()
    server.closeAllConnections()
    server.close(() => resolve())
  })
)

// as core's requests go out: the platform's own span switched off
const untraced = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.locally(self, HttpClient.currentTracerDisabledWhen, () => true)

const head = (path: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(HttpClientRequest.head(`${base}${path}`)))

describe("NodeHttpUndici.layer: HEAD straight on the dispatcher", () => {
  it.live("the answer has the status, the headers (repeated ones joined), the cookies and an empty body", () =>
    Effect.gen(function*() {
      const fast = yield* untraced(head("/manifest"))
      const platform = yield* Effect.flatMap(
        HttpClient.HttpClient,
        (client) => client.execute(HttpClientRequest.get(`${base}/manifest`))
      )
      assert.notProperty(fast, "original", "taken straight to the dispatcher, not through the platform client")
      assert.strictEqual(fast.status, 200)
      assert.strictEqual(fast.headers["docker-content-digest"], "sha256:" + "ab".repeat(32))
      assert.strictEqual(fast.headers["x-method"], "HEAD")
      for (const name of ["content-type", "content-length", "x-twice", "set-cookie"]) {
        assert.strictEqual(fast.headers[name], platform.headers[name], name)
      }
      assert.strictEqual(fast.headers["x-twice"], "one, two")
      assert.deepStrictEqual(
        Object.keys(fast.cookies.cookies).sort(),
        Object.keys(platform.cookies.cookies).sort()
      )
      assert.deepStrictEqual(Object.keys(fast.cookies.cookies).sort(), ["a", "b"])
      assert.strictEqual(yield* fast.text, "")
      assert.strictEqual((yield* fast.arrayBuffer).byteLength, 0)
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(fast.stream)), 0)
      assert.strictEqual(fast.toJSON() !== undefined, true)
      assert.strictEqual((yield* untraced(head("/missing"))).status, 404)
    }).pipe(Effect.provide(NodeHttpUndici.layer())))

  it.live("an informational 103 answer is skipped: the final answer is the one returned", () =>
    Effect.gen(function*() {
      const response = yield* untraced(head("/early"))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers["x-method"], "HEAD")
    }).pipe(Effect.provide(NodeHttpUndici.layer())))

  it.live("a server that never answers: the headers timeout fails it as the platform client would", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const error = yield* Effect.flip(untraced(head("/hold")))
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(NodeHttp.classify(error), "Timeout")
      assert.isBelow(Date.now() - started, 5_000)
    }).pipe(Effect.provide(NodeHttpUndici.layer({ timeouts: { headers: "300 millis" } }))))

  it.live("a header value undici refuses is a failure (no defect); a fragment never goes on the wire", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(
        untraced(Effect.flatMap(HttpClient.HttpClient, (client) =>
          client.execute(
            HttpClientRequest.head(`${base}/manifest`).pipe(HttpClientRequest.setHeader("x-bad", "a\r\nb"))
          )))
      )
      assert.strictEqual(bad._tag, "RequestError")
      assert.strictEqual(bad.reason, "Transport")
      const withHash = yield* untraced(
        Effect.flatMap(
          HttpClient.HttpClient,
          (client) => client.execute(HttpClientRequest.head(`${base}/manifest`).pipe(HttpClientRequest.setHash("frag")))
        )
      )
      assert.strictEqual(withHash.status, 200)
      assert.strictEqual(withHash.headers["x-path"], "/manifest")
    }).pipe(Effect.provide(NodeHttpUndici.layer())))

  it.live("a refused connection is a transport failure classified Connection", () =>
    Effect.gen(function*() {
      const closed = http.createServer()
      const port = yield* Effect.async<number>((resume) => {
        closed.listen(0, "127.0.0.1", () => {
          const p = (closed.address() as AddressInfo).port
          closed.close(() => resume(Effect.succeed(p)))
        })
      })
      const error = yield* Effect.flip(
        untraced(Effect.flatMap(
          HttpClient.HttpClient,
          (client) => client.execute(HttpClientRequest.head(`http://127.0.0.1:${port}/v2/`))
        ))
      )
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(NodeHttp.classify(error), "Connection")
    }).pipe(Effect.provide(NodeHttpUndici.layer())))

  it.live("interrupting the request closes its connection", () =>
    Effect.gen(function*() {
      const before = closedHeld
      const fiber = yield* Effect.fork(untraced(head("/hold")))
      // wait (bounded) until the server holds the request, then interrupt
      for (let i = 0; i < 100 && held.size === 0; i++) yield* Effect.sleep("20 millis")
      assert.isAbove(held.size, 0)
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 100 && closedHeld === before; i++) yield* Effect.sleep("20 millis")
      assert.strictEqual(closedHeld, before + 1)
    }).pipe(Effect.provide(NodeHttpUndici.layer())))

  it.live("a HEAD the platform client traces still goes through it, with its span", () =>
    Effect.gen(function*() {
      // the platform client's span propagates its trace context: the server sees it
      const response = yield* head("/manifest")
      assert.strictEqual(response.status, 200)
      assert.property(response, "original", "the platform client's answer")
      assert.match(response.headers["x-traceparent"] ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      const fast = yield* untraced(head("/manifest"))
      assert.strictEqual(fast.headers["x-traceparent"], "none")
    }).pipe(Effect.provide(NodeHttpUndici.layer())))
})
