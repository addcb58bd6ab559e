import { MediaType, RegistryClient } from "@effect-registry/core"
import { DockerArchive } from "@effect-registry/node"
import { InMemoryRegistry, RealRegistry } from "@effect-registry/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import {
  configOf,
  failure,
  gzip,
  layerTar,
  nothingPushed,
  pushImage,
  type RawEntry,
  rawTar,
  realClient,
  run,
  skopeoCopy,
  skopeoInspect
} from "./support/archives.js"
import { InMemory, json, sha } from "./support/layouts.js"
import * as Layouts from "./support/layouts.js"

const tempDir = Layouts.tempDir("dockerarchive-")

const hex = (digest: string) => digest.slice(7)

/** A docker-save archive of one image per item, layers as given (gzip or not), written byte by byte. */
const saveArchive = (
  images: ReadonlyArray<{ readonly tags: ReadonlyArray<string>; readonly layers: ReadonlyArray<Uint8Array> }>
) => {
  const entries: Array<RawEntry> = []
  const manifest: Array<unknown> = []
  const described = images.map(({ layers, tags }) => {
    const plain = layers.map((l) => l[0] === 0x1f ? new Uint8Array(zlib.gunzipSync(l)) : l)
    const configBytes = configOf(plain.map(sha))
    const config = `${hex(sha(configBytes))}.json`
    const names = layers.map((l) => `${hex(sha(l))}/layer.tar`)
    layers.forEach((l, i) => entries.push({ name: names[i], data: l }))
    entries.push({ name: config, data: configBytes })
    manifest.push({ Config: config, RepoTags: tags, Layers: names })
    return { config: sha(configBytes), layers: layers.map(sha), diffIds: plain.map(sha) }
  })
  entries.push({ name: "manifest.json", data: json(manifest) })
  return { bytes: rawTar(entries), described }
}

const write = (dir: string, name: string, bytes: Uint8Array) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes)
  return file
}

const archiveFailure = <A, E>(self: Effect.Effect<A, E>, reason: DockerArchive.ArchiveError["reason"]) =>
  Effect.map(failure(self), (e) => {
    assert.instanceOf(e, DockerArchive.ArchiveError)
    assert.strictEqual((e as DockerArchive.ArchiveError).reason, reason, String(e))
    return e as DockerArchive.ArchiveError
  })

const unzipDigest = (bytes: Uint8Array) => sha(new Uint8Array(zlib.gunzipSync(bytes)))

