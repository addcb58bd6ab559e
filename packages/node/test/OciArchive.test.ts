import { MediaType, RegistryClient } from "@effect-registry/core"
import { DockerArchive, OciArchive, OciLayout } from "@effect-registry/node"
import { InMemoryRegistry, RealRegistry } from "@effect-registry/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import {
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
import { InMemory, json, putBlob, writeLayout } from "./support/layouts.js"
import * as Layouts from "./support/layouts.js"

const tempDir = Layouts.tempDir("ociarchive-")

/** The members of a small OCI layout (one image), as tar entries. */
const layoutEntries = () => {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "ociarchive-src-"))
  try {
    const layerBytes = gzip(layerTar(10_000))
    const l = putBlob(dir, MediaType.OciLayerGzip, layerBytes)
    const config = putBlob(dir, MediaType.OciConfig, json({ os: "linux", architecture: "amd64" }))
    const manifest = putBlob(
      dir,
      MediaType.OciManifest,
      json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [l] })
    )
    writeLayout(dir, [{ desc: manifest, ref: "v1" }])
    const file = (name: string): RawEntry => ({ name, data: new Uint8Array(fs.readFileSync(path.join(dir, name))) })
    const blobs = [l, config, manifest].map((d) => file(`blobs/sha256/${d.digest.slice(7)}`))
    return { manifest, layer: l, entries: [file("oci-layout"), file("index.json"), ...blobs] }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("OciArchive in memory", () => {
  it.scoped("export then import: the same manifest, GNU tar reads the archive as a layout", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const dir = yield* tempDir
      const pushed = yield* pushImage(client, "oa/src", "v1")
      const tar = path.join(dir, "app.tar")
      const exported = yield* OciArchive.export(client, { repository: "oa/src", reference: "v1" }, tar)
      // converted to OCI as skopeo does: same config and layers
      assert.strictEqual(exported.sourceDigest, pushed.manifest)
      assert.isTrue(exported.converted)
      assert.strictEqual(exported.mediaType, MediaType.OciManifest)
      assert.strictEqual(yield* OciArchive.detect(tar), "oci-archive")
      const listing = (yield* run("tar", ["-tf", tar])).trim().split("\n")
      assert.deepStrictEqual(listing.slice(0, 4), ["oci-layout", "index.json", "blobs/", "blobs/sha256/"])
      assert.sameMembers(
        listing.slice(4),
        [exported.digest, pushed.config, ...pushed.layers].map((d) => `blobs/sha256/${d.slice(7)}`)
      )
      const out = path.join(dir, "x")
      fs.mkdirSync(out)
      yield* run("tar", ["-xf", tar, "-C", out])
      const entry = yield* OciLayout.resolve(out, "v1")
      assert.strictEqual(entry.digest, exported.digest)
      const m = yield* OciLayout.readManifest(out, entry)
      assert.strictEqual(m.kind, "oci")
      if (m.kind !== "oci") return
      assert.strictEqual(m.manifest.config.digest, pushed.config)
      assert.strictEqual(m.manifest.config.mediaType, MediaType.OciConfig)
      assert.deepStrictEqual(
        m.manifest.layers.map((l) => [l.digest, l.mediaType]),
        pushed.layers.map((d) => [d, MediaType.OciLayerGzip])
      )
      // and a layout GNU tar archives (`./` members, PAX headers) imports too
      const gnu = path.join(dir, "gnu.tar")
      yield* run("tar", ["--format=pax", "-cf", gnu, "-C", out, "."])
      assert.strictEqual(yield* OciArchive.import(gnu, client, { repository: "oa/gnu", tag: "v1" }), exported.digest)
      fs.rmSync(gnu)
      const imported = yield* OciArchive.import(tar, client, { repository: "oa/copy", tag: "v2" })
      assert.strictEqual(imported, exported.digest)
      assert.strictEqual((yield* client.getManifest("oa/copy", "v2")).digest, exported.digest)
      // without conversion: the registry's manifest as it is
      const asIs = path.join(dir, "as-is.tar")
      const kept = yield* OciArchive.export(client, { repository: "oa/src", reference: "v1", convert: false }, asIs)
      assert.isFalse(kept.converted)
      assert.strictEqual(kept.digest, pushed.manifest)
      assert.strictEqual(yield* OciArchive.import(asIs, client, { repository: "oa/kept", tag: "v1" }), pushed.manifest)
      // no temporary layout left behind
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["app.tar", "as-is.tar", "x"])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("hostile archives fail with typed errors and push nothing", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const dir = yield* tempDir
      const { entries, layer, manifest } = layoutEntries()
      const layerName = `blobs/sha256/${layer.digest.slice(7)}`
      const without = entries.filter((e) => e.name !== layerName)
      const archive = (name: string, members: ReadonlyArray<RawEntry>) => {
        const file = path.join(dir, name)
        fs.writeFileSync(file, rawTar(members))
        return file
      }
      const importing = (tar: string) => OciArchive.import(tar, client, { repository: "evil/app", tag: "v1" })
      const cases: ReadonlyArray<readonly [string, OciArchive.ArchiveError["reason"]]> = [
        [archive("link.tar", [...without, { name: layerName, type: "2", linkName: "/etc/passwd" }]), "UnsafeEntry"],
        [
          archive("inner-link.tar", [...without, { name: "real", data: new Uint8Array(1) }, {
            name: layerName,
            type: "2",
            linkName: "../../real"
          }]),
          "UnsafeEntry"
        ],
        [
          archive("blobs-link.tar", [entries[0], entries[1], { name: "blobs", type: "2", linkName: "/tmp" }]),
          "UnsafeEntry"
        ],
        [archive("dotdot.tar", [...entries, { name: "blobs/../../escape", data: new Uint8Array(3) }]), "UnsafeEntry"],
        [archive("absolute.tar", [...entries, { name: "/tmp/escape", data: new Uint8Array(3) }]), "UnsafeEntry"],
        [archive("device.tar", [...entries, { name: "blobs/sha256/dev", type: "3" }]), "UnsafeEntry"],
        [archive("docker.tar", [{ name: "manifest.json", data: json([]) }]), "NotAnArchive"]
      ]
      for (const [tar, reason] of cases) {
        const e = yield* failure(importing(tar))
        assert.instanceOf(e, OciArchive.ArchiveError)
        assert.strictEqual((e as OciArchive.ArchiveError).reason, reason, String(e))
      }
      const docker = yield* failure(importing(path.join(dir, "docker.tar")))
      assert.include(docker.message, "docker save")
      // truncated inside the last blob
      const whole = rawTar(entries)
      const cut = path.join(dir, "cut.tar")
      fs.writeFileSync(cut, whole.subarray(0, whole.length - 1024 - 100))
      const truncated = yield* failure(importing(cut))
      assert.strictEqual((truncated as OciArchive.ArchiveError).reason, "Truncated")
      // a blob that does not hash to its name: OciLayout's check refuses it
      const corrupt = archive("corrupt.tar", [...without, { name: layerName, data: gzip(layerTar(10_000)) }])
      const invalid = yield* failure(importing(corrupt))
      assert.instanceOf(invalid, OciLayout.OciLayoutError)
      // a blob missing
      const missing = yield* failure(importing(archive("missing.tar", without)))
      assert.strictEqual((missing as OciLayout.OciLayoutError).reason, "BlobMissing")
      yield* nothingPushed(registry)
      const ok = yield* importing(archive("ok.tar", entries))
      assert.strictEqual(ok, manifest.digest)
      assert.strictEqual(yield* DockerArchive.detect(path.join(dir, "ok.tar")), "oci-archive")
      assert.strictEqual(yield* DockerArchive.detect(path.join(dir, "docker.tar")), "docker-archive")
      assert.strictEqual(
        yield* DockerArchive.detect(archive("empty.tar", [{ name: "a", data: new Uint8Array(1) }])),
        "none"
      )
    }).pipe(Effect.provide(InMemory)))
})

