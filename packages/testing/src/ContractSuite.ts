/**
 * One suite of registry behaviour tests that runs the client's whole surface
 * against a registry target: the in-memory registry, a real registry process,
 * or your own registry.
 *
 * A target declares what its registry can do (`Capabilities`). Where a
 * registry does less than the OCI 1.1 distribution spec (no referrers API,
 * deletes disabled, tag listings without pagination), the suite checks what
 * the client does instead (the referrers tag-schema fallback, the typed
 * `Unsupported` error, the whole list) rather than skipping a test.
 *
 * @example
 * ```ts
 * // registry.contract.test.ts
 * // (a subpath: it imports vitest, so it is not in the package barrel)
 * import * as ContractSuite from "@effect-registry/testing/ContractSuite"
 *
 * ContractSuite.suite({
 *   name: "my registry",
 *   layer: myRegistryClientLayer, // Layer<RegistryClient>
 *   capabilities: ContractSuite.distribution
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Manifest from "@effect-registry/core/Manifest"
import * as ManifestBuilder from "@effect-registry/core/ManifestBuilder"
import * as MediaType from "@effect-registry/core/MediaType"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { assert, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * What a registry supports beyond the base protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capabilities {
  /** `GET /v2/<name>/referrers/<digest>` (OCI 1.1). Without it the suite checks the tag-schema fallback. */
  readonly referrersApi: boolean
  /** Manifest and blob deletes. Without them the suite checks for `Unsupported`. */
  readonly deleteEnabled: boolean
  /** Honours `n` and `last` on tag listings (answers with `Link` pages). Either way the whole list must come back. */
  readonly tagPagination: boolean
  /** Lists repositories in `/v2/_catalog`. */
  readonly catalog: boolean
}

/**
 * What Debian's `docker-registry` (distribution 2.8) supports.
 *
 * @since 0.1.0
 * @category constants
 */
export const distribution: Capabilities = {
  referrersApi: false,
  deleteEnabled: true,
  tagPagination: false,
  catalog: true
}

/**
 * What the in-memory registry of this package supports.
 *
 * @since 0.1.0
 * @category constants
 */
export const inMemory: Capabilities = {
  referrersApi: true,
  deleteEnabled: true,
  tagPagination: true,
  catalog: true
}

/**
 * A registry to run the suite against.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly name: string
  /** Provides a `RegistryClient` connected to the registry (with whatever auth it needs). */
  readonly layer: Layer.Layer<RegistryClient.RegistryClient, unknown>
  readonly capabilities: Capabilities
  /** Per-test timeout. Default 60 s. */
  readonly timeout?: number | undefined
}

const randomBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += 65536) {
    globalThis.crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)))
  }
  return bytes
}

const uniqueRepository = (label: string): string => {
  const suffix = Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, "0")).join("")
  return `contract/${label}-${suffix}`
}

const collect = BlobSource.collectBytes

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

interface Blob {
  readonly bytes: Uint8Array
  readonly descriptor: Descriptor.Descriptor
}

const blobOf = (bytes: Uint8Array, mediaType: string): Effect.Effect<Blob> =>
  Effect.map(Digest.sha256(bytes), (digest) => ({ bytes, descriptor: { mediaType, digest, size: bytes.length } }))

/** Pushes a small image (config and two layers) and returns its parts. */
const pushImage = (client: RegistryClient.Service, repository: string, tag: string, kind: "oci" | "schema2") =>
  Effect.gen(function*() {
    const layerMediaType = kind === "oci" ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip
    const layers = [
      yield* blobOf(randomBytes(1024 + Math.floor(Math.random() * 1024)), layerMediaType),
      yield* blobOf(randomBytes(2048), layerMediaType)
    ]
    const config = yield* ManifestBuilder.imageConfig({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.descriptor.digest) }
    }, { mediaType: kind === "oci" ? MediaType.OciConfig : MediaType.DockerContainerConfig })
    for (const blob of [...layers, { bytes: config.bytes, descriptor: config.descriptor }]) {
      yield* client.uploadBlob(repository, blob.descriptor.digest, BlobSource.fromBytes(blob.bytes), {
        size: blob.bytes.length
      })
    }
    const manifest = kind === "oci"
      ? yield* ManifestBuilder.ociManifest({ config: config.descriptor, layers: layers.map((l) => l.descriptor) })
      : yield* ManifestBuilder.schema2({ config: config.descriptor, layers: layers.map((l) => l.descriptor) })
    const digest = yield* client.putManifest(repository, tag, manifest)
    return { layers, config, manifest, digest }
  })

/**
 * Registers the suite with vitest (call it at the top level of a test file).
 *
 * @since 0.1.0
 * @category suites
 */
