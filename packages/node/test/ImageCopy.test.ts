import { AuthService, ManifestBuilder, MediaType, RegistryClient } from "@effect-registry/core"
import { ImageCopy, Progress } from "@effect-registry/core"
import { NodeHash, NodeRegistry } from "@effect-registry/node"
import { RealRegistry } from "@effect-registry/test-infra"
import { InMemoryRegistry } from "@effect-registry/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { descriptorOf, pushImage, pushIndex, uploadBytes } from "./support/images.js"

const realClient = (registry: RealRegistry.Running) =>
  Effect.map(
    Layer.build(NodeRegistry.layer({ url: registry.host, plainHttp: true })),
    (ctx) => Context.get(ctx, RegistryClient.RegistryClient)
  )

const collect = () => {
  const events: Array<Progress.Event> = []
  return { events, layer: Progress.callback((e) => void events.push(e)) }
}

layer(RealRegistry.layer(), { timeout: "120 seconds", excludeTestServices: true })(
  "ImageCopy, docker-registry",
  (it) => {
    it.scoped("between two repositories of one registry: blobs mounted, digests identical", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const image = yield* pushImage(client, "copy/src")
        yield* client.putManifest("copy/src", "v1", image.manifest)
        const result = yield* ImageCopy.copy({
          from: { client, repository: "copy/src", reference: "v1" },
          to: { client, repository: "copy/dst" }
        })
        assert.strictEqual(result.digest, image.manifest.digest)
        assert.strictEqual(result.tag, "v1")
        assert.strictEqual(result.mounted, 3)
        assert.strictEqual(result.transferred, 0)
        assert.strictEqual(result.bytes, 0)
        assert.strictEqual(yield* client.manifestDigest("copy/dst", "v1"), image.manifest.digest)
        // the registry's access log shows the three mounts answered 201
        const logs = yield* registry.logs
        const mounts = logs.split("\n").filter((l) =>
          /POST \/v2\/copy\/dst\/blobs\/uploads\/\?.*mount=/.test(l) && / 201 /.test(l)
        )
        assert.strictEqual(mounts.length, 3)

        // again: everything is there already
        const again = yield* ImageCopy.copy({
          from: { client, repository: "copy/src", reference: "v1" },
          to: { client, repository: "copy/dst", tag: "v2" }
        })
        assert.deepStrictEqual([again.existed, again.mounted, again.transferred], [3, 0, 0])
        assert.strictEqual(yield* client.manifestDigest("copy/dst", "v2"), image.manifest.digest)
      }))

    it.scoped("between two registry processes: a blob the source serves with other bytes fails the copy, nothing stored", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const other = yield* RealRegistry.make()
        const from = yield* realClient(registry)
        const to = yield* realClient(other)
        const image = yield* pushImage(from, "bad/src", { os: "linux", architecture: "amd64" }, 3 * 1024 * 1024)
        yield* from.putManifest("bad/src", "v1", image.manifest)
        // the source's stored layer is rewritten in place with other bytes of the same size
        const layer = image.layers[0]
        const hex = layer.digest.slice("sha256:".length)
        const data = path.join(registry.rootDirectory, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data")
        const bytes = fs.readFileSync(data)
        bytes[bytes.length - 1] ^= 0xff
        fs.writeFileSync(data, bytes)
        const result = yield* Effect.either(ImageCopy.copy({
          from: { client: from, repository: "bad/src", reference: "v1" },
          to: { client: to, repository: "bad/dst", tag: "v1" }
        }))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "DigestMismatch", String(result))
        assert.isFalse(yield* to.hasBlob("bad/dst", layer.digest))
        assert.isFalse(yield* Effect.either(to.getManifest("bad/dst", "v1")).pipe(Effect.map(Either.isRight)))
      }))

    it.scoped("between two registry processes: an index with two platforms, progress adds up", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const other = yield* RealRegistry.make()
        const from = yield* realClient(registry)
        const to = yield* realClient(other)
        const { amd, arm, index } = yield* pushIndex(from, "multi/src", "latest")
        const progress = collect()
        const result = yield* ImageCopy.copy({
          from: { client: from, repository: "multi/src", reference: "latest" },
          to: { client: to, repository: "multi/dst", tag: "copied" },
          concurrency: 2
        }).pipe(Effect.provide(progress.layer))
        const total = amd.bytes + arm.bytes
        assert.strictEqual(result.digest, index.digest)
        assert.deepStrictEqual(result.manifests, [amd.manifest.digest, arm.manifest.digest, index.digest])
        assert.deepStrictEqual([result.transferred, result.existed, result.mounted, result.bytes], [6, 0, 0, total])
        const done = progress.events.filter((e): e is Progress.BlobDone => e._tag === "BlobDone")
        assert.strictEqual(done.reduce((n, e) => n + e.bytes, 0), total)
        assert.isTrue(done.every((e) => e.bytes === e.total && e.outcome === "Transferred"))
        const starts = progress.events.filter((e) => e._tag === "BlobStart")
        assert.strictEqual(starts.length, 6)
        const last = progress.events[progress.events.length - 1]
        assert.deepStrictEqual(last, { _tag: "ImageDone", digest: index.digest, bytes: total, total })
        const copied = yield* to.getManifest("multi/dst", "copied")
        assert.strictEqual(copied.digest, index.digest)
        assert.deepStrictEqual(copied.bytes, index.bytes)

        // one platform: only that child, tagged
        const one = yield* ImageCopy.copy({
          from: { client: from, repository: "multi/src", reference: "latest" },
          to: { client: to, repository: "multi/arm", tag: "arm" },
          platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }]
        })
        assert.strictEqual(one.digest, arm.manifest.digest)
        assert.deepStrictEqual(one.manifests, [arm.manifest.digest])
        assert.strictEqual(one.transferred, 3)
        assert.strictEqual(yield* to.manifestDigest("multi/arm", "arm"), arm.manifest.digest)
        const missingIndex = yield* Effect.either(to.getManifest("multi/arm", index.digest))
        assert.isTrue(Either.isLeft(missingIndex))

        // two platforms: both children by digest, no tag
        const both = yield* ImageCopy.copy({
          from: { client: from, repository: "multi/src", reference: "latest" },
          to: { client: to, repository: "multi/both", tag: "x" },
          platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }]
        })
        assert.isUndefined(both.tag)
        assert.sameMembers([...both.manifests], [amd.manifest.digest, arm.manifest.digest])
        assert.deepStrictEqual(yield* to.tags("multi/both").pipe(Effect.orElseSucceed(() => [])), [])

        const unknown = yield* Effect.either(ImageCopy.copy({
          from: { client: from, repository: "multi/src", reference: "latest" },
          to: { client: to, repository: "multi/none" },
          platforms: [{ os: "windows", architecture: "amd64" }]
        }))
        assert.isTrue(Either.isLeft(unknown) && unknown.left._tag === "ImageCopyError")
      }))
  }
)

