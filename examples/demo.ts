/**
 * The demo: the Go seed's tour (heroku/docker-registry-client), done with effect-registry.
 *
 * It starts the in-memory registry on a loopback port (or uses `REGISTRY_URL`, with
 * `REGISTRY_USERNAME` / `REGISTRY_PASSWORD` when it needs them), then pings it, pushes a
 * small generated image (a config and two layers, one uploaded in chunks with progress),
 * puts a Docker schema2 manifest, an OCI manifest and index and a signed schema1 manifest,
 * lists repositories and tags, reads each manifest kind, gets digests, downloads and
 * verifies a blob, checks a blob and deletes a manifest, printing each step.
 *
 * Run: `npm run demo` (or `pnpm demo`).
 */
import {
  AuthService,
  BlobSource,
  Digest,
  Manifest,
  ManifestBuilder,
  MediaType,
  RegistryClient
} from "@effect-registry/core"
import { NodeHash, NodeHttp } from "@effect-registry/node"
import { Key, Schema1 } from "@effect-registry/signing"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Zlib from "node:zlib"

const repository = "demo/hello"

const step = (title: string, detail: string) => Console.log(`${title.padEnd(28)} ${detail}`)

const short = (digest: string) => `${digest.slice(0, 19)}…`

/** A gzip-compressed layer of random content (a real layer would be a tar). */
const makeLayer = (size: number) => new Uint8Array(Zlib.gzipSync(Crypto.randomBytes(size), { level: 1 }))

