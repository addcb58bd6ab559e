import { AuthService, BlobSource, Digest, ManifestBuilder, MediaType, RegistryClient } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import { assert, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { InMemoryRegistry } from "../src/index.js"

// The README's "testing your program with the in-memory registry" example, as a test.

const TestRegistry = RegistryClient.layer({ url: "http://registry.test" }).pipe(
  Layer.provide(AuthService.anonymous),
  Layer.provideMerge(Layer.merge(InMemoryRegistry.layer(), PortableHash.layer))
)

// A program under test: pushes an artifact and tags it v1.
const myProgram = Effect.gen(function*() {
  const client = yield* RegistryClient.RegistryClient
  const blob = new TextEncoder().encode("hello")
  const digest = yield* Digest.sha256(blob)
  yield* client.uploadBlob("my/app", digest, BlobSource.fromBytes(blob), { size: blob.length })
  const manifest = yield* ManifestBuilder.artifact({
    artifactType: "application/vnd.example.greeting",
    layers: [{ mediaType: "text/plain", digest, size: blob.length }]
  })
  yield* client.uploadBlob("my/app", MediaType.OciEmptyDigest, BlobSource.fromBytes(new TextEncoder().encode("{}")), {
    size: 2
  })
  yield* client.putManifest("my/app", "v1", manifest)
})

it.effect("my program pushes a tag", () =>
  Effect.gen(function*() {
    yield* myProgram
    const registry = yield* InMemoryRegistry.InMemoryRegistry
    assert.deepStrictEqual(yield* registry.tags("my/app"), ["v1"])
  }).pipe(Effect.provide(TestRegistry)))
