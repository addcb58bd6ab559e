/**
 * The README example, end to end against the real registry with our client: generate a P-256
 * key, build and sign a schema 1 manifest, upload the layers, `putManifest`, read it back with
 * `client.manifest()` (which asks for schema 1) and verify the registry's signature.
 */
import { AuthService, BlobSource, Digest, RegistryClient } from "@effect-registry/core"
import { NodeHash, NodeHttp } from "@effect-registry/node"
import { Key, Schema1 } from "@effect-registry/signing"
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as zlib from "node:zlib"
import { bytes } from "./fixtures.js"

const clientLayer = (url: string) =>
  RegistryClient.layer({ url }).pipe(
    Layer.provide(Layer.merge(AuthService.anonymous, NodeHash.layer)),
    Layer.provide(NodeHttp.layer())
  )

const publish = Effect.gen(function*() {
  const client = yield* RegistryClient.RegistryClient
  const key = yield* Key.generate({ type: "EC", curve: "P-256" })

  const blobs = [new Uint8Array(zlib.gzipSync(bytes("base layer"))), new Uint8Array(zlib.gzipSync(bytes("app layer")))]
  const layers: Array<Digest.Digest> = []
  for (const blob of blobs) {
    const digest = yield* Digest.sha256(blob)
    yield* client.uploadBlob("example/repo", digest, BlobSource.fromBytes(blob), { size: blob.length })
    layers.push(digest)
  }

  const manifest = yield* Schema1.build({
    name: "example/repo",
    tag: "latest",
    layers,
    config: { architecture: "amd64", os: "linux", config: { Cmd: ["/app"] } }
  })
  const signed = yield* Schema1.sign(manifest, key)
  const digest = yield* client.putManifest("example/repo", "latest", signed)
  return { digest, key, layers, signed }
})

describe("publishing a signed schema1 image with RegistryClient", () => {
  it.scopedLive("put, read back, verify", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ mode: "anonymous" })
      yield* Effect.gen(function*() {
        const { digest, layers, signed } = yield* publish
        assert.strictEqual(digest, signed.digest)

        const client = yield* RegistryClient.RegistryClient
        const back = yield* client.manifest("example/repo", "latest")
        assert.strictEqual(back.kind, "schema1")
        assert.strictEqual(back.digest, signed.digest)
        const verified = yield* Schema1.verify(back.bytes)
        assert.strictEqual(verified.digest, signed.digest)
        assert.deepStrictEqual(verified.manifest.fsLayers.map((l) => l.blobSum), [...layers].reverse())
      }).pipe(Effect.provide(clientLayer(registry.url)))
    }), 120_000)
})
