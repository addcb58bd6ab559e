/**
 * The Go seed's example (heroku/docker-registry-client's README), one call per row of the
 * table in our README, with `NodeRegistry.layer`.
 *
 * Run against a registry: `REGISTRY_URL=http://127.0.0.1:5000 pnpm exec tsx examples/seed.ts`
 * (with `REGISTRY_USERNAME` / `REGISTRY_PASSWORD` when it wants credentials).
 */
import { BlobSource, Digest, ManifestBuilder, MediaType, RegistryClient } from "@effect-registry/core"
import { NodeRegistry } from "@effect-registry/node"
import { Key, Schema1 } from "@effect-registry/signing"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const program = Effect.gen(function*() {
  const hub = yield* RegistryClient.RegistryClient // registry.New(url, user, pass): built, and pinged
  const repo = "example/repo"

  // hub.UploadBlob, hub.HasBlob
  const layer = new TextEncoder().encode("the bytes of a layer")
  const digest = yield* Digest.sha256(layer)
  yield* hub.uploadBlob(repo, digest, BlobSource.fromBytes(layer), { size: layer.length })
  const has = yield* hub.hasBlob(repo, digest)

  // hub.PutManifest: a schema1 manifest signed with a libtrust key, and a schema2 manifest
  const key = yield* Key.generate()
  const unsigned = yield* Schema1.build({
    name: repo,
    tag: "v1",
    layers: [digest],
    config: { architecture: "amd64", os: "linux" }
  })
  yield* hub.putManifest(repo, "v1", yield* Schema1.sign(unsigned, key))
  const config = yield* ManifestBuilder.imageConfig(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digest] } },
    { mediaType: MediaType.DockerContainerConfig }
  )
  yield* hub.uploadBlob(repo, config.descriptor.digest, BlobSource.fromBytes(config.bytes), {
    size: config.bytes.length
  })
  const schema2 = yield* ManifestBuilder.schema2({
    config: config.descriptor,
    layers: [{ mediaType: MediaType.DockerLayerGzip, digest, size: layer.length }]
  })
  yield* hub.putManifest(repo, "v2", schema2)

  // hub.Repositories, hub.Tags
  const repositories = yield* hub.repositories()
  const tags = yield* hub.tags(repo)

  // hub.Manifest (signed schema1), hub.ManifestV2, hub.ManifestDigest
  const signed = yield* hub.manifest(repo, "v1")
  const image = yield* hub.manifestV2(repo, "v2")
  const digestV2 = yield* hub.manifestDigest(repo, "v2")

  // hub.DownloadBlob: a Stream, verified against the digest as the bytes pass
  const downloaded = yield* hub.downloadBlob(repo, digest).pipe(Stream.runFold(0, (n, chunk) => n + chunk.length))

  // hub.DeleteManifest
  yield* hub.deleteManifest(repo, digestV2)

  yield* Console.log(JSON.stringify(
    {
      repositories,
      tags: [...tags].sort(),
      has,
      schema1: { mediaType: signed.mediaType, digest: signed.digest },
      schema2: { mediaType: image.mediaType, digest: image.digest },
      downloaded,
      deleted: digestV2
    },
    null,
    2
  ))
})

const Registry = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      url: Config.string("REGISTRY_URL"),
      username: Config.option(Config.string("REGISTRY_USERNAME")),
      password: Config.option(Config.redacted("REGISTRY_PASSWORD"))
    }),
    ({ password, url, username }) =>
      NodeRegistry.layer({
        url,
        username: username._tag === "Some" ? username.value : undefined,
        password: password._tag === "Some" ? password.value : undefined
      })
  )
)

program.pipe(Effect.provide(Registry), NodeRuntime.runMain)
