/**
 * Images pushed through a client for the tests: random layers, an OCI config for a platform, an index of two.
 */
import { BlobSource, Descriptor, ManifestBuilder, MediaType } from "@effect-registry/core"
import type { Manifest, RegistryClient } from "@effect-registry/core"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"

export const descriptorOf = (m: Manifest.Any) => ({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length })

export const uploadBytes = (client: RegistryClient.Service, repository: string, mediaType: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const d = yield* Descriptor.fromBytes(mediaType, bytes)
    yield* client.uploadBlob(repository, d.digest, BlobSource.fromBytes(bytes), { size: bytes.length })
    return d
  })

/** Pushes an image (by digest) of a config and two layers of random bytes; returns it and its blob sizes. */
export const pushImage = (
  client: RegistryClient.Service,
  repository: string,
  platform: { readonly os: string; readonly architecture: string; readonly variant?: string } = {
    os: "linux",
    architecture: "amd64"
  },
  layerSize = 120_000
) =>
  Effect.gen(function*() {
    const layers = yield* Effect.forEach(
      [layerSize, layerSize / 4],
      (n) => uploadBytes(client, repository, MediaType.OciLayerGzip, new Uint8Array(Crypto.randomBytes(n)))
    )
    const config = yield* uploadBytes(
      client,
      repository,
      MediaType.OciConfig,
      new TextEncoder().encode(JSON.stringify({ ...platform, rootfs: { type: "layers", diff_ids: [] } }))
    )
    const manifest = yield* ManifestBuilder.ociManifest({ config, layers })
    yield* client.putManifest(repository, manifest.digest, manifest)
    return { manifest, config, layers, platform, bytes: config.size + layers[0].size + layers[1].size }
  })

/** Pushes (by digest) a second image on the base layer of `under`: a random top layer, and an arm64 config. */
export const pushOnBase = (
  client: RegistryClient.Service,
  repository: string,
  under: Effect.Effect.Success<ReturnType<typeof pushImage>>
) =>
  Effect.gen(function*() {
    const top = yield* uploadBytes(client, repository, MediaType.OciLayerGzip, new Uint8Array(Crypto.randomBytes(900)))
    const config = yield* uploadBytes(
      client,
      repository,
      MediaType.OciConfig,
      new TextEncoder().encode(JSON.stringify({ os: "linux", architecture: "arm64", rootfs: { type: "layers" } }))
    )
    const manifest = yield* ManifestBuilder.ociManifest({ config, layers: [under.layers[0], top] })
    yield* client.putManifest(repository, manifest.digest, manifest)
    return manifest
  })

export const pushIndex = (client: RegistryClient.Service, repository: string, tag: string) =>
  Effect.gen(function*() {
    const amd = yield* pushImage(client, repository, { os: "linux", architecture: "amd64" })
    const arm = yield* pushImage(client, repository, { os: "linux", architecture: "arm64" }, 40_000)
    const index = yield* ManifestBuilder.ociIndex({
      manifests: [amd, arm].map((i) => ({ ...descriptorOf(i.manifest), platform: i.platform }))
    })
    yield* client.putManifest(repository, tag, index)
    return { index, amd, arm }
  })
