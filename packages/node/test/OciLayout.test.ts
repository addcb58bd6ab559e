import { MediaType, Progress, RegistryClient } from "@effect-registry/core"
import { NodeRegistry, OciLayout } from "@effect-registry/node"
import { RealRegistry } from "@effect-registry/test-infra"
import { InMemoryRegistry } from "@effect-registry/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { InMemory, json, putBlob, sha, writeLayout } from "./support/layouts.js"
import * as Layouts from "./support/layouts.js"

// --- a small OCI layout written by hand, as skopeo would -------------------------------------------------------

/** An image: a config and two gzip layers of random bytes (gzip so that skopeo keeps them as they are). */
const makeImage = (
  dir: string,
  platform: { readonly os: string; readonly architecture: string; readonly variant?: string } = {
    os: "linux",
    architecture: "amd64"
  },
  layerSize = 150_000
) => {
  const raw = [Crypto.randomBytes(layerSize), Crypto.randomBytes(layerSize / 3)]
  const layers = raw.map((r) => putBlob(dir, MediaType.OciLayerGzip, new Uint8Array(zlib.gzipSync(r))))
  const config = putBlob(
    dir,
    MediaType.OciConfig,
    json({ ...platform, rootfs: { type: "layers", diff_ids: raw.map((r) => sha(r)) } })
  )
  const manifest = putBlob(
    dir,
    MediaType.OciManifest,
    json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers })
  )
  return { manifest: { ...manifest, platform }, blobs: [config, ...layers] }
}

const makeIndex = (dir: string) => {
  const amd = makeImage(dir, { os: "linux", architecture: "amd64" })
  const arm = makeImage(dir, { os: "linux", architecture: "arm64", variant: "v8" }, 60_000)
  const index = putBlob(
    dir,
    MediaType.OciIndex,
    json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [amd.manifest, arm.manifest] })
  )
  return { index, amd, arm }
}

const tempDir = Layouts.tempDir("ocilayout-")

const listBlobs = (dir: string) => fs.readdirSync(path.join(dir, "blobs", "sha256")).sort()

const sameBlobs = (a: string, b: string) => {
  const names = listBlobs(a)
  assert.deepStrictEqual(listBlobs(b), names)
  for (const name of names) {
    assert.isTrue(
      fs.readFileSync(path.join(a, "blobs", "sha256", name)).equals(
        fs.readFileSync(path.join(b, "blobs", "sha256", name))
      ),
      name
    )
  }
}

const readIndexJson = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8")) as {
    schemaVersion: number
    manifests: Array<{ digest: string; mediaType: string; size: number; annotations?: Record<string, string> }>
  }

const run = (file: string, args: ReadonlyArray<string>) =>
  Effect.async<string, Error>((resume) => {
    const child = execFile(file, [...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resume(error === null ? Effect.succeed(stdout) : Effect.fail(new Error(`${error.message}\n${stderr}`)))
    })
    return Effect.sync(() => child.kill())
  })

// --- clients ----------------------------------------------------------------------------------------------------

const realClient = (registry: RealRegistry.Running) =>
  Effect.map(
    Layer.build(NodeRegistry.layer({ url: registry.host, plainHttp: true })),
    (ctx) => Context.get(ctx, RegistryClient.RegistryClient)
  )

describe("OciLayout files", () => {
  it.scoped("init writes oci-layout and index.json as skopeo does, and keeps an existing layout", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "new")
      yield* OciLayout.init(dir)
      assert.strictEqual(fs.readFileSync(path.join(dir, "oci-layout"), "utf8"), "{\"imageLayoutVersion\": \"1.0.0\"}")
      assert.deepStrictEqual(readIndexJson(dir), { schemaVersion: 2, manifests: [] })
      assert.isTrue(fs.statSync(path.join(dir, "blobs", "sha256")).isDirectory())
      const image = makeImage(dir)
      writeLayout(dir, [{ desc: image.manifest, ref: "v1" }])
      yield* OciLayout.init(dir)
      assert.strictEqual(readIndexJson(dir).manifests.length, 1)
      const entry = yield* OciLayout.resolve(dir, "v1")
      assert.strictEqual(entry.digest, image.manifest.digest)
      const m = yield* OciLayout.readManifest(dir, entry)
      assert.strictEqual(m.kind, "oci")
      assert.strictEqual(m.digest, image.manifest.digest)
    }))

  it.scoped("fails with typed reasons", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const notLayout = yield* Effect.either(OciLayout.entries(dir))
      assert.isTrue(Either.isLeft(notLayout) && notLayout.left.reason === "NotALayout")
      const a = makeImage(dir)
      const b = makeImage(dir)
      writeLayout(dir, [{ desc: a.manifest, ref: "a" }, { desc: b.manifest, ref: "b" }])
      const missing = yield* Effect.either(OciLayout.resolve(dir, "c"))
      assert.isTrue(Either.isLeft(missing) && missing.left.reason === "RefNotFound")
      const ambiguous = yield* Effect.either(OciLayout.resolve(dir))
      assert.isTrue(Either.isLeft(ambiguous) && ambiguous.left.reason === "Ambiguous")
      // a corrupted manifest blob does not hash to its name
      fs.appendFileSync(path.join(dir, "blobs", "sha256", a.manifest.digest.slice(7)), " ")
      const corrupt = yield* Effect.either(OciLayout.readManifest(dir, yield* OciLayout.resolve(dir, "a")))
      assert.isTrue(Either.isLeft(corrupt) && corrupt.left.reason === "Invalid")
      fs.writeFileSync(path.join(dir, "index.json"), "{not json")
      const invalid = yield* Effect.either(OciLayout.entries(dir))
      assert.isTrue(Either.isLeft(invalid) && invalid.left.reason === "Invalid")
    }))
})

