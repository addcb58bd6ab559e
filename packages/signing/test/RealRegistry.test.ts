/**
 * Against the real registry (distribution 2.8, schema1 enabled): our signed schema 1 manifests
 * are accepted, tampered ones refused with MANIFEST_UNVERIFIED, and the manifests the registry
 * signs itself (on every GET, and when it converts schema 2 to schema 1) verify with our verifier.
 * Plain `fetch` on 127.0.0.1: the client is not what is under test here.
 */
import { Digest, MediaType } from "@effect-registry/core"
import { Key, Schema1 } from "@effect-registry/signing"
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as zlib from "node:zlib"
import { bytes, text } from "./fixtures.js"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: Uint8Array
}

/** a copy in a plain ArrayBuffer, as `fetch` bodies want */
const body = (data: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(data)

const http = (url: string, init?: RequestInit) =>
  Effect.tryPromise(async (): Promise<Reply> => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) })
    return { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) }
  })

const pushBlob = (base: string, repository: string, data: Uint8Array) =>
  Effect.gen(function*() {
    const digest = yield* Digest.sha256(data)
    const start = yield* http(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST" })
    assert.strictEqual(start.status, 202)
    const location = new URL(start.headers.get("location") ?? "", base)
    location.searchParams.set("digest", digest)
    const put = yield* http(location.toString(), {
      method: "PUT",
      body: body(data),
      headers: { "content-type": "application/octet-stream" }
    })
    assert.strictEqual(put.status, 201, text(put.body))
    return { digest, size: data.length }
  })

const putManifest = (base: string, repository: string, reference: string, manifest: Uint8Array, contentType: string) =>
  http(`${base}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    body: body(manifest),
    headers: { "content-type": contentType }
  })

const getManifest = (base: string, repository: string, reference: string, accept: string) =>
  http(`${base}/v2/${repository}/manifests/${reference}`, { headers: { accept } })

describe("Schema1 against the real registry", () => {
  it.scopedLive(
    "a P-256 signed schema1 is accepted; tampering is MANIFEST_UNVERIFIED; GET re-signs and verifies",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "anonymous" })
        const base = registry.url
        const repository = "example/repo"
        const key = yield* Key.generate({ type: "EC", curve: "P-256" })
        const layerA = yield* pushBlob(base, repository, new Uint8Array(zlib.gzipSync(bytes("layer a"))))
        const layerB = yield* pushBlob(base, repository, new Uint8Array(zlib.gzipSync(bytes("layer b"))))
        const manifest = yield* Schema1.build({
          name: repository,
          tag: "latest",
          layers: [layerA.digest, layerB.digest],
          config: { architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] } }
        })
        const signed = yield* Schema1.sign(manifest, key)

        const put = yield* putManifest(base, repository, "latest", signed.bytes, signed.mediaType)
        assert.strictEqual(put.status, 201, text(put.body))
        assert.strictEqual(put.headers.get("docker-content-digest"), signed.digest)

        // the registry keeps the payload and signs it with its own key on GET
        const got = yield* getManifest(base, repository, "latest", MediaType.DockerManifestSchema1Signed)
        assert.strictEqual(got.status, 200)
        assert.strictEqual(got.headers.get("docker-content-digest"), signed.digest)
        const verified = yield* Schema1.verify(got.body)
        assert.strictEqual(verified.digest, signed.digest)
        assert.isAtLeast(verified.keyIds.length, 1)
        assert.deepStrictEqual(verified.manifest.fsLayers.map((l) => l.blobSum), [layerB.digest, layerA.digest])

        // a tampered payload: refused by the registry and by us
        const tampered = bytes(text(signed.bytes).replace(`"tag": "latest"`, `"tag": "lat3st"`))
        const refused = yield* putManifest(base, repository, "lat3st", tampered, signed.mediaType)
        assert.strictEqual(refused.status, 400)
        assert.include(text(refused.body), "MANIFEST_UNVERIFIED")
        const ours = yield* Effect.flip(Schema1.verify(tampered))
        assert.strictEqual(ours.reason, "BadSignature")

        // two signers, RSA and P-521, also accepted
        const rsa = yield* Key.generate({ type: "RSA" })
        const p521 = yield* Key.generate({ type: "EC", curve: "P-521" })
        const twice = yield* Schema1.sign({ ...manifest, tag: "two" }, [rsa, p521])
        const putTwice = yield* putManifest(base, repository, "two", twice.bytes, twice.mediaType)
        assert.strictEqual(putTwice.status, 201, text(putTwice.body))
        assert.strictEqual(putTwice.headers.get("docker-content-digest"), twice.digest)
      }),
    120_000
  )

  it.scopedLive(
    "a schema2 image served as schema1 carries a signature our verifier accepts",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "anonymous" })
        const base = registry.url
        const repository = "example/converted"
        const raw = bytes("layer contents")
        const layer = yield* pushBlob(base, repository, new Uint8Array(zlib.gzipSync(raw)))
        const diffId = yield* Digest.sha256(raw)
        const config = yield* pushBlob(
          base,
          repository,
          bytes(JSON.stringify({
            architecture: "amd64",
            os: "linux",
            config: { Cmd: ["/bin/sh"] },
            rootfs: { type: "layers", diff_ids: [diffId] },
            history: [{ created: "2024-01-01T00:00:00Z", created_by: "ADD layer" }]
          }))
        )
        const schema2 = JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.DockerManifestSchema2,
          config: { mediaType: MediaType.DockerContainerConfig, digest: config.digest, size: config.size },
          layers: [{ mediaType: MediaType.DockerLayerGzip, digest: layer.digest, size: layer.size }]
        })
        const put = yield* putManifest(base, repository, "v2", bytes(schema2), MediaType.DockerManifestSchema2)
        assert.strictEqual(put.status, 201, text(put.body))

        const got = yield* getManifest(base, repository, "v2", MediaType.DockerManifestSchema1Signed)
        assert.strictEqual(got.status, 200)
        assert.include(got.headers.get("content-type") ?? "", "prettyjws")
        const verified = yield* Schema1.verify(got.body)
        assert.strictEqual(verified.digest, got.headers.get("docker-content-digest"))
        assert.deepStrictEqual(verified.manifest.fsLayers.map((l) => l.blobSum), [layer.digest])
        assert.strictEqual(verified.keyIds.length, 1)
      }),
    120_000
  )
})
