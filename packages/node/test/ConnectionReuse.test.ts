// Connection reuse (issue 19): answers without a body (HEAD, a 202 with `Content-Length: 0`, a 404 HEAD), the
// ping whose body is never read, and GET bodies drained or never read all leave their connection in the pool.
// Counted on the server side: a node:http server on 127.0.0.1 counting its "connection" events, and Debian's
// docker-registry behind a counting TCP relay. No timing is asserted.
import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Descriptor from "@effect-registry/core/Descriptor"
import * as ManifestBuilder from "@effect-registry/core/ManifestBuilder"
import * as MediaType from "@effect-registry/core/MediaType"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { ConnectionCounter, RealRegistry } from "@effect-registry/test-infra"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"
import * as NodeHttpUndici from "../src/NodeHttpUndici.js"

const N = 100
const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const manifestBytes = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: sha256("{}"), size: 2 },
  layers: []
})
const manifestDigest = sha256(manifestBytes)
const blobDigest = sha256("blob")
const missingDigest = sha256("missing")
const bigBody = Buffer.alloc(48 * 1024, 0x61)

// A registry-shaped server answering as distribution does: HEAD answers carry the `Content-Length` of the body a
// GET would get, and no body.
const handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  const url = req.url ?? ""
  req.resume()
  const json = (status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(req.method === "HEAD" ? undefined : body)
  }
  if (url === "/v2/") return json(200, "{}")
  if (url === "/v2/r/manifests/t") {
    res.writeHead(200, {
      "content-type": MediaType.OciManifest,
      "content-length": Buffer.byteLength(manifestBytes),
      "docker-content-digest": manifestDigest
    })
    return res.end(req.method === "HEAD" ? undefined : manifestBytes)
  }
  if (url === `/v2/r/blobs/${blobDigest}`) {
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": 1234,
      "docker-content-digest": blobDigest
    })
    return res.end()
  }
  if (url === "/v2/r/blobs/uploads/") {
    res.writeHead(202, { "content-length": 0, location: "/v2/r/blobs/uploads/u1", "docker-upload-uuid": "u1" })
    return res.end()
  }
  if (url === "/big") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bigBody.length })
    return res.end(bigBody)
  }
  json(404, JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }))
}

interface Server {
  readonly url: string
  readonly connections: () => number
}

const serve = (listener: Http.RequestListener = handler): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; count: { n: number } }>((resume) => {
      const count = { n: 0 }
      const server = Http.createServer(listener)
      server.on("connection", () => count.n++)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, count })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ count, server }) => ({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => count.n
  })))

type Transport = typeof NodeHttp.layer

// Both transports: node:http (`NodeHttp.layer`, the default) and undici (`NodeHttpUndici.layer`).
const transports: ReadonlyArray<{ readonly name: string; readonly layer: Transport }> = [
  { name: "node:http", layer: NodeHttp.layer },
  { name: "undici", layer: NodeHttpUndici.layer }
]

const clientLayer = (url: string, options: NodeHttp.Options, transport: Transport) =>
  RegistryClient.layer({ url }).pipe(
    Layer.provideMerge(AuthService.anonymous),
    Layer.provideMerge(Layer.merge(
      transport({ timeouts: { connect: "5 seconds", headers: "10 seconds", bodyIdle: "10 seconds" }, ...options }),
      NodeHash.layer
    ))
  )

/** Builds a client on `url` (which pings `/v2/`, never reading the body) and runs `f` with it. */
const withClient = <A, E>(
  url: string,
  f: (client: RegistryClient.Service, http: HttpClient.HttpClient) => Effect.Effect<A, E>,
  options: NodeHttp.Options = {},
  transport: Transport = NodeHttp.layer
) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const http = yield* HttpClient.HttpClient
    return yield* f(client, http)
  }).pipe(Effect.provide(clientLayer(url, options, transport)))

/** HEADs of a manifest and a blob, in turn (manifestDigest, hasBlob, blobMetadata). */
const heads = (
  client: RegistryClient.Service,
  repository: string,
  manifest: { readonly tag: string; readonly digest: string },
  blob: string,
  count: number
) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) {
      if (i % 3 === 0) assert.strictEqual(yield* client.manifestDigest(repository, manifest.tag), manifest.digest)
      else if (i % 3 === 1) assert.isTrue(yield* client.hasBlob(repository, blob))
      else assert.strictEqual((yield* client.blobMetadata(repository, blob)).digest, blob)
    }
  })