describe("OciLayout in memory", () => {
  it.scoped("push then pull an index, every file identical, progress adds up", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const src = yield* tempDir
      const dst = yield* tempDir
      const { amd, arm, index } = makeIndex(src)
      writeLayout(src, [{ desc: index, ref: "multi" }])
      const events: Array<Progress.Event> = []
      const pushed = yield* OciLayout.push(client, src, "m/app", "multi", { concurrency: 2 }).pipe(
        Effect.provide(Progress.callback((e) => {
          events.push(e)
        }))
      )
      assert.strictEqual(pushed, index.digest)
      const blobBytes = [...amd.blobs, ...arm.blobs].reduce((n, b) => n + b.size, 0)
      const done = events.filter((e): e is Progress.BlobDone => e._tag === "BlobDone")
      assert.strictEqual(done.length, 6)
      assert.strictEqual(done.reduce((n, e) => n + e.bytes, 0), blobBytes)
      const image = events.filter((e) => e._tag === "ImageDone")
      assert.deepStrictEqual(image.map((e): Array<unknown> => [e.digest, e.bytes, e.total]), [[
        index.digest,
        blobBytes,
        blobBytes
      ]])

      // a second push skips every blob
      events.length = 0
      yield* OciLayout.push(client, src, "m/app", "multi").pipe(Effect.provide(Progress.callback((e) => {
        events.push(e)
      })))
      assert.isTrue(
        events.filter((e) => e._tag === "BlobDone").every((e) => e._tag === "BlobDone" && e.outcome === "Existed")
      )

      const pulled = yield* OciLayout.pull(client, "m/app", "multi", dst)
      assert.strictEqual(pulled.digest, index.digest)
      assert.strictEqual(pulled.manifests, 3)
      assert.strictEqual(pulled.blobs, 6)
      sameBlobs(src, dst)
      assert.deepStrictEqual(readIndexJson(dst), readIndexJson(src))
      assert.strictEqual(fs.readFileSync(path.join(dst, "oci-layout"), "utf8"), "{\"imageLayoutVersion\": \"1.0.0\"}")

      // a pull frees only pieces a transport made for it (BlobSource.markFresh): the registry's blobs are intact
      const again = yield* tempDir
      yield* OciLayout.pull(client, "m/app", "multi", again)
      sameBlobs(src, again)
    }).pipe(Effect.provide(InMemory)))

  it.scoped("pull one platform of an index, merging with an existing layout", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const src = yield* tempDir
      const dst = yield* tempDir
      const { arm, index } = makeIndex(src)
      writeLayout(src, [{ desc: index, ref: "multi" }])
      yield* OciLayout.push(client, src, "m/plat", "multi")
      const other = makeImage(dst)
      writeLayout(dst, [{ desc: other.manifest, ref: "arm" }, { desc: other.manifest, ref: "keep" }])
      const pulled = yield* OciLayout.pull(client, "m/plat", "multi", dst, {
        ref: "arm",
        platform: { os: "linux", architecture: "arm64" }
      })
      assert.strictEqual(pulled.digest, arm.manifest.digest)
      const entries = readIndexJson(dst).manifests
      // the older "arm" entry lost its name (and its emptied annotations), "keep" stays, the new entry is last
      assert.deepStrictEqual(entries.map((e) => [e.digest, e.annotations?.["org.opencontainers.image.ref.name"]]), [
        [other.manifest.digest, undefined],
        [other.manifest.digest, "keep"],
        [arm.manifest.digest, "arm"]
      ])
      assert.isUndefined(entries[0].annotations)
      for (const blob of [...arm.blobs, arm.manifest]) {
        assert.isTrue(fs.existsSync(path.join(dst, "blobs", "sha256", blob.digest.slice(7))))
      }
      assert.isFalse(fs.existsSync(path.join(dst, "blobs", "sha256", index.digest.slice(7))))
      const missing = yield* Effect.either(
        OciLayout.pull(client, "m/plat", "multi", dst, { platform: { os: "linux", architecture: "s390x" } })
      )
      assert.isTrue(
        Either.isLeft(missing) && missing.left._tag === "OciLayoutError" && missing.left.reason === "PlatformNotFound"
      )
    }).pipe(Effect.provide(InMemory)))

  it.scoped("a push of a layout missing a blob fails before any manifest is sent", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const src = yield* tempDir
      const image = makeImage(src)
      writeLayout(src, [{ desc: image.manifest }])
      fs.rmSync(path.join(src, "blobs", "sha256", image.blobs[1].digest.slice(7)))
      const result = yield* Effect.either(OciLayout.push(client, src, "m/broken", "v1", { concurrency: 1 }))
      assert.isTrue(
        Either.isLeft(result) && result.left._tag === "OciLayoutError" && result.left.reason === "BlobMissing"
      )
      assert.deepStrictEqual(yield* registry.tags("m/broken"), [])
    }).pipe(Effect.provide(InMemory)))
})