layer(RealRegistry.layer(), { timeout: "120 seconds", excludeTestServices: true })(
  "OciArchive against docker-registry and skopeo",
  (it) => {
    it.scoped("we export, skopeo imports our archive; skopeo exports, we import", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const client = yield* realClient(registry)
        const dir = yield* tempDir
        const pushed = yield* pushImage(client, "oa/src", "v1")

        const ours = path.join(dir, "ours.tar")
        const exported = yield* OciArchive.export(client, { repository: "oa/src", reference: "v1" }, ours)
        yield* skopeoCopy(`oci-archive:${ours}:v1`, `docker://${registry.host}/oa/from-skopeo:v1`)
        const arrived = yield* client.getManifest("oa/from-skopeo", "v1")
        assert.strictEqual(arrived.digest, exported.digest)
        assert.strictEqual(arrived.kind, "oci")
        if (arrived.kind !== "oci") return
        assert.strictEqual(arrived.manifest.config.digest, pushed.config)
        assert.deepStrictEqual(arrived.manifest.layers.map((l) => l.digest), pushed.layers)

        const theirs = path.join(dir, "theirs.tar")
        yield* skopeoCopy(`docker://${registry.host}/oa/src:v1`, `oci-archive:${theirs}:v7`)
        assert.strictEqual(yield* OciArchive.detect(theirs), "oci-archive")
        const imported = yield* OciArchive.import(theirs, client, { repository: "oa/imported", tag: "v1", ref: "v7" })
        const back = yield* client.getManifest("oa/imported", "v1")
        assert.strictEqual(back.digest, imported)
        // skopeo wrote an OCI manifest for the schema 2 image, and the config in its OCI form (re-encoded):
        // the same layers, the same diff ids
        assert.strictEqual(back.kind, "oci")
        if (back.kind !== "oci") return
        const configBytes = yield* Stream.runCollect(client.downloadBlob("oa/imported", back.manifest.config.digest))
        const config = JSON.parse(Buffer.concat([...configBytes]).toString("utf8")) as {
          rootfs: { diff_ids: ReadonlyArray<string> }
        }
        assert.deepStrictEqual(config.rootfs.diff_ids, pushed.diffIds)
        assert.deepStrictEqual(back.manifest.layers.map((l) => l.digest), pushed.layers)
        const inspected = yield* skopeoInspect(`${registry.host}/oa/imported:v1`)
        assert.strictEqual(inspected.Digest, imported)
      }))
  }
)
