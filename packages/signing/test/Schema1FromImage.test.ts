import { AuthService, BlobSource, Digest, ManifestBuilder, MediaType, RegistryClient } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import { Key, Schema1 } from "@effect-registry/signing"
import { InMemoryRegistry } from "@effect-registry/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"

const TestRegistry = RegistryClient.layer({ url: "http://registry.test" }).pipe(
  Layer.provide(AuthService.anonymous),
  Layer.provideMerge(Layer.merge(InMemoryRegistry.layer(), PortableHash.layer))
)

const utf8 = (s: string) => new TextEncoder().encode(s)

const upload = (client: RegistryClient.Service, bytes: Uint8Array) =>
  Effect.flatMap(
    Digest.sha256(bytes),
    (digest) => Effect.as(client.uploadBlob("app", digest, BlobSource.fromBytes(bytes), { size: bytes.length }), digest)
  )

// An image of two layers and a config with a history, uploaded to "app".
const image = Effect.gen(function*() {
  const client = yield* RegistryClient.RegistryClient
  const layers = [utf8("layer one"), utf8("layer two")]
  const digests = yield* Effect.forEach(layers, (bytes) => upload(client, bytes))
  const config = yield* ManifestBuilder.imageConfig({
    architecture: "arm64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: digests },
    history: [{ created_by: "ADD one" }, { created_by: "ENV X=1", empty_layer: true }, { created_by: "RUN two" }]
  })
  yield* upload(client, config.bytes)
  const manifest = yield* ManifestBuilder.ociManifest({
    config: config.descriptor,
    layers: layers.map((bytes, i) => ({ mediaType: MediaType.OciLayerGzip, digest: digests[i], size: bytes.length }))
  })
  return { client, digests, config, manifest }
})

describe("Schema1.fromImage", () => {
  it.effect("converts an OCI image: its layers, its config as the top v1Compatibility, the repository as name", () =>
    Effect.gen(function*() {
      const { client, config, digests, manifest } = yield* image
      const input = yield* Schema1.fromImage(client, "app", manifest, { tag: "v1" })
      assert.isFalse(input instanceof Uint8Array)
      if (input instanceof Uint8Array) return
      assert.strictEqual(input.name, "app")
      assert.strictEqual(input.tag, "v1")
      assert.strictEqual(input.architecture, "arm64")
      // newest first
      assert.deepStrictEqual(input.fsLayers.map((l) => l.blobSum), [digests[1], digests[0]])
      const top = JSON.parse(input.history[0].v1Compatibility)
      assert.strictEqual(top.os, "linux")
      assert.isUndefined(top.rootfs)
      const bottom = JSON.parse(input.history[1].v1Compatibility)
      assert.deepStrictEqual(bottom.container_config.Cmd, ["ADD one"])
      // the same as build from the same parts
      const built = yield* Schema1.build({ name: "app", tag: "v1", layers: digests, config: config.bytes })
      assert.deepStrictEqual(input, built)
      // and it signs
      const key = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
        format: "pem",
        type: "pkcs8"
      })
      const signed = yield* Schema1.sign(input, yield* Key.privateKeyFromPem(String(key)))
      const verified = yield* Schema1.verify(signed.bytes)
      assert.strictEqual(verified.keyIds.length, 1)
    }).pipe(Effect.provide(TestRegistry)))

  it.effect("a schema 1 manifest is returned as its exact bytes", () =>
    Effect.gen(function*() {
      const { client, config, digests } = yield* image
      const built = yield* Schema1.build({ name: "app", tag: "v1", layers: digests, config: config.bytes })
      const key = Crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
        format: "pem",
        type: "pkcs8"
      })
      const signed = yield* Schema1.sign(built, yield* Key.privateKeyFromPem(String(key)))
      const input = yield* Schema1.fromImage(client, "app", signed, { tag: "other" })
      assert.strictEqual(input, signed.bytes)
    }).pipe(Effect.provide(TestRegistry)))

  it.effect("an index or an oversized config is a BuildError saying what", () =>
    Effect.gen(function*() {
      const { client, config, manifest } = yield* image
      const index = yield* ManifestBuilder.ociIndex({
        manifests: [{ mediaType: MediaType.OciManifest, digest: manifest.digest, size: manifest.bytes.length }]
      })
      const notAnImage = yield* Effect.flip(Schema1.fromImage(client, "app", index, { tag: "v1" }))
      assert.strictEqual(notAnImage._tag, "BuildError")
      if (notAnImage._tag === "BuildError") assert.strictEqual(notAnImage.reason, "NotAnImage")
      assert.include(notAnImage.message, "choose one of its images")

      // announced larger than the bound: refused before any download
      const huge = yield* ManifestBuilder.ociManifest({
        config: { ...config.descriptor, size: Schema1.MaxConfigBytes + 1 },
        layers: manifest.manifest.layers
      })
      const tooBig = yield* Effect.flip(Schema1.fromImage(client, "app", huge, { tag: "v1" }))
      assert.strictEqual(tooBig._tag, "BuildError")
      assert.include(tooBig.message, "more than")

      // the registry has more bytes than the manifest announces: the download, bounded by the descriptor's
      // size, is refused before reading (the registry's Content-Length differs)
      const short = yield* ManifestBuilder.ociManifest({
        config: { ...config.descriptor, size: 3 },
        layers: manifest.manifest.layers
      })
      const longer = yield* Effect.flip(Schema1.fromImage(client, "app", short, { tag: "v1" }))
      assert.strictEqual(longer._tag, "SizeMismatch")
      if (longer._tag === "SizeMismatch") assert.strictEqual(longer.expected, 3)
    }).pipe(Effect.provide(TestRegistry)))
})