for (const transport of transports) {
  // `f` (with the client and its HttpClient, against a fresh counting server) uses one or two connections
  const reuses = (
    name: string,
    f: (client: RegistryClient.Service, http: HttpClient.HttpClient, url: string) => Effect.Effect<void, unknown>
  ) =>
    it.live(name, () =>
      Effect.gen(function*() {
        const server = yield* serve()
        yield* withClient(server.url, (client, http) => f(client, http, server.url), {}, transport.layer)
        assert.isAtLeast(server.connections(), 1)
        assert.isAtMost(server.connections(), 2)
      }).pipe(Effect.scoped, Effect.timeout("60 seconds")))

  describe(`connection reuse on ${transport.name}, loopback node:http server`, () => {
    reuses(
      `the ping and ${N} HEADs (manifestDigest, hasBlob, blobMetadata) use at most 2 connections`,
      (client) => heads(client, "r", { tag: "t", digest: manifestDigest }, blobDigest, N)
    )

    reuses(
      `${N} HEADs answered 404 (hasBlob of a missing blob) use at most 2 connections`,
      (client) =>
        Effect.gen(function*() {
          for (let i = 0; i < N; i++) assert.isFalse(yield* client.hasBlob("r", missingDigest))
        })
    )

    reuses(
      `${N} POSTs answered 202 with Content-Length: 0 use at most 2 connections`,
      (_, http, url) =>
        Effect.gen(function*() {
          for (let i = 0; i < N; i++) {
            const response = yield* http.execute(HttpClientRequest.post(`${url}/v2/r/blobs/uploads/`))
            assert.strictEqual(response.status, 202)
          }
        })
    )

    reuses(
      `${N} GETs whose body is never read, or drained, use at most 2 connections`,
      (_, http, url) =>
        Effect.gen(function*() {
          for (let i = 0; i < N; i++) {
            // never read (like the ping's): 48 KiB, read at once by either client (within undici's buffer; at most
            // 64 KiB by its Content-Length on node:http), so the answer completes unread
            const discarded = yield* http.execute(HttpClientRequest.get(`${url}/big`))
            assert.strictEqual(discarded.status, 200)
            // drained through NodeHttp's body stream
            const drained = yield* http.execute(HttpClientRequest.get(`${url}/big`))
            const bytes = yield* Stream.runFold(drained.stream, 0, (n, chunk) => n + chunk.length)
            assert.strictEqual(bytes, bigBody.length)
          }
        })
    )
  })
}

describe("connection reuse, undici without keepAliveAfterHead", () => {
  it.live("NodeHttpUndici with keepAliveAfterHead: false closes the connection after every HEAD (undici's own behaviour)", () =>
    Effect.gen(function*() {
      const server = yield* serve()
      yield* withClient(
        server.url,
        (client) =>
          Effect.gen(function*() {
            for (let i = 0; i < 20; i++) assert.isTrue(yield* client.hasBlob("r", blobDigest))
          }),
        { keepAliveAfterHead: false },
        NodeHttpUndici.layer
      )
      // the ping's connection, then one per HEAD
      assert.isAtLeast(server.connections(), 20)
    }).pipe(Effect.scoped, Effect.timeout("60 seconds")))
})

// A broken server that sends a body after the headers of every HEAD answer, in the same write: the stray bytes
// arrive while no request waits on the connection, undici drops that connection, and every answer stays right.
describe("a HEAD answer with a body", () => {
  it.live("answers stay right and the connection is dropped", () =>
    Effect.gen(function*() {
      const sockets = new Set<Net.Socket>()
      let accepted = 0
      const server = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const s = Net.createServer((socket) => {
            accepted++
            sockets.add(socket)
            socket.on("close", () => sockets.delete(socket))
            socket.on("error", () => socket.destroy())
            let pending = ""
            socket.on("data", (data) => {
              pending += data.toString("latin1")
              for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
                const head = pending.slice(0, end)
                pending = pending.slice(end + 4)
                const body = head.startsWith("HEAD ") ? "{\"stray\":true}" : manifestBytes
                socket.write(
                  `HTTP/1.1 200 OK\r\ncontent-type: ${MediaType.OciManifest}\r\ndocker-content-digest: ${manifestDigest}\r\n` +
                    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
                )
              }
            })
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.sync(() => {
            for (const socket of sockets) socket.destroy()
            s.close()
          })
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      yield* withClient(url, (client) =>
        Effect.gen(function*() {
          for (let i = 0; i < 10; i++) {
            assert.strictEqual(yield* client.manifestDigest("r", "t"), manifestDigest)
            const manifest = yield* client.getManifest("r", "t")
            assert.strictEqual(manifest.digest, manifestDigest)
          }
        }))
      // each HEAD's connection is dropped when its stray body arrives
      assert.isAtLeast(accepted, 10)
    }).pipe(Effect.scoped, Effect.timeout("60 seconds")))
})

describe("connection reuse, docker-registry behind a counting relay", () => {
  it.live(
    `the ping, ${N} HEADs, a 404 HEAD and uploads (202, Content-Length: 0) use at most 2 connections`,
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "anonymous" })
        const relay = yield* ConnectionCounter.make({ upstream: registry.url })
        const repository = "conn/reuse"
        const pushed = yield* withClient(relay.url, (client) =>
          Effect.gen(function*() {
            const push = (mediaType: string, bytes: Uint8Array) =>
              Effect.gen(function*() {
                const d = yield* Descriptor.fromBytes(mediaType, bytes)
                yield* client.uploadBlob(repository, d.digest, BlobSource.fromBytes(bytes), { size: bytes.length })
                return d
              })
            const layer = yield* push(MediaType.OciLayerGzip, new Uint8Array(Crypto.randomBytes(4096)))
            const config = yield* push(MediaType.OciConfig, new TextEncoder().encode("{}"))
            const manifest = yield* ManifestBuilder.ociManifest({ config, layers: [layer] })
            yield* client.putManifest(repository, "v1", manifest)
            return { manifest: manifest.digest, layer: layer.digest }
          }))
        assert.isAtLeast(yield* relay.connections, 1)
        assert.isAtMost(yield* relay.connections, 2, "ping and uploads (POST 202, PUT 201)")

        yield* relay.reset
        yield* withClient(relay.url, (client) =>
          Effect.gen(function*() {
            yield* heads(client, repository, { tag: "v1", digest: pushed.manifest }, pushed.layer, N)
            assert.isFalse(yield* client.hasBlob(repository, missingDigest))
            assert.isTrue(yield* client.hasBlob(repository, pushed.layer))
          }))
        assert.isAtLeast(yield* relay.connections, 1)
        assert.isAtMost(yield* relay.connections, 2, `ping and ${N + 2} HEADs`)
      }).pipe(Effect.scoped, Effect.timeout("120 seconds")),
    180_000
  )
})
