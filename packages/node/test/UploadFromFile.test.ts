import { RegistryClient } from "@effect-registry/core"
import { BlobFile, NodeHttp, NodeRegistry } from "@effect-registry/node"
import { RealRegistry } from "@effect-registry/test-infra"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const MiB = 1024 * 1024
const sha256 = (bytes: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

/** A node:http server on 127.0.0.1 that reads each request body whole and answers its size and digest. */
const bodyServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly aborted: () => number; readonly server: http.Server }>((resume) => {
    let aborted = 0
    const server = http.createServer((req, res) => {
      const hash = Crypto.createHash("sha256")
      let size = 0
      req.on("data", (c: Buffer) => {
        size += c.length
        hash.update(c)
      })
      req.on("aborted", () => {
        aborted += 1
      })
      req.on("error", () => {})
      req.on("end", () => {
        res.setHeader("content-type", "application/json")
        res.end(JSON.stringify({ size, digest: `sha256:${hash.digest("hex")}` }))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, aborted: () => aborted, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const pieces = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => new Uint8Array(Crypto.randomBytes(size + i)))

describe("NodeHttp request bodies", () => {
  it.scoped("a Stream body is pulled piece by piece and arrives whole; the layer tells RequestBodyReuse", () =>
    Effect.gen(function*() {
      const server = yield* bodyServer
      const context = yield* Layer.build(NodeHttp.layer())
      const client = Context.get(context, HttpClient.HttpClient)
      assert.deepStrictEqual(
        Context.getOption(context, RegistryClient.RequestBodyReuse),
        Option.some({ piecesAhead: 2 })
      )
      const parts = pieces(40, 64 * 1024)
      const whole = Buffer.concat(parts)
      // how many pieces the transport had pulled, at the time each piece was pulled
      let pulled = 0
      const body = Stream.fromIterable(parts).pipe(
        Stream.rechunk(1),
        Stream.tap(() =>
          Effect.sync(() => {
            pulled += 1
          })
        )
      )
      const response = yield* client.execute(
        HttpClientRequest.post(`${server.url}/body`).pipe(
          HttpClientRequest.bodyStream(body, { contentLength: whole.length })
        )
      )
      const answer = yield* response.json
      assert.deepStrictEqual(answer, { size: whole.length, digest: sha256(whole) })
      assert.strictEqual(pulled, parts.length)
    }))

  it.scopedLive("a Stream body that fails part way fails the request; the server never gets a whole body", () =>
    Effect.gen(function*() {
      const server = yield* bodyServer
      const client = Context.get(yield* Layer.build(NodeHttp.layer()), HttpClient.HttpClient)
      const parts = pieces(8, 64 * 1024)
      const total = parts.reduce((n, p) => n + p.length, 0)
      const body = Stream.concat(Stream.fromIterable(parts.slice(0, 4)), Stream.fail(new Error("source broke")))
      const result = yield* Effect.either(
        client.execute(
          HttpClientRequest.post(`${server.url}/body`).pipe(
            HttpClientRequest.bodyStream(body, { contentLength: total })
          )
        )
      )
      assert.isTrue(result._tag === "Left")
      // the server saw the request end early (aborted), within a bounded wait
      for (let i = 0; i < 100 && server.aborted() === 0; i++) yield* Effect.sleep("20 millis")
      assert.strictEqual(server.aborted(), 1)
    }))
})

const tempFile = (bytes: Uint8Array) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-file-"))
      const file = path.join(dir, "blob")
      fs.writeFileSync(file, bytes)
      return { dir, file }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const realClient = Effect.flatMap(RealRegistry.RealRegistry, (registry) =>
  Effect.map(
    Layer.build(NodeRegistry.layer({ url: registry.host, plainHttp: true })),
    (context) => Context.get(context, RegistryClient.RegistryClient)
  ))

layer(RealRegistry.layer(), { timeout: "120 seconds", excludeTestServices: true })(
  "uploads from a file against docker-registry",
  (it) => {
    it.scoped("monolithic, chunked with a size (chunks read again), chunked and streamed: every blob intact", () =>
      Effect.gen(function*() {
        const client = yield* realClient
        const bytes = new Uint8Array(Crypto.randomBytes(6 * MiB + 12_345))
        const digest = sha256(bytes)
        const { file } = yield* tempFile(bytes)
        const plans: ReadonlyArray<RegistryClient.UploadOptions> = [
          { size: bytes.length },
          { size: bytes.length, chunkSize: 2 * MiB },
          { size: bytes.length, chunkSize: 5 * MiB + 7 },
          { chunkSize: 2 * MiB },
          {}
        ]
        for (const [i, options] of plans.entries()) {
          const repository = `file/plan${i}`
          const source = yield* BlobFile.source(file)
          const result = yield* client.uploadBlob(repository, digest, source, options)
          assert.strictEqual(result.skipped, false)
          assert.strictEqual(result.size, bytes.length)
          const back = yield* Stream.runCollect(client.downloadBlob(repository, digest))
          assert.isTrue(Buffer.concat([...back]).equals(bytes), `plan ${i}`)
        }
      }))

    it.scoped("a file that no longer hashes to the digest fails with DigestMismatch and stores nothing", () =>
      Effect.gen(function*() {
        const client = yield* realClient
        const bytes = new Uint8Array(Crypto.randomBytes(3 * MiB))
        const digest = sha256(bytes)
        bytes[2 * MiB] ^= 1
        const { file } = yield* tempFile(bytes)
        for (const options of [{ size: bytes.length }, { size: bytes.length, chunkSize: MiB }]) {
          const error = yield* Effect.flip(
            client.uploadBlob("file/wrong", digest, yield* BlobFile.source(file), options)
          )
          assert.strictEqual(error._tag, "DigestMismatch")
          assert.isFalse(yield* client.hasBlob("file/wrong", digest))
        }
      }))
  }
)
