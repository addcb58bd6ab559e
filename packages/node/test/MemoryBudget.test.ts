// The memory budget of NodeHttp (issue 19): the bodies of one client share one count of the bytes received and
// not yet taken. Four blobs downloaded at once by slow consumers, from a node:http server on 127.0.0.1; the
// budget's own count (`peak`) is asserted, and every blob must still arrive whole and verified. No timing is
// asserted.
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

const MiB = 1024 * 1024
const sha256 = (bytes: Uint8Array): string => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const blobs = [1, 2, 3, 4].map((seed) => {
  const bytes = Buffer.alloc(4 * MiB)
  for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE((seed * 7919 + i) >>> 0, i)
  return { bytes, digest: sha256(bytes) }
})

const serve: Effect.Effect<string, never, Scope.Scope> = serveLoopback((req, res) => {
  req.resume()
  if (req.url === "/v2/") {
    res.writeHead(200, { "content-type": "application/json", "content-length": 2 })
    return res.end("{}")
  }
  const blob = blobs.find((b) => req.url === `/v2/r/blobs/${b.digest}`)
  if (blob === undefined) {
    res.writeHead(404, { "content-length": 0 })
    return res.end()
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": blob.bytes.length })
  res.end(blob.bytes)
})

const clientLayer = (url: string, budget: NodeHttp.BodyBudget) =>
  RegistryClient.layer({ url }).pipe(
    Layer.provideMerge(AuthService.anonymous),
    Layer.provideMerge(Layer.merge(
      NodeHttp.layer({
        timeouts: { connect: "5 seconds", headers: "10 seconds", bodyIdle: "10 seconds" },
        memoryBudget: budget
      }),
      NodeHash.layer
    ))
  )

describe("NodeHttp memoryBudget", () => {
  it.live("four bodies read slowly at once hold at most the budget plus a share and a piece each", () =>
    Effect.gen(function*() {
      const url = yield* serve
      const budget = NodeHttp.makeBodyBudget(MiB)
      const received = yield* Effect.gen(function*() {
        const client = yield* RegistryClient.RegistryClient
        return yield* Effect.forEach(blobs, (blob) =>
          client.downloadBlob("r", blob.digest).pipe(
            // a slow consumer: the bytes wait in the client meanwhile
            Stream.tap(() => Effect.sleep("1 millis")),
            Stream.runFold(0, (n, piece) => n + piece.length)
          ), { concurrency: 4 })
      }).pipe(Effect.provide(clientLayer(url, budget)))
      assert.deepStrictEqual(received, blobs.map((b) => b.bytes.length), "every blob whole (and verified)")
      assert.strictEqual(budget.waiting, 0, "nothing left counted once the bodies ended")
      // the share of a 1 MiB budget is its 64 KiB floor; a piece is one socket read (64 KiB), allow four
      const bound = MiB + 4 * (64 * 1024 + 256 * 1024)
      assert.isAtMost(budget.peak, bound, `peak ${budget.peak}`)
      assert.isAtLeast(budget.peak, MiB, "the slow consumers let the bodies reach the budget")
    }).pipe(Effect.scoped, Effect.timeout("60 seconds")))
})