layer(RealRegistry.layer(), { timeout: "120 seconds", excludeTestServices: true })(
  "OciLayout against docker-registry",
  (it) => {
    it.scoped("push then pull an image and an index: every file identical", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const src = yield* tempDir
        const dst = yield* tempDir
        const image = makeImage(src)
        const { index } = makeIndex(src)
        writeLayout(src, [{ desc: image.manifest, ref: "single" }, { desc: index, ref: "multi" }])
        assert.strictEqual(yield* OciLayout.push(client, src, "layout/app", "single"), image.manifest.digest)
        assert.strictEqual(yield* OciLayout.push(client, src, "layout/app", "multi"), index.digest)
        yield* OciLayout.pull(client, "layout/app", "single", dst)
        yield* OciLayout.pull(client, "layout/app", "multi", dst)
        sameBlobs(src, dst)
        assert.deepStrictEqual(readIndexJson(dst), readIndexJson(src))
        // by digest: no ref name
        const byDigest = yield* tempDir
        const pulled = yield* OciLayout.pull(client, "layout/app", image.manifest.digest, byDigest)
        assert.isUndefined(pulled.refName)
        assert.isUndefined(readIndexJson(byDigest).manifests[0].annotations)
      }))

    it.scoped("skopeo pushes a layout, we pull it; we push, skopeo pulls it", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const src = yield* tempDir
        const image = makeImage(src)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }])

        yield* run("/usr/bin/skopeo", [
          "copy",
          "--dest-tls-verify=false",
          `oci:${src}:v1`,
          `docker://${registry.host}/interop/skopeo:v1`
        ])
        const ours = yield* tempDir
        const pulled = yield* OciLayout.pull(client, "interop/skopeo", "v1", ours)
        assert.strictEqual(pulled.digest, image.manifest.digest)
        sameBlobs(src, ours)

        assert.strictEqual(yield* OciLayout.push(client, src, "interop/ours", "v1"), image.manifest.digest)
        const theirs = yield* tempDir
        yield* run("/usr/bin/skopeo", [
          "copy",
          "--src-tls-verify=false",
          `docker://${registry.host}/interop/ours:v1`,
          `oci:${theirs}:v1`
        ])
        sameBlobs(src, theirs)
        const entry = readIndexJson(theirs).manifests[0]
        assert.strictEqual(entry.digest, image.manifest.digest)
        assert.strictEqual(entry.annotations?.["org.opencontainers.image.ref.name"], "v1")
        // and what skopeo wrote reads back as a layout
        const back = yield* OciLayout.resolve(theirs, "v1")
        assert.strictEqual(back.digest, image.manifest.digest)
      }))

    it.scoped("skopeo pushes an index; we pull it whole", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const src = yield* tempDir
        const { index } = makeIndex(src)
        writeLayout(src, [{ desc: index, ref: "multi" }])
        yield* run("/usr/bin/skopeo", [
          "copy",
          "--all",
          "--dest-tls-verify=false",
          `oci:${src}:multi`,
          `docker://${registry.host}/interop/index:multi`
        ])
        const ours = yield* tempDir
        const pulled = yield* OciLayout.pull(client, "interop/index", "multi", ours)
        assert.strictEqual(pulled.digest, index.digest)
        sameBlobs(src, ours)
      }))
  }
)
