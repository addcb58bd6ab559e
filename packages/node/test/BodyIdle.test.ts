// A blob download through NodeHttp whose body stalls: its body timeout (`timeouts.bodyIdle`) ends the read
// and the client resumes it with a Range request. RegistryClient leaves this watch to the transport (its own timeout is
// the default minute, far longer than the test's bound), so this shows the stall is still caught and resumed
// without the client's watchdog. A node:http server on 127.0.0.1; the test is bounded by a timeout.
import * as AuthService from "@effect-registry/core/AuthService"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"
import { serveLoopback } from "./support/loopback.js"

const blob = Crypto.randomBytes(1024 * 1024)
const digest = `sha256:${Crypto.createHash("sha256").update(blob).digest("hex")}`
const cut = 256 * 1024

const serve = (ranges: Array<string>): Effect.Effect<string, never, Scope.Scope> =>
  serveLoopback((req, res) => {
    req.resume()
    if (req.url === "/v2/") {
      res.writeHead(200, { "content-type": "application/json", "content-length": 2 })
      return res.end("{}")
    }
    if (req.url !== `/v2/r/blobs/${digest}`) {
      res.writeHead(404, { "content-length": 0 })
      return res.end()
    }
    const range = req.headers.range
    ranges.push(range ?? "none")
    const from = range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0)
    if (from === 0) {
      // the whole length announced, a quarter sent, then nothing more (the connection stays open)
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": blob.length })
      res.write(blob.subarray(0, cut))
      return
    }
    res.writeHead(206, {
      "content-type": "application/octet-stream",
      "content-length": blob.length - from,
      "content-range": `bytes ${from}-${blob.length - 1}/${blob.length}`
    })
    res.end(blob.subarray(from))
  })

describe("NodeHttp bodyIdle and downloads", () => {
  it.live("a stalled body is ended by the transport's body timeout and the download resumes from where it stopped", () =>
    Effect.gen(function*() {
      const ranges: Array<string> = []
      const url = yield* serve(ranges)
      const layer = RegistryClient.layer({ url }).pipe(
        Layer.provideMerge(AuthService.anonymous),
        Layer.provideMerge(Layer.merge(
          NodeHttp.layer({ timeouts: { connect: "5 seconds", headers: "5 seconds", bodyIdle: "300 millis" } }),
          NodeHash.layer
        ))
      )
      const pieces = yield* Effect.flatMap(
        RegistryClient.RegistryClient,
        (client) => Stream.runCollect(client.downloadBlob("r", digest))
      ).pipe(Effect.provide(layer))
      assert.isTrue(Buffer.concat([...pieces]).equals(blob), "the whole blob, verified")
      assert.deepStrictEqual(ranges, ["none", `bytes=${cut}-`])
    }).pipe(Effect.scoped, Effect.timeout("30 seconds")))
})