describe("ImageCopy in memory", () => {
  const InMemory = RegistryClient.layer({ url: "http://registry.test" }).pipe(
    Layer.provideMerge(Layer.mergeAll(AuthService.anonymous, NodeHash.layer)),
    Layer.provideMerge(InMemoryRegistry.layer())
  )

  it.scoped("copies referrers on request", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const image = yield* pushImage(client, "ref/src")
      yield* client.putManifest("ref/src", "v1", image.manifest)
      const payload = yield* uploadBytes(
        client,
        "ref/src",
        "application/vnd.example.sig",
        new TextEncoder().encode("sig")
      )
      const sig = yield* ManifestBuilder.artifact({
        artifactType: "application/vnd.example.sig",
        layers: [payload],
        subject: descriptorOf(image.manifest)
      })
      yield* uploadBytes(client, "ref/src", MediaType.OciEmpty, new TextEncoder().encode("{}"))
      yield* client.putManifest("ref/src", sig.digest, sig)

      const without = yield* ImageCopy.copy({
        from: { client, repository: "ref/src", reference: "v1" },
        to: { client, repository: "ref/plain" }
      })
      assert.deepStrictEqual(without.manifests, [image.manifest.digest])
      assert.deepStrictEqual(yield* client.referrers("ref/plain", image.manifest.digest), [])

      const result = yield* ImageCopy.copy({
        from: { client, repository: "ref/src", reference: "v1" },
        to: { client, repository: "ref/dst" },
        referrers: true
      })
      assert.deepStrictEqual(result.manifests, [image.manifest.digest, sig.digest])
      const referrers = yield* client.referrers("ref/dst", image.manifest.digest)
      assert.deepStrictEqual(referrers.map((d) => d.digest), [sig.digest])
      assert.strictEqual(result.mounted, 5)
    }).pipe(Effect.provide(InMemory)))
})
