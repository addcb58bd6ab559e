/**
 * Retag, ImageValidate, RepositorySync, IndexEdit and RateLimit against the in-memory registry (and a
 * loopback server of our own for the rate-limit headers).
 */
import {
  Digest,
  ImageCopy,
  ImageValidate,
  IndexEdit,
  ManifestBuilder,
  MediaType,
  RateLimit,
  RegistryClient,
  RepositorySync,
  Retag
} from "@effect-registry/core"
import { NodeRegistry } from "@effect-registry/node"
import { HostileServer } from "@effect-registry/test-infra"
import { InMemoryRegistry } from "@effect-registry/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { pushImage, pushIndex, pushOnBase } from "./support/images.js"
import { InMemory } from "./support/layouts.js"

describe("Retag", () => {
  it.scoped("puts the same bytes under a new tag, with no blob request", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const { index } = yield* pushIndex(client, "retag/app", "v1")
      yield* registry.clearRequests
      const done = yield* Retag.tag(client, "retag/app", "v1", "stable")
      assert.strictEqual(done.digest, index.digest)
      assert.strictEqual(done.mediaType, MediaType.OciIndex)
      const requests = yield* registry.requests
      assert.deepStrictEqual((yield* client.getManifest("retag/app", "stable")).bytes, index.bytes)
      assert.deepStrictEqual(requests.filter((r) => r.path.includes("/blobs/")), [])
      assert.deepStrictEqual(
        requests.filter((r) => r.path.includes("/manifests/")).map((r) => `${r.method} ${r.path}`),
        ["GET /v2/retag/app/manifests/v1", "PUT /v2/retag/app/manifests/stable"]
      )

      const badTag = yield* Effect.either(Retag.tag(client, "retag/app", "v1", "not a tag"))
      assert.isTrue(Either.isLeft(badTag) && badTag.left._tag === "TagInvalid")
      const missing = yield* Effect.either(Retag.tag(client, "retag/app", "nope", "x"))
      assert.isTrue(Either.isLeft(missing) && missing.left._tag === "ManifestUnknown")
    }).pipe(Effect.provide(InMemory)))
})

describe("ImageValidate", () => {
  it.scoped("finds nothing wrong in a whole index, then each deleted blob and manifest", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const { amd, arm, index } = yield* pushIndex(client, "val/app", "v1")
      const healthy = yield* ImageValidate.validate(client, "val/app", "v1")
      assert.isTrue(healthy.ok)
      assert.strictEqual(healthy.digest, index.digest)
      assert.strictEqual(healthy.manifests, 3)
      assert.strictEqual(healthy.blobs, 6)
      assert.strictEqual(
        healthy.bytes,
        [amd, arm].reduce((n, i) => n + i.config.size + i.layers[0].size + i.layers[1].size, 0)
      )

      yield* registry.clearRequests
      const verified = yield* ImageValidate.validate(client, "val/app", "v1", { verifyBlobs: true })
      assert.isTrue(verified.ok && verified.verifiedBlobs)
      const gets = (yield* registry.requests).filter((r) => r.method === "GET" && r.path.includes("/blobs/"))
      assert.strictEqual(gets.length, 6)

      yield* client.deleteBlob("val/app", arm.layers[1].digest)
      yield* client.deleteManifest("val/app", amd.manifest.digest)
      const broken = yield* ImageValidate.validate(client, "val/app", index.digest, { concurrency: 2 })
      assert.isFalse(broken.ok)
      assert.sameDeepMembers(
        broken.problems.map((p) => ({ kind: p.kind, digest: p.digest, parent: p.parent })),
        [
          { kind: "ManifestMissing", digest: amd.manifest.digest, parent: index.digest },
          { kind: "BlobMissing", digest: arm.layers[1].digest, parent: arm.manifest.digest }
        ]
      )

      const missing = yield* Effect.either(ImageValidate.validate(client, "val/app", "nope"))
      assert.isTrue(Either.isLeft(missing) && missing.left._tag === "ManifestUnknown")
    }).pipe(Effect.provide(InMemory)))
})

// two images in `repository` on one base layer (the second: its own top layer and config), with the client and the
// in-memory registry
const twoOnOneBase = (repository: string) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const registry = yield* InMemoryRegistry.InMemoryRegistry
    const one = yield* pushImage(client, repository)
    const two = yield* pushOnBase(client, repository, one)
    return { client, registry, one, two }
  })