describe("DockerArchive in memory", () => {
  it.scoped("export writes what skopeo's docker-archive writes; import pushes it back", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const dir = yield* tempDir
      const pushed = yield* pushImage(client, "src/app", "v1")
      const tar = path.join(dir, "app.tar")
      const exported = yield* DockerArchive.export(client, { repository: "src/app", reference: "v1" }, tar)
      assert.strictEqual(exported.manifest, pushed.manifest)
      assert.strictEqual(exported.config, pushed.config)
      assert.deepStrictEqual<ReadonlyArray<string>>(exported.diffIds, pushed.diffIds)
      // GNU tar reads it; the members are skopeo's: uncompressed layers by diff id, the config, manifest.json
      const listing = (yield* run("tar", ["-tf", tar])).trim().split("\n")
      assert.deepStrictEqual(listing, [
        ...pushed.diffIds.map((d) => `${hex(d)}.tar`),
        `${hex(pushed.config)}.json`,
        "manifest.json"
      ])
      const manifestJson = JSON.parse(yield* run("tar", ["-xOf", tar, "manifest.json"]))
      assert.deepStrictEqual(manifestJson, [{
        Config: `${hex(pushed.config)}.json`,
        RepoTags: ["src/app:v1"],
        Layers: pushed.diffIds.map((d) => `${hex(d)}.tar`)
      }])
      const out = path.join(dir, "x")
      fs.mkdirSync(out)
      yield* run("tar", ["-xf", tar, "-C", out])
      for (const d of pushed.diffIds) assert.strictEqual(sha(fs.readFileSync(path.join(out, `${hex(d)}.tar`))), d)
      assert.strictEqual(sha(fs.readFileSync(path.join(out, `${hex(pushed.config)}.json`))), pushed.config)
      assert.strictEqual(yield* DockerArchive.detect(tar), "docker-archive")

      const imported = yield* DockerArchive.import(tar, client, { repository: "copy/app", tag: "v2" })
      assert.strictEqual(imported.config, pushed.config)
      assert.deepStrictEqual(imported.layers.map((l) => l.digest), pushed.diffIds)
      assert.deepStrictEqual(imported.layers.map((l) => l.mediaType), [
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar"
      ])
      const back = yield* client.getManifest("copy/app", "v2")
      assert.strictEqual(back.digest, imported.manifest)
      assert.strictEqual(back.mediaType, MediaType.DockerManifestSchema2)
      const layerBytes = yield* Stream.runCollect(client.downloadBlob("copy/app", pushed.diffIds[1]))
      assert.strictEqual(sha(Buffer.concat([...layerBytes])), pushed.diffIds[1])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("import pushes gzip layers as they are, through links inside the archive as skopeo writes", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const dir = yield* tempDir
      const gz = gzip(layerTar(20_000))
      const plain = layerTar(5_000)
      const configBytes = configOf([unzipDigest(gz), sha(plain)])
      const tar = write(
        dir,
        "a.tar",
        rawTar([
          { name: `${hex(sha(gz))}.tar`, data: gz },
          { name: "legacy", type: "5" },
          { name: "legacy/layer.tar", type: "2", linkName: `../${hex(sha(gz))}.tar` },
          { name: "plain.tar", data: plain },
          { name: "hard.tar", type: "1", linkName: "plain.tar" },
          { name: "c.json", data: configBytes },
          {
            name: "manifest.json",
            data: json([{ Config: "./c.json", RepoTags: null, Layers: ["legacy/layer.tar", "hard.tar"] }])
          }
        ])
      )
      const imported = yield* DockerArchive.import(tar, client, { repository: "links/app", tag: "v1" })
      assert.deepStrictEqual<ReadonlyArray<unknown>>(imported.layers, [
        { mediaType: MediaType.DockerLayerGzip, digest: sha(gz), size: gz.length },
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: sha(plain), size: plain.length }
      ])
      assert.strictEqual(imported.config, sha(configBytes))
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const stored = yield* registry.blob(sha(gz))
      assert.isTrue(Option.isSome(stored) && Buffer.from(stored.value).equals(Buffer.from(gz)))
      assert.deepStrictEqual(yield* registry.tags("links/app"), ["v1"])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("reads archives GNU tar writes: ustar prefixes, PAX and GNU long names, blobs/sha256 layout", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const dir = yield* tempDir
      const src = path.join(dir, "src")
      const layer = layerTar(4000)
      const configBytes = configOf([sha(layer)])
      // a long layer path (over 100 bytes) and the Docker 25 layout of blobs
      const long = `${"deep/".repeat(30)}layer.tar`
      const config = `blobs/sha256/${hex(sha(configBytes))}`
      fs.mkdirSync(path.join(src, path.dirname(long)), { recursive: true })
      fs.mkdirSync(path.join(src, "blobs", "sha256"), { recursive: true })
      fs.writeFileSync(path.join(src, long), layer)
      fs.writeFileSync(path.join(src, config), configBytes)
      fs.writeFileSync(
        path.join(src, "manifest.json"),
        JSON.stringify([{ Config: config, RepoTags: ["gnu:1"], Layers: [long] }])
      )
      for (const format of ["ustar", "pax", "gnu"]) {
        const tar = path.join(dir, `${format}.tar`)
        yield* run("tar", [`--format=${format}`, "-cf", tar, "-C", src, "."])
        const imported = yield* DockerArchive.import(tar, client, { repository: `formats/${format}`, tag: "v1" })
        assert.strictEqual(imported.config, sha(configBytes), format)
        assert.deepStrictEqual(imported.layers.map((l) => l.digest), [sha(layer)], format)
      }
    }).pipe(Effect.provide(InMemory)))

  it.scoped("several images: selected by tag, else a typed error listing them", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const dir = yield* tempDir
      const { bytes, described } = saveArchive([
        { tags: ["docker.io/library/one:1"], layers: [gzip(layerTar(1000))] },
        { tags: ["two:2", "two:latest"], layers: [layerTar(2000)] }
      ])
      const tar = write(dir, "multi.tar", bytes)
      const ambiguous = yield* archiveFailure(DockerArchive.import(tar, client, { repository: "m/app" }), "Ambiguous")
      assert.deepStrictEqual(ambiguous.candidates, ["docker.io/library/one:1", "two:2", "two:latest"])
      assert.include(ambiguous.message, "select one by its tag")
      const missing = yield* archiveFailure(
        DockerArchive.import(tar, client, { repository: "m/app", select: "three:3" }),
        "ImageNotFound"
      )
      assert.include(missing.message, "two:latest")
      yield* nothingPushed(registry)
      const one = yield* DockerArchive.import(tar, client, { repository: "m/app", tag: "one", select: "one:1" })
      assert.strictEqual(one.config, described[0].config)
      const two = yield* DockerArchive.import(tar, client, { repository: "m/app", tag: "two", select: "two:latest" })
      assert.strictEqual(two.config, described[1].config)
      assert.deepStrictEqual(two.repoTags, ["two:2", "two:latest"])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("hostile archives fail with typed errors and push nothing", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const dir = yield* tempDir
      const layer = layerTar(3000)
      const configBytes = configOf([sha(layer)])
      const archive = (name: string, layerEntries: ReadonlyArray<RawEntry>, layers = ["l.tar"]) =>
        write(
          dir,
          name,
          rawTar([
            ...layerEntries,
            { name: "c.json", data: configBytes },
            { name: "manifest.json", data: json([{ Config: "c.json", RepoTags: ["x:1"], Layers: layers }]) }
          ])
        )
      const importing = (tar: string) => DockerArchive.import(tar, client, { repository: "evil/app", tag: "v1" })
      const cases: ReadonlyArray<readonly [string, DockerArchive.ArchiveError["reason"]]> = [
        [archive("abs-link.tar", [{ name: "l.tar", type: "2", linkName: "/etc/passwd" }]), "UnsafeEntry"],
        [archive("up-link.tar", [{ name: "l.tar", type: "2", linkName: "../../../etc/passwd" }]), "UnsafeEntry"],
        [archive("hard-up.tar", [{ name: "l.tar", type: "1", linkName: "../outside" }]), "UnsafeEntry"],
        [archive("dotdot.tar", [{ name: "../l.tar", data: layer }], ["../l.tar"]), "UnsafeEntry"],
        [
          archive("dotdot-unused.tar", [{ name: "l.tar", data: layer }, { name: "a/../../x", data: layer }]),
          "UnsafeEntry"
        ],
        [archive("absolute.tar", [{ name: "/l.tar", data: layer }], ["/l.tar"]), "UnsafeEntry"],
        [archive("missing.tar", [{ name: "other.tar", data: layer }]), "EntryMissing"],
        [archive("dangling.tar", [{ name: "l.tar", type: "2", linkName: "nothere.tar" }]), "Invalid"],
        [archive("device.tar", [{ name: "l.tar", type: "3" }]), "Invalid"],
        [archive("mismatch.tar", [{ name: "l.tar", data: layerTar(3000) }]), "DigestMismatch"],
        [write(dir, "noise.bin", new Uint8Array(Crypto.randomBytes(4096))), "NotATar"],
        [
          write(
            dir,
            "oci.tar",
            rawTar([{ name: "oci-layout", data: json({ imageLayoutVersion: "1.0.0" }) }, {
              name: "index.json",
              data: json({ schemaVersion: 2, manifests: [] })
            }])
          ),
          "NotAnArchive"
        ],
        [write(dir, "bad-json.tar", rawTar([{ name: "manifest.json", data: json({ Config: 1 }) }])), "Invalid"]
      ]
      for (const [tar, reason] of cases) yield* archiveFailure(importing(tar), reason)
      // truncated: cut inside the layer, and inside a header
      const whole = fs.readFileSync(archive("whole.tar", [{ name: "l.tar", data: layer }]))
      yield* archiveFailure(importing(write(dir, "cut.tar", whole.subarray(0, 2000))), "Truncated")
      const second = 512 + Math.ceil(layer.length / 512) * 512 // the config's header
      yield* archiveFailure(importing(write(dir, "cut-header.tar", whole.subarray(0, second + 100))), "Truncated")
      // a damaged header after the first
      const damaged = Buffer.from(whole)
      damaged[second + 10] ^= 0xff
      yield* archiveFailure(importing(write(dir, "damaged.tar", damaged)), "Invalid")
      // a manifest.json beyond its bound is not read
      const big = new Uint8Array(DockerArchive.limits.manifestJson + 1).fill(0x20)
      yield* archiveFailure(importing(write(dir, "big.tar", rawTar([{ name: "manifest.json", data: big }]))), "Invalid")
      yield* nothingPushed(registry)
      // and the whole archive does import
      const ok = yield* importing(archive("ok.tar", [{ name: "l.tar", data: layer }]))
      assert.deepStrictEqual(ok.layers.map((l) => l.digest), [sha(layer)])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("export: an index needs a platform; a failed export leaves no file", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const dir = yield* tempDir
      const pushed = yield* pushImage(client, "idx/app", "amd64")
      const index = json({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{
          mediaType: MediaType.DockerManifestSchema2,
          digest: pushed.manifest,
          size: (yield* client.getManifest("idx/app", "amd64")).bytes.length,
          platform: { os: "linux", architecture: "amd64" }
        }]
      })
      yield* client.putManifest("idx/app", "multi", { mediaType: MediaType.OciIndex, bytes: index })
      const tar = path.join(dir, "i.tar")
      const noPlatform = yield* archiveFailure(
        DockerArchive.export(client, { repository: "idx/app", reference: "multi" }, tar),
        "PlatformNotFound"
      )
      assert.deepStrictEqual(noPlatform.candidates, ["linux/amd64"])
      yield* archiveFailure(
        DockerArchive.export(client, {
          repository: "idx/app",
          reference: "multi",
          platform: { os: "linux", architecture: "arm64" }
        }, tar),
        "PlatformNotFound"
      )
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      const exported = yield* DockerArchive.export(client, {
        repository: "idx/app",
        reference: "multi",
        platform: { os: "linux", architecture: "amd64" }
      }, tar)
      assert.strictEqual(exported.config, pushed.config)
      assert.deepStrictEqual(fs.readdirSync(dir), ["i.tar"])
    }).pipe(Effect.provide(InMemory)))
})

