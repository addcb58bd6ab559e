// Bounded work against hostile registries (issue 15, items 4 and 6): node:http servers of ours on 127.0.0.1
// that stream far more config bytes than the descriptor says, trickle bodies a byte at a time, list more
// tags than asked for, and put escape sequences in tags and error messages. Every test is bounded in time.
import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as MediaType from "@effect-registry/core/MediaType"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import { HostileServer } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"

const { flood, json, trickle } = HostileServer
const listen = HostileServer.serve
type Handler = HostileServer.Handler

const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const configBytes = "{}"
const config = { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length }

const clientLayer = (url: string, extra: Partial<RegistryClient.Options> = {}) =>
  RegistryClient.layer({ url, retrySchedule: Schedule.recurs(0), uploadRetrySchedule: Schedule.recurs(0), ...extra })
    .pipe(
      Layer.provide(AuthService.layer({ credentials: Credentials.anonymous })),
      Layer.provide(Layer.mergeAll(
        NodeHttp.layer({ timeouts: { connect: "2 seconds", headers: "5 seconds", bodyIdle: "5 seconds" } }),
        NodeHash.layer
      ))
    )

const withClient = <A, E>(
  url: string,
  f: (client: RegistryClient.Service) => Effect.Effect<A, E>,
  extra: Partial<RegistryClient.Options> = {}
) => Effect.flatMap(RegistryClient.RegistryClient, f).pipe(Effect.provide(clientLayer(url, extra)))

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : String(exit.cause)}`)
}

// --- bodies that trickle -------------------------------------------------------------------------------------------

describe("bodies that trickle one byte at a time", () => {
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [] })
  const trickling: Handler = (req, res) => {
    const url = req.url ?? ""
    if (url === "/v2/") return json(res, 200, {})
    if (url.startsWith("/v2/other/")) {
      res.writeHead(404, { "content-type": "application/json" })
      return trickle(res, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "x".repeat(200) }] }), 100, 20_000)
    }
    if (url.includes("/manifests/")) {
      res.writeHead(200, { "content-type": MediaType.OciManifest })
      return trickle(res, manifest, 100, 20_000)
    }
    if (url.includes("/tags/list")) {
      res.writeHead(200, { "content-type": "application/json" })
      return trickle(res, JSON.stringify({ name: "app", tags: ["a", "b", "c"] }), 100, 20_000)
    }
    json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
  }

  it.live(
    "getManifest, tags and an error body fail with a Timeout once bodyTimeout has passed",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(trickling)
        // each byte arrives well within the idle timeout (5 s): only the total deadline can stop these
        const options = { bodyTimeout: "1 second" } as const
        const runs: ReadonlyArray<(c: RegistryClient.Service) => Effect.Effect<unknown, RegistryError.RegistryError>> =
          [
            (c) => c.getManifest("app", "latest"),
            (c) => c.tags("app")
          ]
        for (const run of runs) {
          const start = Date.now()
          const error = failure(yield* Effect.exit(withClient(server.origin, run, options)))
          const elapsed = Date.now() - start
          assert.isBelow(elapsed, 8_000, `took ${elapsed} ms`)
          assert.strictEqual(error._tag, "TransportError", error.message)
          if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
        }
        // an error body that trickles: read until the deadline, then the answer is mapped without it
        const start = Date.now()
        const error = failure(yield* Effect.exit(withClient(server.origin, (c) => c.tags("other"), options)))
        assert.isBelow(Date.now() - start, 8_000)
        assert.notStrictEqual(error._tag, "NameUnknown", "the body that never arrived was not read")
      })),
    { timeout: 60_000 }
  )
})

// --- listings longer than asked for ---------------------------------------------------------------------------------

describe("tags and repositories hold at most maxItems names", () => {
  const pages = 50
  const perPage = 10
  const listing: Handler = (req, res, server) => {
    const url = new URL(req.url ?? "/", server.origin)
    if (url.pathname === "/v2/") return json(res, 200, {})
    const page = Number(url.searchParams.get("page") ?? "0")
    const names = Array.from({ length: perPage }, (_, i) => `n${page * perPage + i}`)
    const next = page + 1 < pages ? { link: `<${url.pathname}?page=${page + 1}>; rel="next"` } : {}
    if (url.pathname === "/v2/app/tags/list") return json(res, 200, { name: "app", tags: names }, next)
    if (url.pathname === "/v2/_catalog") return json(res, 200, { repositories: names }, next)
    json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "unknown" }] })
  }

  it.live(
    "over maxItems: UnexpectedResponse (TooLarge) naming the Stream variant, and no page more than needed",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(listing)
        const tags = failure(yield* Effect.exit(withClient(server.origin, (c) => c.tags("app", { maxItems: 25 }))))
        assert.strictEqual(tags._tag, "UnexpectedResponse")
        if (tags._tag === "UnexpectedResponse") assert.strictEqual(tags.reason, "TooLarge")
        assert.include(tags.message, "tagsStream")
        assert.isAtMost(server.requests.filter((r) => r.includes("/tags/list")).length, 3)
        const repos = failure(yield* Effect.exit(withClient(server.origin, (c) => c.repositories({ maxItems: 5 }))))
        assert.include(repos.message, "repositoriesStream")
        // within the bound, and through the stream, everything
        const some = yield* withClient(server.origin, (c) => c.tags("app", { maxItems: pages * perPage }))
        assert.strictEqual(some.length, pages * perPage)
        const streamed = yield* withClient(server.origin, (c) => Stream.runCount(c.tagsStream("app")))
        assert.strictEqual(streamed, pages * perPage)
      })),
    { timeout: 60_000 }
  )
})

// --- uploadBlob with a size no upload can have ------------------------------------------------------------------------

describe("uploadBlob refuses a bad size locally", () => {
  it.live(
    "negative, fractional, NaN sizes and a zero chunk size: BlobUploadInvalid, no upload request",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen((req, res) => {
          if (req.url === "/v2/") return json(res, 200, {})
          json(res, 500, { errors: [{ code: "UNKNOWN", message: "should not be reached" }] })
        })
        const bytes = new TextEncoder().encode("hello")
        const digest = sha256(bytes)
        for (const options of [{ size: -1 }, { size: 1.5 }, { size: Number.NaN }, { chunkSize: 0 }]) {
          const exit = yield* Effect.exit(
            withClient(server.origin, (c) => c.uploadBlob("app", digest, Stream.make(bytes), options))
          )
          const error = failure(exit)
          assert.strictEqual(error._tag, "BlobUploadInvalid", String(error))
        }
        assert.deepStrictEqual(server.requests.filter((r) => !r.endsWith(" /v2/")), [])
      })),
    { timeout: 30_000 }
  )
})

// --- a blob larger than its descriptor ------------------------------------------------------------------------------

describe("a blob read with its descriptor's size", () => {
  // 600 MiB offered for a blob of 2 bytes: chunked (no length), or announced with a Content-Length
  const endless: Handler = (req, res, server) => {
    const url = req.url ?? ""
    if (url === "/v2/") return json(res, 200, {})
    if (url.startsWith("/v2/chunked/blobs/")) {
      res.writeHead(200, { "content-type": "application/octet-stream" })
      return flood(res, server, 600 * 1024 * 1024)
    }
    if (url.startsWith("/v2/announced/blobs/")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 600 * 1024 * 1024 })
      return flood(res, server, 600 * 1024 * 1024)
    }
    json(res, 404, { errors: [{ code: "BLOB_UNKNOWN", message: "unknown" }] })
  }

  it.live(
    "stops as soon as more bytes than the size arrive; another Content-Length is refused before reading",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* listen(endless)
        const read = (repository: string) =>
          withClient(
            server.origin,
            (client) => Stream.runDrain(client.downloadBlob(repository, config.digest, { size: config.size }))
          ).pipe(Effect.exit)

        const chunked = failure(yield* read("chunked"))
        assert.strictEqual(chunked._tag, "SizeMismatch")
        assert.isBelow(server.written.bytes, 32 * 1024 * 1024, `the server wrote ${server.written.bytes} bytes`)

        server.written.bytes = 0
        const announced = failure(yield* read("announced"))
        assert.strictEqual(announced._tag, "SizeMismatch")
        assert.include(announced.message, "Content-Length")
        assert.isBelow(server.written.bytes, 32 * 1024 * 1024, `the server wrote ${server.written.bytes} bytes`)
      })),
    { timeout: 60_000 }
  )
})