// syncs `from` to `to` (same registry) with `concurrency` tags at once: the result, and the paths of the blob
// requests the destination repository received meanwhile
const syncLooking = (
  client: RegistryClient.Service,
  registry: Context.Tag.Service<InMemoryRegistry.InMemoryRegistry>,
  from: string,
  to: string,
  concurrency: number
) =>
  Effect.gen(function*() {
    yield* registry.clearRequests
    const result = yield* RepositorySync.copyAllTags({
      from: { client, repository: from },
      to: { client, repository: to },
      concurrency
    })
    const looked = (yield* registry.requests)
      .filter((r) => r.path.startsWith(`/v2/${to}/blobs/sha256:`))
      .map((r) => r.path)
    return { result, looked }
  })

describe("RepositorySync", () => {
  it.scoped("copies an image once for all its tags: the other tags wait for that copy and are set by a manifest PUT", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const one = yield* pushImage(client, "sync/same")
      for (const tag of ["a", "b", "c"]) yield* client.putManifest("sync/same", tag, one.manifest)
      const { looked, result } = yield* syncLooking(client, registry, "sync/same", "sync/same-dst", 3)
      assert.deepStrictEqual(
        result.tags.map((t) => [t.tag, t.status, t.status === "Failed" ? undefined : t.digest]),
        [["a", "Copied", one.manifest.digest], ["b", "Copied", one.manifest.digest], [
          "c",
          "Copied",
          one.manifest.digest
        ]]
      )
      for (const tag of ["a", "b", "c"]) {
        assert.strictEqual(yield* client.manifestDigest("sync/same-dst", tag), one.manifest.digest)
      }
      // the image's blobs were looked at in the destination once (one copy), not once per tag
      assert.isAbove(looked.length, 0)
      assert.strictEqual(new Set(looked).size, looked.length, `a blob looked at twice: ${looked.join(", ")}`)
    }).pipe(Effect.provide(InMemory)))

  it.scoped("two images that share a layer, copied at once: the shared layer goes to the destination once", () =>
    Effect.gen(function*() {
      const { client, one, registry, two } = yield* twoOnOneBase("sync/base")
      yield* client.putManifest("sync/base", "one", one.manifest)
      yield* client.putManifest("sync/base", "two", two)
      const { looked, result } = yield* syncLooking(client, registry, "sync/base", "sync/base-dst", 2)
      assert.deepStrictEqual([result.copied, result.failed], [2, 0])
      assert.strictEqual(yield* client.manifestDigest("sync/base-dst", "one"), one.manifest.digest)
      assert.strictEqual(yield* client.manifestDigest("sync/base-dst", "two"), two.digest)
      // five blobs in all (two configs, the shared base layer, two top layers), each looked at once
      assert.strictEqual(looked.length, 5, looked.join(", "))
      assert.strictEqual(new Set(looked).size, 5)
    }).pipe(Effect.provide(InMemory)))

  // ImageCopy.Options.sharedBlobs: a copy interrupted while it moves a shared blob leaves the blob to the copy
  // waiting for it, which copies it itself instead of being interrupted too
  it.live("sharedBlobs: a copy waiting for a blob whose copy was interrupted copies it itself", () =>
    Effect.gen(function*() {
      const { client, one, registry, two } = yield* twoOnOneBase("share/src")
      const base = one.layers[0].digest
      // the first look at the base layer in the destination takes 2 s: the first copy is interrupted meanwhile
      yield* registry.addFault({
        method: "HEAD",
        path: `/v2/share/dst/blobs/${base}`,
        times: 1,
        fault: { _tag: "Delay", delay: "2 seconds" }
      })
      const sharedBlobs = ImageCopy.makeSharedBlobs()
      const copyOf = (digest: string, tag: string) =>
        ImageCopy.copy({
          from: { client, repository: "share/src", reference: digest },
          to: { client, repository: "share/dst", tag },
          sharedBlobs
        })
      const first = yield* Effect.fork(copyOf(one.manifest.digest, "one"))
      yield* Effect.sleep("300 millis")
      const second = yield* Effect.fork(copyOf(two.digest, "two"))
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(first)
      const exit = yield* Fiber.await(second)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(yield* client.manifestDigest("share/dst", "two"), two.digest)
      assert.isTrue(yield* client.hasBlob("share/dst", base))
    }).pipe(Effect.provide(InMemory), Effect.scoped, Effect.timeout("20 seconds")))

  it.scoped("copies every tag, skips what exists on a re-run, copies a moved tag again", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const { index } = yield* pushIndex(client, "sync/src", "multi")
      const one = yield* pushImage(client, "sync/src")
      yield* client.putManifest("sync/src", "v1", one.manifest)
      const options = {
        from: { client, repository: "sync/src" },
        to: { client, repository: "sync/dst" }
      }
      const first = yield* RepositorySync.copyAllTags(options)
      assert.deepStrictEqual([first.copied, first.skipped, first.failed], [2, 0, 0])
      assert.strictEqual(yield* client.manifestDigest("sync/dst", "multi"), index.digest)
      assert.strictEqual(yield* client.manifestDigest("sync/dst", "v1"), one.manifest.digest)

      yield* registry.clearRequests
      const again = yield* RepositorySync.copyAllTags(options)
      assert.deepStrictEqual([again.copied, again.skipped, again.failed], [0, 2, 0])
      assert.deepStrictEqual((yield* registry.requests).filter((r) => r.method !== "HEAD" && r.method !== "GET"), [])

      const two = yield* pushImage(client, "sync/src", { os: "linux", architecture: "arm64" })
      yield* client.putManifest("sync/src", "v1", two.manifest)
      const moved = yield* RepositorySync.sync({
        from: client,
        to: client,
        repositories: [{ from: "sync/src", to: "sync/dst" }]
      })
      assert.deepStrictEqual(
        moved[0].tags.map((t) => [t.tag, t.status]).sort(),
        [["multi", "Skipped"], ["v1", "Copied"]]
      )
      assert.strictEqual(yield* client.manifestDigest("sync/dst", "v1"), two.manifest.digest)
    }).pipe(Effect.provide(InMemory)))

  it.scopedLive("waits out 429s on a tag; a tag still refused is reported and the others go on", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const a = yield* pushImage(client, "limit/src")
      const b = yield* pushImage(client, "limit/src", { os: "linux", architecture: "arm64" })
      yield* client.putManifest("limit/src", "a", a.manifest)
      yield* client.putManifest("limit/src", "b", b.manifest)
      // more 429s than the client retries itself: the sync waits and tries the tag again
      yield* registry.addFault({
        method: "PUT",
        path: /\/manifests\/a$/,
        times: 6,
        fault: { _tag: "Status", status: 429, retryAfter: 0, code: "TOOMANYREQUESTS" }
      })
      const result = yield* RepositorySync.copyAllTags({
        from: { client, repository: "limit/src" },
        to: { client, repository: "limit/dst" },
        maxWait: "10 millis",
        maxAttempts: 10
      })
      assert.deepStrictEqual(result.tags.map((t) => [t.tag, t.status]).sort(), [["a", "Copied"], ["b", "Copied"]])
      const refused = (yield* registry.requests).filter((r) => r.status === 429)
      assert.strictEqual(refused.length, 6)

      yield* registry.addFault({
        method: "PUT",
        path: /limit\/other\/manifests\/a$/,
        fault: { _tag: "Status", status: 429, retryAfter: 0, code: "TOOMANYREQUESTS" }
      })
      const partial = yield* RepositorySync.copyAllTags({
        from: { client, repository: "limit/src" },
        to: { client, repository: "limit/other" },
        maxWait: "10 millis",
        maxAttempts: 2
      })
      const failed = partial.tags.find((t) => t.tag === "a")
      assert.isTrue(failed?.status === "Failed" && failed.error._tag === "TooManyRequests")
      assert.deepStrictEqual([partial.copied, partial.failed], [1, 1])
      assert.strictEqual(yield* client.manifestDigest("limit/other", "b"), b.manifest.digest)
      yield* registry.clearFaults
    }).pipe(Effect.provide(InMemory)))
})

