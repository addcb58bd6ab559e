import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as ConnectionCounter from "../src/ConnectionCounter.js"

/** A node:http server on 127.0.0.1 answering every request with its path; closed with the scope. */
const echoServer = Effect.acquireRelease(
  Effect.async<Http.Server>((resume) => {
    const server = Http.createServer((req, res) => {
      req.resume()
      res.end(`path ${req.url ?? ""}`)
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

/** GET `url` through `agent`; the body as text. */
const get = (url: string, agent: Http.Agent): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    const req = Http.get(url, { agent }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
      res.on("error", (e) => resume(Effect.fail(e)))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")))
  })

describe("ConnectionCounter", () => {
  it.live("relays bytes unchanged and counts connections, reused or not", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const relay = yield* ConnectionCounter.make({
        upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      })
      assert.match(relay.url, /^http:\/\/127\.0\.0\.1:\d+$/)

      const keepAlive = new Http.Agent({ keepAlive: true, maxSockets: 1 })
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* get(`${relay.url}/a${i}`, keepAlive), `path /a${i}`)
      assert.strictEqual(yield* relay.connections, 1)
      assert.strictEqual(yield* relay.open, 1)
      keepAlive.destroy()

      yield* relay.reset
      assert.strictEqual(yield* relay.connections, 0)
      const closing = new Http.Agent({ keepAlive: false })
      for (let i = 0; i < 3; i++) assert.strictEqual(yield* get(`${relay.url}/b${i}`, closing), `path /b${i}`)
      assert.strictEqual(yield* relay.connections, 3)
      closing.destroy()
    }).pipe(Effect.scoped, Effect.timeout("30 seconds")))

  it.live("refuses an upstream that is not an http:// URL", () =>
    Effect.gen(function*() {
      for (const upstream of ["not a url", "https://127.0.0.1:5000", "ftp://x"]) {
        const exit = yield* Effect.exit(ConnectionCounter.make({ upstream }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual(error?.reason, "InvalidOptions")
          assert.include(error?.message ?? "", upstream)
        }
      }
    }).pipe(Effect.scoped))
})