const tour = Effect.gen(function*() {
  const client = yield* RegistryClient.RegistryClient
  yield* step("ping", `${client.url}/v2/ answers`)
  yield* client.ping()

  // Blobs: two layers and a config.
  const layer1 = makeLayer(64 * 1024)
  const layer2 = makeLayer(512 * 1024)
  const digest1 = yield* Digest.sha256(layer1)
  const digest2 = yield* Digest.sha256(layer2)

  const up1 = yield* client.uploadBlob(repository, digest1, BlobSource.fromBytes(layer1), { size: layer1.length })
  yield* step("upload layer 1 (monolithic)", `${short(up1.digest)} ${layer1.length} bytes`)

  let sent = 0
  const chunkSize = 128 * 1024
  const withProgress = Stream.fromIterable([layer2]).pipe(
    BlobSource.rechunkBytes(chunkSize),
    Stream.tap((chunk) => {
      sent += chunk.length
      return step("  progress", `${sent} / ${layer2.length} bytes`)
    })
  )
  const up2 = yield* client.uploadBlob(repository, digest2, withProgress, { size: layer2.length, chunkSize })
  yield* step("upload layer 2 (chunked)", `${short(up2.digest)} in ${Math.ceil(layer2.length / chunkSize)} PATCHes`)

  const again = yield* client.uploadBlob(repository, digest1, BlobSource.fromBytes(layer1), { size: layer1.length })
  yield* step("upload layer 1 again", again.skipped ? "skipped: the registry has it" : "sent again")

  const ociConfig = yield* ManifestBuilder.imageConfig({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/hello"] },
    rootfs: { type: "layers", diff_ids: [digest1, digest2] }
  })
  const dockerConfig = yield* ManifestBuilder.imageConfig(ociConfig.value, {
    mediaType: MediaType.DockerContainerConfig
  })
  for (const config of [ociConfig, dockerConfig]) {
    yield* client.uploadBlob(repository, config.descriptor.digest, BlobSource.fromBytes(config.bytes), {
      size: config.bytes.length
    })
  }
  yield* step("upload config", `${short(ociConfig.descriptor.digest)} ${ociConfig.bytes.length} bytes`)

  // Manifests of every kind.
  const layers = (mediaType: string) => [
    { mediaType, digest: digest1, size: layer1.length },
    { mediaType, digest: digest2, size: layer2.length }
  ]
  const schema2 = yield* ManifestBuilder.schema2({
    config: dockerConfig.descriptor,
    layers: layers(MediaType.DockerLayerGzip)
  })
  yield* step("put schema2 manifest", `v2 → ${short(yield* client.putManifest(repository, "v2", schema2))}`)

  const oci = yield* ManifestBuilder.ociManifest({
    config: ociConfig.descriptor,
    layers: layers(MediaType.OciLayerGzip),
    annotations: { "org.opencontainers.image.title": "hello" }
  })
  yield* step("put OCI manifest", `oci → ${short(yield* client.putManifest(repository, "oci", oci))}`)

  const index = yield* ManifestBuilder.ociIndex({
    manifests: [{ ...Manifest.descriptor(oci), platform: { architecture: "amd64", os: "linux" } }]
  })
  yield* step("put OCI index", `latest → ${short(yield* client.putManifest(repository, "latest", index))}`)

  const key = yield* Key.generate()
  const unsigned = yield* Schema1.build({
    name: repository,
    tag: "v1",
    layers: [digest1, digest2],
    config: { architecture: "amd64", os: "linux", config: { Cmd: ["/hello"] } }
  })
  const signed = yield* Schema1.sign(unsigned, key)
  const schema1Digest = yield* client.putManifest(repository, "v1", signed)
  yield* step("put signed schema1", `v1 → ${short(schema1Digest)} (key ${key.keyId.slice(0, 14)}…)`)

  // Listings.
  const repositories = yield* client.repositories()
  yield* step("repositories", repositories.join(", "))
  const tags = yield* client.tags(repository)
  yield* step("tags", [...tags].sort().join(", "))

  // Reading each kind back: exact bytes, media type and digest.
  const s1 = yield* client.manifest(repository, "v1")
  yield* step("manifest (schema1)", `${s1.mediaType} ${short(s1.digest)}`)
  const s2 = yield* client.manifestV2(repository, "v2")
  yield* step("manifestV2 (schema2)", `${s2.mediaType} ${short(s2.digest)}`)
  const ociBack = yield* client.getManifest(repository, "oci")
  yield* step("getManifest (OCI)", `${ociBack.mediaType} ${Manifest.children(ociBack).length} blobs`)
  const indexBack = yield* client.getManifest(repository, "latest")
  yield* step("getManifest (index)", `${indexBack.mediaType} ${Manifest.children(indexBack).length} manifest`)
  const digest = yield* client.manifestDigest(repository, "oci")
  yield* step("manifestDigest", `oci = ${digest}`)

  // Blobs: a verified download and a check.
  const received = yield* client.downloadBlob(repository, digest2).pipe(
    Stream.runFold(0, (n, chunk) => n + chunk.length)
  )
  yield* step("downloadBlob (verified)", `${received} bytes match ${short(digest2)}`)
  const has = yield* client.hasBlob(repository, digest1)
  yield* step("hasBlob", `${short(digest1)}: ${has}`)

  // Delete a manifest, then see the typed error.
  yield* client.deleteManifest(repository, s2.digest)
  const gone = yield* Effect.flip(client.getManifest(repository, s2.digest))
  yield* step("deleteManifest", `v2 deleted; reading it again: ${gone._tag}`)
  yield* Console.log("\nThe tour is complete.")
})

const main = Effect.gen(function*() {
  const external = yield* Config.option(Config.string("REGISTRY_URL"))
  const url = Option.isSome(external) ? external.value : (yield* InMemoryRegistry.serve()).url
  yield* Console.log(
    Option.isSome(external)
      ? `Using the registry at ${url}\n`
      : `Started the in-memory registry on ${url} (set REGISTRY_URL to use another)\n`
  )
  const client = RegistryClient.layer({ url }).pipe(
    Layer.provide(AuthService.layerConfig()),
    Layer.provide(Layer.merge(NodeHttp.layer(), NodeHash.layer))
  )
  yield* Effect.provide(tour, client)
})

main.pipe(Effect.scoped, NodeRuntime.runMain)
