// NodeHttp.layer's own timing rules on node:http (internal/nodeClient.ts), against node:http servers on 127.0.0.1:
// a body whose reader is slow (the body paused) is not idle; a registry that stops reading an upload fails the
// request with a timeout instead of hanging; the headers timeout starts once the request body is sent; small
// bodies nobody reads, and bodiless answers, are still whole and readable. Every test is bounded by a timeout.
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Net from "node:net"
import * as NodeHttp from "../src/NodeHttp.js"
import * as NodeHttpUndici from "../src/NodeHttpUndici.js"
import { serveLoopback } from "./support/loopback.js"

const MiB = 1024 * 1024

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Stream.runFold(stream, 0, (n, piece) => n + piece.length)

// a test on NodeHttp.layer(options), in a scope of its own, bounded by `seconds`
const onNodeHttp = (options?: NodeHttp.Options, seconds = 30) =>
<A, E>(
  self: Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>
) => self.pipe(Effect.provide(NodeHttp.layer(options)), Effect.scoped, Effect.timeout(Duration.seconds(seconds)))

// a raw TCP server on 127.0.0.1 for the life of a scope (every connection closed with it); its port
const serveTcp = (onConnection: (socket: Net.Socket) => void) => {
  const sockets = new Set<Net.Socket>()
  return Effect.acquireRelease(
    Effect.async<Net.Server>((resume) => {
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => socket.destroy())
        onConnection(socket)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))
}