describe("IndexEdit", () => {
  it.scoped("creates an index from images (one from another repository), adds and replaces entries", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const amd = yield* pushImage(client, "idx/app", { os: "linux", architecture: "amd64" })
      const arm = yield* pushImage(client, "idx/other", { os: "linux", architecture: "arm", variant: "v7" })
      yield* client.putManifest("idx/app", "amd", amd.manifest)
      const created = yield* IndexEdit.create(client, "idx/app", [
        { reference: "amd" },
        { repository: "idx/other", reference: arm.manifest.digest }
      ], { tag: "v1", annotations: { "org.opencontainers.image.version": "1" } })
      const stored = yield* client.getManifest("idx/app", "v1")
      assert.strictEqual(stored.digest, created.digest)
      assert.strictEqual(stored.kind, "index")
      assert.deepStrictEqual(created.manifests.map((d) => [d.digest, d.platform]), [
        [amd.manifest.digest, { os: "linux", architecture: "amd64" }],
        [arm.manifest.digest, { os: "linux", architecture: "arm", variant: "v7" }]
      ])
      // the image from the other repository was copied in
      assert.isTrue(yield* client.hasBlob("idx/app", arm.layers[0].digest))

      const riscv = yield* pushImage(client, "idx/app", { os: "linux", architecture: "riscv64" })
      const amd2 = yield* pushImage(client, "idx/app", { os: "linux", architecture: "amd64" })
      const grown = yield* IndexEdit.add(client, "idx/app", "v1", [
        { reference: riscv.manifest.digest },
        { reference: amd2.manifest.digest }
      ])
      assert.strictEqual(grown.tag, "v1")
      assert.deepStrictEqual(grown.manifests.map((d) => d.digest), [
        arm.manifest.digest,
        riscv.manifest.digest,
        amd2.manifest.digest
      ])
      const after = yield* client.getManifest("idx/app", "v1")
      assert.isTrue(after.kind === "index" && after.manifest.annotations?.["org.opencontainers.image.version"] === "1")

      const list = yield* IndexEdit.create(client, "idx/app", [{ reference: "amd" }], { format: "docker" })
      assert.strictEqual(list.mediaType, MediaType.DockerManifestList)
      assert.isUndefined(list.tag)

      const nested = yield* Effect.either(IndexEdit.create(client, "idx/app", [{ reference: "v1" }]))
      assert.isTrue(
        Either.isLeft(nested) && nested.left._tag === "IndexEditError" && nested.left.reason === "NotAnImage"
      )
      const notIndex = yield* Effect.either(IndexEdit.add(client, "idx/app", "amd", [{ reference: "amd" }]))
      assert.isTrue(
        Either.isLeft(notIndex) && notIndex.left._tag === "IndexEditError" && notIndex.left.reason === "NotAnIndex"
      )
      const empty = yield* Effect.either(IndexEdit.create(client, "idx/app", []))
      assert.isTrue(Either.isLeft(empty) && empty.left._tag === "IndexEditError" && empty.left.reason === "Empty")
    }).pipe(Effect.provide(InMemory)))
})