layer(RealRegistry.layer(), { timeout: "120 seconds", excludeTestServices: true })(
  "DockerArchive against docker-registry and skopeo",
  (it) => {
    it.scoped("we export, skopeo imports our archive; skopeo exports, we import", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const dir = yield* tempDir
        const pushed = yield* pushImage(client, "da/src", "v1")

        const ours = path.join(dir, "ours.tar")
        yield* DockerArchive.export(client, { repository: "da/src", reference: "v1" }, ours)
        yield* skopeoCopy(`docker-archive:${ours}`, `docker://${registry.host}/da/from-skopeo:v1`)
        const arrived = yield* client.getManifest("da/from-skopeo", "v1")
        assert.strictEqual(arrived.kind, "schema2")
        if (arrived.kind !== "schema2") return
        assert.strictEqual(arrived.manifest.config.digest, pushed.config)
        // skopeo compressed the layers again: their content is the same
        const contents = yield* Effect.forEach(arrived.manifest.layers, (l) =>
          Effect.map(
            Stream.runCollect(client.downloadBlob("da/from-skopeo", l.digest)),
            (chunks) => unzipDigest(Buffer.concat([...chunks]))
          ))
        assert.deepStrictEqual(contents, pushed.diffIds)

        const theirs = path.join(dir, "theirs.tar")
        yield* skopeoCopy(`docker://${registry.host}/da/src:v1`, `docker-archive:${theirs}:saved/app:v9`)
        assert.strictEqual(yield* DockerArchive.detect(theirs), "docker-archive")
        const imported = yield* DockerArchive.import(theirs, client, {
          repository: "da/imported",
          tag: "v1",
          select: "saved/app:v9"
        })
        assert.deepStrictEqual(imported.repoTags, ["docker.io/saved/app:v9"])
        assert.strictEqual(imported.config, pushed.config)
        assert.deepStrictEqual(imported.layers.map((l) => l.digest), pushed.diffIds)
        // and skopeo reads what we pushed
        const inspected = yield* skopeoInspect(`${registry.host}/da/imported:v1`)
        assert.strictEqual(inspected.Digest, imported.manifest)
        assert.deepStrictEqual(inspected.Layers, pushed.diffIds)
      }))
  }
)