describe("NodeHttp.layer on node:http", () => {
  it.live("a body whose reader is slower than bodyIdle is not idle: it arrives whole", () =>
    Effect.gen(function*() {
      const body = Buffer.alloc(4 * MiB, 7)
      const url = yield* serveLoopback((_req, res) => {
        res.writeHead(200, { "content-length": String(body.length) })
        res.end(body)
      })
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${url}/blob`)
      let pulls = 0
      const bytes = yield* collect(
        response.stream.pipe(
          Stream.mapChunksEffect((chunk) =>
            // the first pulls wait longer than the idle timeout each: the body is paused meanwhile
            ++pulls <= 3 ? Effect.as(Effect.sleep("400 millis"), chunk) : Effect.succeed(chunk)
          )
        )
      )
      assert.strictEqual(bytes, body.length)
      assert.isAbove(pulls, 3)
    }).pipe(onNodeHttp({ bodyBuffer: 256 * 1024, timeouts: { bodyIdle: "200 millis" } })))

  it.live("a registry that stops reading an upload fails it with a timeout within bodyIdle", () =>
    Effect.gen(function*() {
      // accepts the connection and never reads from it: the socket's buffers fill, then nothing moves
      const port = yield* serveTcp((socket) => socket.pause())
      const client = yield* HttpClient.HttpClient
      const pieces = Stream.fromIterable(Array.from({ length: 256 }, () => new Uint8Array(MiB)))
      const started = Date.now()
      const error = yield* client.execute(
        HttpClientRequest.put(`http://127.0.0.1:${port}/upload`).pipe(
          HttpClientRequest.setBody(HttpBody.stream(pieces, "application/octet-stream", 256 * MiB))
        )
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(NodeHttp.classify(error), "Timeout")
      assert.isBelow(Date.now() - started, 10_000)
    }).pipe(onNodeHttp({ timeouts: { bodyIdle: "300 millis", headers: "30 seconds" } })))

  it.live("the headers timeout runs from the end of the request body: a registry slow to read it, then quick to answer, is fine", () =>
    Effect.gen(function*() {
      const url = yield* serveLoopback((req, res) => {
        let received = 0
        // reads nothing for a second (longer than the headers timeout: the client's writes wait meanwhile), then
        // the whole body at once
        req.pause()
        setTimeout(() => req.resume(), 1000)
        req.on("data", (piece: Buffer) => {
          received += piece.length
        })
        req.on("end", () => {
          res.writeHead(201, { "content-length": "0", "x-received": String(received) })
          res.end()
        })
      })
      const client = yield* HttpClient.HttpClient
      const body = new Uint8Array(8 * MiB)
      const response = yield* client.execute(
        HttpClientRequest.put(`${url}/upload`).pipe(
          HttpClientRequest.setBody(
            HttpBody.stream(Stream.fromChunk(Chunk.make(body)), "application/octet-stream", body.length)
          )
        )
      )
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.headers["x-received"], String(body.length))
    }).pipe(onNodeHttp({ timeouts: { headers: "300 millis", bodyIdle: "10 seconds" } })))

  // each connection reads into one buffer of its own, reused for every read (NodeHttp.ts, withReadBuffer): the
  // bytes of every piece must be taken before the next read overwrites them
  it.live("bodies read through the connection's reused read buffer are intact: irregular writes, a paused reader, one connection", () =>
    Effect.gen(function*() {
      const body = Crypto.randomBytes(3 * MiB + 17)
      const expected = Crypto.createHash("sha256").update(body).digest("hex")
      const connections = new Set<Net.Socket>()
      const url = yield* serveLoopback((req, res) => {
        connections.add(req.socket)
        res.writeHead(200, { "content-length": String(body.length) })
        let at = 0
        // pieces of 1 byte to 200 KiB, some smaller and some larger than one read
        const next = (): void => {
          if (at >= body.length) return void res.end()
          const size = 1 + Crypto.randomInt(200 * 1024)
          const piece = body.subarray(at, at + size)
          at += piece.length
          if (res.write(piece)) setImmediate(next)
          else res.once("drain", next)
        }
        next()
      })
      const client = yield* HttpClient.HttpClient
      for (const pause of [false, true]) {
        const response = yield* client.get(`${url}/blob`)
        const hash = Crypto.createHash("sha256")
        let pulls = 0
        yield* Stream.runForEach(
          response.stream,
          (piece) =>
            Effect.suspend(() => {
              hash.update(piece)
              // the second answer is read slowly at first: the connection is paused while its reader waits
              return pause && ++pulls <= 5 ? Effect.sleep("50 millis") : Effect.void
            })
        )
        assert.strictEqual(hash.digest("hex"), expected)
      }
      // the second answer came on the connection the first one left in the pool
      assert.strictEqual(connections.size, 1)
    }).pipe(onNodeHttp({ bodyBuffer: 256 * 1024 })))

  // a stream body is written by a fiber of its own (nodeClient.ts, writeBody): it must not outlive its request
  it.live("a stream body stops being pulled when the request is interrupted or cannot be made", () =>
    Effect.gen(function*() {
      const sockets = new Set<Net.Socket>()
      const url = yield* serveLoopback((req) => {
        // reads nothing and never answers
        sockets.add(req.socket)
        req.pause()
      })
      const client = yield* HttpClient.HttpClient
      let pulled = 0
      let finalized = false
      const body = Stream.repeatEffect(Effect.sync(() => {
        pulled++
        return new Uint8Array(64 * 1024)
      })).pipe(Stream.ensuring(Effect.sync(() => {
        finalized = true
      })))
      const request = HttpClientRequest.post(`${url}/upload`).pipe(
        HttpClientRequest.setBody(HttpBody.stream(body))
      )
      const fiber = yield* Effect.fork(client.execute(request))
      // the socket's buffers fill, then the writer waits for them
      while (pulled < 4) yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      while (!finalized) yield* Effect.sleep("20 millis")
      const after = pulled
      yield* Effect.sleep("200 millis")
      assert.strictEqual(pulled, after, "nothing pulled once the request is gone")

      // Node refuses the request (a header value it cannot send): the body is never pulled, nothing waits
      let refusedPulls = 0
      const refused = HttpClientRequest.post(`${url}/upload`).pipe(
        HttpClientRequest.setHeader("x-bad", "a\nb"),
        HttpClientRequest.setBody(HttpBody.stream(Stream.repeatEffect(Effect.sync(() => {
          refusedPulls++
          return new Uint8Array(16)
        }))))
      )
      const error = yield* client.execute(refused).pipe(Effect.flip)
      assert.strictEqual(error._tag, "RequestError")
      yield* Effect.sleep("50 millis")
      assert.strictEqual(refusedPulls, 0)
    }).pipe(onNodeHttp({ timeouts: { bodyIdle: "30 seconds", headers: "30 seconds" } }, 20)))

  // a registry may answer before it has read the body (an error): once the caller is done with the answer, the
  // half-sent request is destroyed rather than left holding its connection
  it.live("a request answered before its stream body was sent is destroyed once the caller's fiber ends", () =>
    Effect.gen(function*() {
      // answers at once, then reads (and drops) what comes, and never closes the connection itself
      let closed = false
      const port = yield* serveTcp((socket) => {
        socket.once("data", () => socket.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"))
        socket.on("close", () => {
          closed = true
        })
        socket.resume()
      })
      const client = yield* HttpClient.HttpClient
      let pulled = 0
      const body = Stream.repeatEffect(Effect.as(Effect.sleep("10 millis"), new Uint8Array(1024))).pipe(
        Stream.tap(() =>
          Effect.sync(() => {
            pulled++
          })
        )
      )
      const request = HttpClientRequest.post(`http://127.0.0.1:${port}/upload`).pipe(
        HttpClientRequest.setBody(HttpBody.stream(body))
      )
      const status = yield* Fiber.join(yield* Effect.fork(Effect.map(client.execute(request), (r) => r.status)))
      assert.strictEqual(status, 413)
      while (!closed) yield* Effect.sleep("20 millis")
      const after = pulled
      yield* Effect.sleep("100 millis")
      assert.strictEqual(pulled, after, "nothing pulled once the request is destroyed")
    }).pipe(onNodeHttp(undefined, 10)))

  it.live("small bodies are whole however late they are read; bodiless answers read as empty", () =>
    Effect.gen(function*() {
      const url = yield* serveLoopback((req, res) => {
        if (req.url === "/empty") {
          res.writeHead(204)
          res.end()
          return
        }
        res.writeHead(200, { "content-type": "application/json", "content-length": "13" })
        res.end("{\"ok\":\"yes\"}\n")
      })
      const client = yield* HttpClient.HttpClient
      const small = yield* client.get(`${url}/small`)
      // read only after the answer has long been complete (its connection already back in the pool)
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(yield* small.json, { ok: "yes" })
      const empty = yield* client.get(`${url}/empty`)
      assert.strictEqual(empty.status, 204)
      assert.strictEqual(yield* empty.text, "")
      const head = yield* client.head(`${url}/small`)
      assert.strictEqual(head.status, 200)
      assert.strictEqual(yield* collect(head.stream), 0)
    }).pipe(onNodeHttp()))

  // both paths: traced by the platform (its own span and abort signal) and not (core's requests, sent directly)
  for (const traced of [true, false]) {
    it.live(`a request whose fiber is interrupted before the answer is destroyed (platform span: ${traced})`, () =>
      Effect.gen(function*() {
        let closed = 0
        let received = 0
        const url = yield* serveLoopback((req) => {
          // never answers
          received++
          req.socket.on("close", () => {
            closed++
          })
        })
        const client = yield* HttpClient.HttpClient
        const fiber = yield* Effect.fork(client.get(`${url}/manifests/never`).pipe(Effect.withTracerEnabled(traced)))
        while (received === 0) yield* Effect.sleep("20 millis")
        yield* Fiber.interrupt(fiber)
        while (closed === 0) yield* Effect.sleep("20 millis")
        assert.strictEqual(closed, 1)
      }).pipe(onNodeHttp({ timeouts: { headers: "60 seconds" } }, 10)))
  }

  // a headers timeout turned off (0) must not tell core that the transport limits the wait: it would then time
  // nothing at all
  it.effect("timeouts.headers 0 tells core the transport sets no headers limit (both transports)", () =>
    Effect.gen(function*() {
      for (const layer of [NodeHttp.layer, NodeHttpUndici.layer]) {
        const told = yield* RegistryClient.TransportTimeout.pipe(
          Effect.provide(layer({ timeouts: { headers: 0, bodyIdle: "5 seconds" } }))
        )
        assert.isTrue(Duration.equals(told.headers, Duration.infinity))
        assert.isTrue(told.bodyIdle !== undefined && Duration.equals(told.bodyIdle, Duration.seconds(5)))
        const defaults = yield* RegistryClient.TransportTimeout.pipe(Effect.provide(layer()))
        assert.isTrue(Duration.equals(defaults.headers, Duration.seconds(60)))
      }
    }))
})