describe("RateLimit", () => {
  it("parses Docker Hub's headers and the x- spellings", () => {
    assert.deepStrictEqual(
      RateLimit.fromHeaders({
        "ratelimit-limit": "100;w=21600",
        "ratelimit-remaining": "76;w=21600",
        "docker-ratelimit-source": "192.0.2.1"
      }),
      {
        limit: "100;w=21600",
        remaining: "76;w=21600",
        source: "192.0.2.1",
        limitCount: 100,
        remainingCount: 76,
        windowSeconds: 21600
      }
    )
    assert.deepStrictEqual(RateLimit.fromHeaders({ "x-ratelimit-remaining": "5" }), {
      remaining: "5",
      remainingCount: 5
    })
    assert.deepStrictEqual(RateLimit.fromHeaders({ "ratelimit-limit": "lots" }), { limit: "lots" })
    assert.isUndefined(RateLimit.fromHeaders({ "content-type": "x" }))
    assert.strictEqual(RateLimit.fromHeaders({ "ratelimit-limit": "9".repeat(1000) })?.limit?.length, 256)
  })

  it.scoped("a HEAD and a GET of a manifest carry the headers (loopback server)", () =>
    Effect.gen(function*() {
      const manifest = yield* ManifestBuilder.ociManifest({
        config: { mediaType: MediaType.OciConfig, digest: Digest.unsafeMake(`sha256:${"a".repeat(64)}`), size: 2 },
        layers: []
      })
      const server = yield* HostileServer.serve((req, res) => {
        if (req.url === "/v2/") {
          res.writeHead(200).end()
          return
        }
        res.writeHead(200, {
          "content-type": manifest.mediaType,
          "content-length": String(manifest.bytes.length),
          "docker-content-digest": manifest.digest,
          "ratelimit-limit": "100;w=21600",
          "ratelimit-remaining": req.method === "HEAD" ? "76;w=21600" : "75;w=21600",
          "docker-ratelimit-source": "192.0.2.1"
        })
        res.end(req.method === "HEAD" ? undefined : manifest.bytes)
      })
      const client = yield* Effect.map(
        Layer.build(NodeRegistry.layer({ url: server.host, plainHttp: true })),
        (ctx) => Context.get(ctx, RegistryClient.RegistryClient)
      )
      const head = yield* RateLimit.check(client, "library/alpine", "latest")
      assert.strictEqual(head.digest, manifest.digest)
      assert.strictEqual(head.mediaType, MediaType.OciManifest)
      assert.strictEqual(head.size, manifest.bytes.length)
      assert.deepStrictEqual([head.rateLimit?.limitCount, head.rateLimit?.remainingCount], [100, 76])
      assert.strictEqual(head.rateLimit?.source, "192.0.2.1")
      assert.deepStrictEqual(server.requests.filter((m) => m.includes("manifests")), [
        "HEAD /v2/library/alpine/manifests/latest"
      ])
      const got = yield* client.getManifest("library/alpine", "latest")
      assert.strictEqual(got.rateLimit?.remainingCount, 75)
    }))
})
