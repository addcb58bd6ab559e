/**
 * The program `Pack.test.ts` compiles and runs in a scratch npm project, against the packed tarballs of every
 * public package (not the workspace sources). It imports each package the way an application does, names the
 * types whose declarations once pointed at internal modules, and prints one JSON line of results.
 */
import { Cli } from "@effect-registry/cli"
import {
  BlobSource,
  Digest,
  Hash,
  ManifestBuilder,
  MediaType,
  RegistryClient,
  RegistryError
} from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import { NodeHash, NodeRegistry } from "@effect-registry/node"
import { Key, Schema1 } from "@effect-registry/signing"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"

// Cli.command's type and RegistryClient.ResponseError used to name modules a consumer cannot resolve.
type Named = RegistryClient.ResponseError["_tag"]
const named: ReadonlyArray<Named> = ["NameUnknown", "ManifestUnknown"]
const commandHandler: boolean = typeof Cli.command.handler === "function"

const roundTrip = Effect.gen(function*() {
  const client = yield* RegistryClient.RegistryClient
  const note = new TextEncoder().encode("hello from a packed tarball")
  const digest = yield* Digest.sha256(note)
  const portable = yield* Hash.digestBytes(note).pipe(Effect.provide(PortableHash.layer))
  const native = yield* Hash.digestBytes(note).pipe(Effect.provide(NodeHash.layer))

  yield* client.uploadBlob("consumer/app", digest, BlobSource.fromBytes(note), { size: note.length })
  const empty = new TextEncoder().encode("{}")
  yield* client.uploadBlob("consumer/app", MediaType.OciEmptyDigest, BlobSource.fromBytes(empty), { size: 2 })
  const manifest = yield* ManifestBuilder.artifact({
    artifactType: "application/vnd.example.note",
    layers: [{ mediaType: "text/plain", digest, size: note.length }]
  })
  const pushed = yield* client.putManifest("consumer/app", "v1", manifest)
  const tags = yield* client.tags("consumer/app")
  const missing = yield* client.getManifest("consumer/app", "v2").pipe(Effect.flip, Effect.map((e) => e._tag))

  const key = yield* Key.generate()
  const unsigned = yield* Schema1.build({
    name: "consumer/app",
    tag: "v1",
    layers: [digest],
    config: { os: "linux", architecture: "amd64" }
  })
  const signed = yield* Schema1.sign(unsigned, key)
  const verified = yield* Schema1.verify(signed.bytes)

  const io = yield* Cli.memoryIo()
  const code = yield* Cli.run(["--version"]).pipe(Effect.provide(io.layer))
  const version = (yield* io.stdout).trim()

  return {
    pushed: pushed === manifest.digest,
    tags,
    missing,
    hashesAgree: portable === native && native === digest,
    schema1Verified: verified.digest === signed.digest,
    cli: { code, version },
    named: named.length,
    commandHandler,
    isRegistryError: RegistryError.isRegistryError(new RegistryError.ManifestUnknown({}))
  }
})

const program = Effect.gen(function*() {
  const registry = yield* InMemoryRegistry.serve()
  return yield* roundTrip.pipe(Effect.provide(NodeRegistry.layer({ url: registry.url })))
})

program.pipe(
  Effect.scoped,
  Effect.tap((result) => Effect.sync(() => process.stdout.write(`${JSON.stringify(result)}\n`))),
  NodeRuntime.runMain
)
