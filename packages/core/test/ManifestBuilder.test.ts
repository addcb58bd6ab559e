import { Descriptor, Digest, Manifest, ManifestBuilder, MediaType, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { createHash } from "node:crypto"

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const layer = (n: number): Descriptor.Descriptor => ({
  mediaType: MediaType.OciLayerGzip,
  digest: Digest.unsafeMake(`sha256:${n.toString(16).padStart(64, "0")}`),
  size: n
})

describe("ManifestBuilder", () => {
  it.effect("ociManifest: compact bytes in spec order, digest = sha256(bytes), decodes back", () =>
    Effect.gen(function*() {
      const m = yield* ManifestBuilder.ociManifest({
        config: MediaType.OciEmptyDescriptor,
        layers: [{ ...layer(7), annotations: { z: "1", a: "2" } }],
        annotations: { "org.opencontainers.image.title": "x", b: "y" },
        artifactType: "application/vnd.example"
      })
      assert.strictEqual(
        text(m.bytes),
        `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example",` +
          `"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"${MediaType.OciEmptyDigest}","size":2,"data":"e30="},` +
          `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${
            layer(7).digest
          }","size":7,` +
          `"annotations":{"a":"2","z":"1"}}],"annotations":{"b":"y","org.opencontainers.image.title":"x"}}`
      )
      assert.strictEqual(m.digest, sha(m.bytes))
      assert.strictEqual(m.kind, "oci")
      const back = yield* Manifest.decode(m.bytes, { contentType: m.mediaType })
      assert.deepStrictEqual(back.manifest, m.manifest)
      assert.strictEqual(back.digest, m.digest)
    }))

  it.effect("schema2, ociIndex, manifestList, artifact with subject", () =>
    Effect.gen(function*() {
      const cfg = yield* ManifestBuilder.imageConfig(
        { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer(1).digest] } },
        { mediaType: MediaType.DockerContainerConfig }
      )
      const s2 = yield* ManifestBuilder.schema2({ config: cfg.descriptor, layers: [layer(1)] })
      assert.strictEqual(s2.mediaType, MediaType.DockerManifestSchema2)
      assert.strictEqual(s2.digest, sha(s2.bytes))
      assert.isTrue(
        text(s2.bytes).startsWith(`{"schemaVersion":2,"mediaType":"${MediaType.DockerManifestSchema2}","config":`)
      )
      const platform = { architecture: "arm64", os: "linux", variant: "v8" }
      const list = yield* ManifestBuilder.manifestList({ manifests: [{ ...Manifest.descriptor(s2), platform }] })
      assert.strictEqual(list.kind, "list")
      assert.include(text(list.bytes), `"platform":{"architecture":"arm64","os":"linux","variant":"v8"}`)
      const index = yield* ManifestBuilder.ociIndex({ manifests: [Manifest.descriptor(s2)] })
      assert.strictEqual(index.digest, sha(index.bytes))
      const sig = yield* ManifestBuilder.artifact({
        artifactType: "application/vnd.example.sig",
        layers: [],
        subject: Manifest.descriptor(s2)
      })
      assert.deepStrictEqual(sig.manifest.layers, [MediaType.OciEmptyDescriptor])
      assert.strictEqual(sig.manifest.subject?.digest, s2.digest)
      for (const m of [s2, list, index, sig]) {
        const back = yield* Manifest.decode(m.bytes)
        assert.strictEqual(back.digest, sha(m.bytes))
        assert.strictEqual(back.kind, m.kind)
      }
    }))

  it.effect("imageConfig: canonical order, decodes back, descriptor digest", () =>
    Effect.gen(function*() {
      const cfg = yield* ManifestBuilder.imageConfig({
        os: "linux",
        architecture: "amd64",
        created: "2024-01-01T00:00:00Z",
        config: { Labels: { b: "2", a: "1" }, Env: ["PATH=/bin"], Cmd: null },
        rootfs: { type: "layers", diff_ids: [] },
        history: [{ created_by: "x", empty_layer: true }]
      })
      assert.strictEqual(
        text(cfg.bytes),
        `{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":null,` +
          `"Labels":{"a":"1","b":"2"}},"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"x","empty_layer":true}]}`
      )
      assert.deepStrictEqual(cfg.descriptor, {
        mediaType: MediaType.OciConfig,
        digest: Digest.unsafeMake(sha(cfg.bytes)),
        size: cfg.bytes.length
      })
      assert.strictEqual(cfg.value.os, "linux")
    }))

  it.effect("keeps extra descriptor fields, refuses values JSON cannot hold", () =>
    Effect.gen(function*() {
      const m = yield* ManifestBuilder.ociManifest({ config: { ...layer(2), "x-vendor": { k: 1 } }, layers: [] })
      assert.include(text(m.bytes), `"size":2,"x-vendor":{"k":1}}`)
      const e = yield* Effect.flip(ManifestBuilder.ociManifest({ config: { ...layer(2), bad: BigInt(1) }, layers: [] }))
      assert.instanceOf(e, RegistryError.ManifestInvalid)
      assert.include(e.detail ?? "", "config.bad")
      const big = yield* Effect.flip(ManifestBuilder.ociIndex({ manifests: [layer(1), layer(2)] }, { maxSize: 100 }))
      assert.strictEqual(big.reason, "TooLarge")
    }))

  it.effect.prop(
    "built manifests decode back with digest = sha256(bytes)",
    [
      FastCheck.array(FastCheck.integer({ min: 0, max: 1e9 }), { maxLength: 20 }),
      FastCheck.dictionary(FastCheck.string(), FastCheck.string(), { maxKeys: 5 })
    ],
    ([sizes, annotations]) =>
      Effect.gen(function*() {
        const m = yield* ManifestBuilder.ociManifest({
          config: MediaType.OciEmptyDescriptor,
          layers: sizes.map(layer),
          annotations
        })
        const back = yield* Manifest.decode(m.bytes)
        assert.strictEqual(back.digest, sha(m.bytes))
        assert.deepStrictEqual(back.manifest, m.manifest)
        if (back.kind === "oci") assert.strictEqual(back.manifest.layers.length, sizes.length)
      })
  )
})