export const suite = (target: Target): void => {
  const timeout = target.timeout ?? 60_000
  const caps = target.capabilities
  layer(target.layer, { excludeTestServices: true, timeout: "120 seconds" })(`contract: ${target.name}`, (it) => {
    const client = RegistryClient.RegistryClient

    it.effect("ping answers", () =>
      Effect.gen(function*() {
        const c = yield* client
        yield* c.ping()
        assert.isTrue(c.url.startsWith("http"))
      }), timeout)

    it.effect("monolithic upload, HEAD, metadata and verified download", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("mono")
        const blob = yield* blobOf(randomBytes(100_000), "application/octet-stream")
        const digest = blob.descriptor.digest
        assert.isFalse(yield* c.hasBlob(repository, digest))
        const result = yield* c.uploadBlob(repository, digest, BlobSource.fromBytes(blob.bytes), {
          size: blob.bytes.length
        })
        assert.strictEqual(result.digest, digest)
        assert.isFalse(result.skipped)
        assert.isTrue(yield* c.hasBlob(repository, digest))
        const meta = yield* c.blobMetadata(repository, digest)
        assert.strictEqual(meta.digest, digest)
        assert.strictEqual(meta.size, blob.bytes.length)
        const downloaded = yield* collect(c.downloadBlob(repository, digest))
        assert.isTrue(sameBytes(downloaded, blob.bytes))
        const again = yield* c.uploadBlob(repository, digest, BlobSource.fromBytes(blob.bytes), {
          size: blob.bytes.length
        })
        assert.isTrue(again.skipped, "a blob the repository has is not sent again")
      }), timeout)

    it.effect("chunked upload follows every Location and stores the exact bytes", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("chunked")
        const blob = yield* blobOf(randomBytes(300_000), "application/octet-stream")
        const result = yield* c.uploadBlob(
          repository,
          blob.descriptor.digest,
          BlobSource.fromBytes(blob.bytes),
          { size: blob.bytes.length, chunkSize: 64 * 1024 }
        )
        assert.strictEqual(result.digest, blob.descriptor.digest)
        const downloaded = yield* collect(c.downloadBlob(repository, blob.descriptor.digest))
        assert.isTrue(sameBytes(downloaded, blob.bytes))
      }), timeout)

    it.effect("streamed upload of unknown size from a one-shot stream", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("stream")
        const parts = [randomBytes(10_000), randomBytes(7), randomBytes(33_333)]
        const whole = BlobSource.concatBytes(parts)
        const digest = yield* Digest.sha256(whole)
        yield* c.uploadBlob(repository, digest, Stream.fromIterable(parts))
        const downloaded = yield* collect(c.downloadBlob(repository, digest))
        assert.isTrue(sameBytes(downloaded, whole))
      }), timeout)

    it.effect("an empty blob uploads and downloads", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("empty")
        const empty = new Uint8Array(0)
        const digest = yield* Digest.sha256(empty)
        yield* c.uploadBlob(repository, digest, BlobSource.fromBytes(empty), { size: 0 })
        assert.isTrue(yield* c.hasBlob(repository, digest))
        const downloaded = yield* collect(c.downloadBlob(repository, digest))
        assert.strictEqual(downloaded.length, 0)
      }), timeout)

    it.effect("bytes that do not match the digest are refused", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("mismatch")
        const bytes = randomBytes(4096)
        const wrong = yield* Digest.sha256(randomBytes(16))
        const exit = yield* Effect.exit(
          c.uploadBlob(repository, wrong, BlobSource.fromBytes(bytes), { size: bytes.length })
        )
        const error = failureOf(exit)
        assert.include(["DigestMismatch", "DigestInvalid"], error?._tag)
        assert.isFalse(yield* c.hasBlob(repository, wrong), "nothing is stored under the wrong digest")
      }), timeout)

    it.effect("OCI image: put by tag, read by tag and digest with exact bytes", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("oci")
        const image = yield* pushImage(c, repository, "v1", "oci")
        assert.strictEqual(image.digest, image.manifest.digest)
        const byTag = yield* c.getManifest(repository, "v1")
        assert.strictEqual(byTag.kind, "oci")
        assert.strictEqual(byTag.digest, image.digest)
        assert.isTrue(sameBytes(byTag.bytes, image.manifest.bytes))
        const byDigest = yield* c.getManifest(repository, image.digest)
        assert.isTrue(sameBytes(byDigest.bytes, image.manifest.bytes))
        assert.strictEqual(yield* c.manifestDigest(repository, "v1"), image.digest)
        const config = yield* collect(c.downloadBlob(repository, image.config.descriptor.digest))
        assert.isTrue(sameBytes(config, image.config.bytes))
      }), timeout)

    it.effect("Docker schema2 image: manifestV2 returns it unchanged", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("schema2")
        const image = yield* pushImage(c, repository, "latest", "schema2")
        const got = yield* c.manifestV2(repository, "latest")
        assert.strictEqual(got.kind, "schema2")
        assert.strictEqual(got.mediaType, MediaType.DockerManifestSchema2)
        assert.strictEqual(got.digest, image.digest)
        assert.isTrue(sameBytes(got.bytes, image.manifest.bytes))
      }), timeout)

    it.effect("OCI index and Docker manifest list over two platform images", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("index")
        const amd = yield* pushImage(c, repository, "amd64", "oci")
        const arm = yield* pushImage(c, repository, "arm64", "oci")
        const entries = [
          { ...Manifest.descriptor(amd.manifest), platform: { architecture: "amd64", os: "linux" } },
          { ...Manifest.descriptor(arm.manifest), platform: { architecture: "arm64", os: "linux", variant: "v8" } }
        ]
        const index = yield* ManifestBuilder.ociIndex({ manifests: entries })
        const digest = yield* c.putManifest(repository, "multi", index)
        const got = yield* c.getManifest(repository, "multi")
        assert.strictEqual(got.kind, "index")
        assert.strictEqual(got.digest, digest)
        assert.isTrue(sameBytes(got.bytes, index.bytes))
        assert.deepStrictEqual(Manifest.children(got).map((d) => d.digest), [amd.digest, arm.digest])

        const dockerAmd = yield* pushImage(c, repository, "d-amd64", "schema2")
        const list = yield* ManifestBuilder.manifestList({
          manifests: [{ ...Manifest.descriptor(dockerAmd.manifest), platform: { architecture: "amd64", os: "linux" } }]
        })
        const listDigest = yield* c.putManifest(repository, "list", list)
        const gotList = yield* c.getManifest(repository, listDigest)
        assert.strictEqual(gotList.kind, "list")
        assert.isTrue(sameBytes(gotList.bytes, list.bytes))
      }), timeout)

    it.effect("tags list every tag, with or without a page size", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("tags")
        const image = yield* pushImage(c, repository, "t0", "oci")
        const names = ["t1", "t2", "t3", "t4"]
        for (const name of names) {
          yield* c.putManifest(repository, name, image.manifest)
        }
        const all = yield* c.tags(repository)
        assert.deepStrictEqual([...all].sort(), ["t0", ...names])
        const paged = yield* c.tags(repository, { n: 2 })
        assert.deepStrictEqual([...paged].sort(), ["t0", ...names])
        const streamed = yield* Stream.runCollect(c.tagsStream(repository, { n: 2 }))
        assert.strictEqual(Chunk.size(streamed), 5)
        if (caps.tagPagination) {
          assert.deepStrictEqual([...paged], [...paged].sort(), "paged tags come in lexical order")
        }
      }), timeout)

    it.effect("the catalog lists pushed repositories across pages", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repositories = [uniqueRepository("cat"), uniqueRepository("cat")]
        for (const repository of repositories) {
          yield* pushImage(c, repository, "x", "oci")
        }
        if (caps.catalog) {
          const all = yield* c.repositories({ n: 1 })
          for (const repository of repositories) {
            assert.include(all, repository)
          }
        } else {
          const exit = yield* Effect.exit(c.repositories())
          assert.isTrue(Exit.isFailure(exit))
        }
      }), timeout)

    it.effect("cross-repository mount", () =>
      Effect.gen(function*() {
        const c = yield* client
        const from = uniqueRepository("mount-src")
        const to = uniqueRepository("mount-dst")
        const blob = yield* blobOf(randomBytes(50_000), "application/octet-stream")
        yield* c.uploadBlob(from, blob.descriptor.digest, BlobSource.fromBytes(blob.bytes), { size: blob.bytes.length })
        const result = yield* c.mountBlob(to, blob.descriptor.digest, from)
        assert.isTrue(result.mounted)
        assert.isTrue(yield* c.hasBlob(to, blob.descriptor.digest))
        const missing = yield* Digest.sha256(randomBytes(8))
        const fallback = yield* c.mountBlob(to, missing, from)
        assert.isFalse(fallback.mounted, "a blob the source lacks is not reported as mounted")
      }), timeout)

    it.effect("manifest and blob deletes", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("delete")
        const image = yield* pushImage(c, repository, "doomed", "oci")
        const layer = image.layers[0].descriptor.digest
        const manifestExit = yield* Effect.exit(c.deleteManifest(repository, image.digest))
        const blobExit = yield* Effect.exit(c.deleteBlob(repository, layer))
        if (caps.deleteEnabled) {
          assert.isTrue(Exit.isSuccess(manifestExit))
          assert.isTrue(Exit.isSuccess(blobExit))
          const gone = yield* Effect.flip(c.getManifest(repository, image.digest))
          assert.strictEqual(gone._tag, "ManifestUnknown")
          const tagGone = yield* Effect.flip(c.getManifest(repository, "doomed"))
          assert.strictEqual(tagGone._tag, "ManifestUnknown")
          assert.isFalse(yield* c.hasBlob(repository, layer))
        } else {
          for (const failure of [failureOf(manifestExit), failureOf(blobExit)]) {
            assert.strictEqual(failure?._tag, "Unsupported")
          }
          assert.isTrue(yield* c.hasBlob(repository, layer))
        }
      }), timeout)

    it.effect("referrers: an artifact whose subject is an image is listed", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("referrers")
        const image = yield* pushImage(c, repository, "subject", "oci")
        const signature = yield* blobOf(new TextEncoder().encode("signature-bytes"), "application/octet-stream")
        yield* c.uploadBlob(repository, signature.descriptor.digest, BlobSource.fromBytes(signature.bytes), {
          size: signature.bytes.length
        })
        yield* c.uploadBlob(
          repository,
          MediaType.OciEmptyDigest,
          BlobSource.fromBytes(new TextEncoder().encode("{}")),
          { size: 2 }
        )
        const artifact = yield* ManifestBuilder.artifact({
          artifactType: "application/vnd.example.signature",
          layers: [signature.descriptor],
          subject: Manifest.descriptor(image.manifest),
          annotations: { "org.example.note": "contract" }
        })
        yield* c.putManifest(repository, artifact.digest, artifact)
        const referrers = yield* c.referrers(repository, image.digest)
        assert.deepStrictEqual(referrers.map((d) => d.digest), [artifact.digest])
        assert.strictEqual(referrers[0].artifactType, "application/vnd.example.signature")
        const filtered = yield* c.referrers(repository, image.digest, { artifactType: "application/vnd.other" })
        assert.strictEqual(filtered.length, 0)
        if (!caps.referrersApi) {
          // The tag-schema fallback: an index tagged sha256-<hex> lists the artifact.
          const fallback = yield* c.getManifest(repository, `sha256-${Digest.encoded(image.digest)}`)
          assert.strictEqual(fallback.kind, "index")
          assert.deepStrictEqual(Manifest.children(fallback).map((d) => d.digest), [artifact.digest])
        }
      }), timeout)

    it.effect("unknown things fail with the matching typed error", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("unknown")
        yield* pushImage(c, repository, "present", "oci")
        const noDigest = yield* Digest.sha256(randomBytes(8))
        const manifest = yield* Effect.flip(c.getManifest(repository, "absent"))
        assert.strictEqual(manifest._tag, "ManifestUnknown")
        const blob = yield* Effect.flip(collect(c.downloadBlob(repository, noDigest)))
        assert.strictEqual(blob._tag, "BlobUnknown")
        const name = yield* Effect.flip(c.tags(uniqueRepository("never-pushed")))
        assert.strictEqual(name._tag, "NameUnknown")
        const meta = yield* Effect.flip(c.blobMetadata(repository, noDigest))
        assert.strictEqual(meta._tag, "BlobUnknown")
      }), timeout)

    it.effect("a manifest that references a missing blob is refused", () =>
      Effect.gen(function*() {
        const c = yield* client
        const repository = uniqueRepository("missing-blob")
        const missing = yield* blobOf(randomBytes(64), MediaType.OciLayerGzip)
        const config = yield* blobOf(new TextEncoder().encode("{}"), MediaType.OciConfig)
        yield* c.uploadBlob(repository, config.descriptor.digest, BlobSource.fromBytes(config.bytes), { size: 2 })
        const manifest = yield* ManifestBuilder.ociManifest({ config: config.descriptor, layers: [missing.descriptor] })
        const error = yield* Effect.flip(c.putManifest(repository, "broken", manifest))
        assert.strictEqual(error._tag, "ManifestBlobUnknown")
      }), timeout)

    it.effect("bad names and references fail before any request", () =>
      Effect.gen(function*() {
        const c = yield* client
        const upper = yield* Effect.flip(c.tags("Upper/Case"))
        assert.strictEqual(upper._tag, "NameInvalid")
        const tag = yield* Effect.flip(c.getManifest("fine/name", "bad tag"))
        assert.include(["TagInvalid", "DigestInvalid"], tag._tag)
        const digest = yield* Effect.flip(c.hasBlob("fine/name", "sha256:abc"))
        assert.strictEqual(digest._tag, "DigestInvalid")
      }), timeout)
  })
}