describe("NodeHttp.layer: pieces marked BlobSource.releasedOnceWritten", () => {
  it.live("are freed once the socket took them, unmarked pieces are left alone, and the registry gets every byte", () =>
    Effect.gen(function*() {
      const url = yield* serveLoopback((req, res) => {
        const hash = Crypto.createHash("sha256")
        req.on("data", (piece: Buffer) => hash.update(piece))
        req.on("end", () => res.end(hash.digest("hex")))
      })
      const client = yield* HttpClient.HttpClient
      const marked = Array.from({ length: 8 }, () => new Uint8Array(Crypto.randomBytes(64 * 1024)))
      const unmarked = Array.from({ length: 4 }, () => new Uint8Array(Crypto.randomBytes(64 * 1024)))
      const expected = Crypto.createHash("sha256")
      for (const piece of [...marked, ...unmarked]) expected.update(piece)
      // as a download through this layer would have made them
      for (const piece of marked) BlobSource.markFresh(piece)
      const body = Stream.concat(
        BlobSource.releasedOnceWritten(Stream.fromIterable(marked)),
        Stream.fromIterable(unmarked)
      )
      const request = HttpClientRequest.put(`${url}/upload`).pipe(
        HttpClientRequest.setBody(HttpBody.stream(body, "application/octet-stream", 12 * 64 * 1024))
      )
      const response = yield* client.execute(request)
      assert.strictEqual(yield* response.text, expected.digest("hex"))
      // a freed piece reads as empty: its memory went back at once, not at the next garbage collection
      assert.deepStrictEqual(marked.map((piece) => piece.byteLength), marked.map(() => 0))
      assert.deepStrictEqual(unmarked.map((piece) => piece.byteLength), unmarked.map(() => 64 * 1024))
    }).pipe(onNodeHttp()))

  // readBuffer.ts: on a plain-HTTP connection a body whose reader claims its pieces is read 256 KiB at a time, any
  // other at most 64 KiB, and the next answer on the same connection starts small again
  it.live("a body claimed by its reader is read in larger pieces; others, and the next answer, in 64 KiB", () =>
    Effect.gen(function*() {
      const body = Crypto.randomBytes(8 * MiB)
      const expected = Crypto.createHash("sha256").update(body).digest("hex")
      const connections = new Set<Net.Socket>()
      const url = yield* serveLoopback((req, res) => {
        connections.add(req.socket)
        res.writeHead(200, { "content-length": String(body.length) })
        res.end(body)
      })
      const client = yield* HttpClient.HttpClient
      // reads the body (through releasedOnceWritten when claimed): the largest piece and the digest
      const read = (claimed: boolean) =>
        Effect.gen(function*() {
          const response = yield* client.get(`${url}/blob`)
          const hash = Crypto.createHash("sha256")
          let largest = 0
          const stream = claimed ? BlobSource.releasedOnceWritten(response.stream) : response.stream
          yield* Stream.runForEach(stream, (piece) =>
            Effect.sync(() => {
              hash.update(piece)
              largest = Math.max(largest, piece.length)
            }))
          return { largest, digest: hash.digest("hex") }
        })
      const plain = yield* read(false)
      const claimed = yield* read(true)
      const after = yield* read(false)
      for (const result of [plain, claimed, after]) assert.strictEqual(result.digest, expected)
      assert.isAtMost(plain.largest, 64 * 1024)
      assert.isAbove(claimed.largest, 64 * 1024)
      assert.isAtMost(claimed.largest, 256 * 1024)
      assert.isAtMost(after.largest, 64 * 1024)
      // all three on one connection: the third answer came on the connection the claimed one had widened
      assert.strictEqual(connections.size, 1)
    }).pipe(onNodeHttp({ bodyBuffer: 16 * MiB })))
})
