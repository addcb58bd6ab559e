import { Cli } from "@effect-registry/cli"
import { MediaType, RegistryError } from "@effect-registry/core"
import { Key } from "@effect-registry/signing"
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  cli,
  exec,
  json,
  lines,
  listBlobs,
  makeImage,
  ok,
  plainSession,
  putBlob,
  type Ran,
  sha,
  tempDir,
  writeLayout
} from "./support/cliHarness.js"

// --- helpers ----------------------------------------------------------------------------------------------------

const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")

// --- anonymous registry ---------------------------------------------------------------------------------------

layer(RealRegistry.layer(), { timeout: "180 seconds", excludeTestServices: true })(
  "Cli against an anonymous docker-registry",
  (it) => {
    it.scoped("ping, blob put/head/get/mount/delete, with exit codes and --json", () =>
      Effect.gen(function*() {
        const { registry, home, run, h } = yield* plainSession

        assert.strictEqual(ok(yield* run(["ping", h])).stdout, `${h}: ok\n`)
        assert.deepStrictEqual(JSON.parse(ok(yield* run(["ping", h, "--json"])).stdout), {
          registry: h,
          url: registry.url,
          ok: true
        })

        const file = path.join(home, "blob.bin")
        const bytes = new Uint8Array(Crypto.randomBytes(300_000))
        fs.writeFileSync(file, bytes)
        const put = ok(yield* run(["blob", "put", `${h}/cli/blobs`, file]))
        assert.strictEqual(put.stdout, `${sha(bytes)}\n`)
        assert.include(put.stderr, "transferred")
        const chunked = ok(yield* run(["blob", "put", `${h}/cli/chunked`, file, "--chunk-size", "65536", "--json"]))
        assert.deepStrictEqual(JSON.parse(chunked.stdout), { digest: sha(bytes), size: bytes.length, skipped: false })

        const head = ok(yield* run(["blob", "head", `${h}/cli/blobs@${sha(bytes)}`, "--json"]))
        const meta = JSON.parse(head.stdout)
        assert.strictEqual(meta.digest, sha(bytes))
        assert.strictEqual(meta.size, bytes.length)

        const got = ok(yield* run(["blob", "get", `${h}/cli/blobs@${sha(bytes)}`]))
        assert.deepStrictEqual(got.bytes, bytes)
        const out = path.join(home, "out.bin")
        ok(yield* run(["blob", "get", `${h}/cli/blobs@${sha(bytes)}`, "-o", out]))
        assert.deepStrictEqual(new Uint8Array(fs.readFileSync(out)), bytes)

        const mounted = ok(yield* run(["blob", "mount", `${h}/cli/mounted`, sha(bytes), "--from", `${h}/cli/blobs`]))
        assert.strictEqual(mounted.stdout, `mounted ${sha(bytes)}\n`)
        ok(yield* run(["blob", "head", `${h}/cli/mounted@${sha(bytes)}`]))

        ok(yield* run(["blob", "delete", `${h}/cli/mounted@${sha(bytes)}`]))
        const gone = yield* run(["blob", "head", `${h}/cli/mounted@${sha(bytes)}`])
        assert.strictEqual(gone.code, 3)
        assert.match(gone.stderr, /^error: Blob unknown/m)
        // not found in a get too, and the -o file is not created
        const missing = yield* run(["blob", "get", `${h}/cli/mounted@${sha(bytes)}`, "-o", path.join(home, "none")])
        assert.strictEqual(missing.code, 3)
        assert.isFalse(fs.existsSync(path.join(home, "none")))
      }))

    it.scoped("push, tags, catalog, manifest, digest, config, pull, copy, referrers, delete", () =>
      Effect.gen(function*() {
        const { home, run, h } = yield* plainSession
        const src = path.join(home, "src")
        const image = makeImage(src)
        const arm = makeImage(src, { os: "linux", architecture: "arm64" })
        const indexBytes = json({
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests: [image.manifest, arm.manifest]
        })
        const index = putBlob(src, MediaType.OciIndex, indexBytes)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }, { desc: index, ref: "multi" }])

        const pushed = ok(yield* run(["push", src, `${h}/cli/app:v1`]))
        assert.strictEqual(pushed.stdout, `${image.manifest.digest}\n`)
        ok(yield* run(["push", src, `${h}/cli/app:multi`, "--concurrency", "2"]))

        assert.deepStrictEqual(lines(ok(yield* run(["tags", `${h}/cli/app`])).stdout).sort(), ["multi", "v1"])
        const tagsJson = lines(ok(yield* run(["tags", `${h}/cli/app`, "--json"])).stdout).map((l) => JSON.parse(l))
        assert.deepStrictEqual(tagsJson.map((t) => t.tag).sort(), ["multi", "v1"])
        assert.include(lines(ok(yield* run(["catalog", h])).stdout), "cli/app")
        const catalogJson = lines(ok(yield* run(["catalog", h, "--json", "--page-size", "1"])).stdout)
        assert.deepInclude(catalogJson.map((l) => JSON.parse(l)), { repository: "cli/app" })

        const raw = ok(yield* run(["manifest", `${h}/cli/app:v1`]))
        assert.deepStrictEqual(raw.bytes, image.manifestBytes)
        const pretty = ok(yield* run(["manifest", `${h}/cli/app:v1`, "--pretty"]))
        assert.include(pretty.stdout, "\n  \"schemaVersion\": 2")
        const described = JSON.parse(ok(yield* run(["manifest", `${h}/cli/app:multi`, "--json"])).stdout)
        assert.strictEqual(described.digest, index.digest)
        assert.strictEqual(described.mediaType, MediaType.OciIndex)
        assert.strictEqual(described.manifest.manifests.length, 2)

        assert.strictEqual(ok(yield* run(["digest", `${h}/cli/app:v1`])).stdout, `${image.manifest.digest}\n`)
        assert.deepStrictEqual(ok(yield* run(["config", `${h}/cli/app:v1`])).bytes, image.configBytes)
        assert.deepStrictEqual(
          ok(yield* run(["config", `${h}/cli/app:multi`, "--platform", "linux/arm64"])).bytes,
          arm.configBytes
        )

        // pull: the same files as the source layout
        const dst = path.join(home, "dst")
        const pulled = JSON.parse(ok(yield* run(["pull", `${h}/cli/app:multi`, dst, "--json"])).stdout)
        assert.strictEqual(pulled.digest, index.digest)
        assert.strictEqual(pulled.refName, "multi")
        assert.deepStrictEqual(listBlobs(dst), listBlobs(src))
        const one = path.join(home, "one")
        ok(yield* run(["pull", `${h}/cli/app:multi`, one, "--platform", "linux/arm64"]))
        assert.include(listBlobs(one), arm.manifest.digest.slice(7))
        assert.notInclude(listBlobs(one), image.manifest.digest.slice(7))

        // on a terminal, progress is a line per blob and a total, redrawn in place
        const bar = ok(yield* cli(["push", src, `${h}/cli/bar:v1`, "--plain-http"], { dockerConfig: home, tty: true }))
        assert.match(bar.stderr, /\u001b\[\d+F\u001b\[J/)
        assert.match(bar.stderr, /^total {2}\S+ \S+ \/ \S+ \S+.* 3\/3 blobs$/m)
        assert.match(
          bar.stderr,
          // a finished blob's line stays, above the lines redrawn (after the codes that erase them)
          new RegExp(`(?:^|\u001b\\[J)${image.layers[0].digest.slice(0, 19)} {2}transferred {2}\\S+ \\S+$`, "m")
        )
        assert.include(bar.stderr, `${image.manifest.digest} done`)
        assert.strictEqual(bar.stdout, `${image.manifest.digest}\n`)

        // push from a tar of the layout
        const tar = path.join(home, "layout.tar")
        const tarred = yield* exec("tar", ["-cf", tar, "-C", src, "."])
        assert.strictEqual(tarred.code, 0, tarred.stderr)
        assert.strictEqual(ok(yield* run(["push", tar, `${h}/cli/fromtar:v1`])).stdout, `${image.manifest.digest}\n`)

        // copy: whole index, one platform, to another repository
        const copied = JSON.parse(ok(yield* run(["copy", `${h}/cli/app:multi`, `${h}/cli/copy:all`, "--json"])).stdout)
        assert.strictEqual(copied.digest, index.digest)
        assert.strictEqual(
          ok(yield* run(["copy", `${h}/cli/app:multi`, `${h}/cli/copy:arm`, "--platform", "linux/arm64"])).stdout,
          `${arm.manifest.digest}\n`
        )
        assert.strictEqual(ok(yield* run(["digest", `${h}/cli/copy:arm`])).stdout, `${arm.manifest.digest}\n`)
        const both = yield* run([
          "copy",
          `${h}/cli/app:multi`,
          `${h}/cli/copy:x`,
          "--platform",
          "linux/arm64",
          "--all-platforms"
        ])
        assert.strictEqual(both.code, 2)

        // referrers: an artifact whose subject is the image, pushed by digest from its own layout
        const art = path.join(home, "artifact")
        const empty = putBlob(art, MediaType.OciEmpty, new TextEncoder().encode("{}"))
        const artifact = putBlob(
          art,
          MediaType.OciManifest,
          json({
            schemaVersion: 2,
            mediaType: MediaType.OciManifest,
            artifactType: "application/vnd.example.sbom",
            config: empty,
            layers: [empty],
            subject: { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size }
          })
        )
        writeLayout(art, [{ desc: artifact }])
        ok(yield* run(["push", art, `${h}/cli/app@${artifact.digest}`]))
        const refs = lines(ok(yield* run(["referrers", `${h}/cli/app:v1`, "--json"])).stdout).map((l) => JSON.parse(l))
        assert.deepStrictEqual(refs.map((r) => [r.digest, r.artifactType]), [[
          artifact.digest,
          "application/vnd.example.sbom"
        ]])
        const none = ok(yield* run(["referrers", `${h}/cli/app:v1`, "--artifact-type", "application/other"]))
        assert.strictEqual(none.stdout, "")

        // delete by tag: resolved to the digest; then not found
        assert.strictEqual(ok(yield* run(["delete", `${h}/cli/copy:arm`])).stdout, `deleted ${arm.manifest.digest}\n`)
        const deleted = yield* run(["manifest", `${h}/cli/copy:arm`])
        assert.strictEqual(deleted.code, 3)
        assert.match(deleted.stderr, /^error: Manifest unknown/)
        assert.notInclude(deleted.stderr, "\n    at ")
      }))

    it.scoped("sign converts an image to a signed schema 1 manifest, or builds one from layers", () =>
      Effect.gen(function*() {
        const { home, run, h } = yield* plainSession
        const src = path.join(home, "src")
        const image = makeImage(src)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }])
        ok(yield* run(["push", src, `${h}/cli/signed:v1`]))
        const key = yield* Key.generate()
        const keyFile = path.join(home, "key.pem")
        fs.writeFileSync(keyFile, yield* Key.toPem(key))

        const signed = JSON.parse(
          ok(yield* run(["sign", `${h}/cli/signed:v1`, "--tag", "s1", "--key", keyFile, "--json"])).stdout
        )
        assert.strictEqual(signed.mediaType, MediaType.DockerManifestSchema1Signed)
        const back = JSON.parse(ok(yield* run(["manifest", `${h}/cli/signed:s1`, "--json"])).stdout)
        assert.strictEqual(back.mediaType, MediaType.DockerManifestSchema1Signed)
        assert.strictEqual(back.digest, signed.digest)
        assert.deepStrictEqual(
          back.manifest.fsLayers.map((l: { blobSum: string }) => l.blobSum),
          image.layers.map((l) => l.digest).reverse()
        )
        assert.strictEqual(back.manifest.signatures.length, 1)

        const built = ok(
          yield* run([
            "sign",
            `${h}/cli/signed:built`,
            "--key",
            keyFile,
            "--layer",
            image.layers[0].digest,
            "--dry-run"
          ])
        )
        const doc = JSON.parse(built.stdout)
        assert.strictEqual(doc.tag, "built")
        assert.deepStrictEqual(doc.fsLayers, [{ blobSum: image.layers[0].digest }])

        const badKey = path.join(home, "bad.pem")
        fs.writeFileSync(badKey, "not a key")
        assert.strictEqual((yield* run(["sign", `${h}/cli/signed:x`, "--key", badKey])).code, 2)
      }))

    it.scoped("bad input exits 2, not found 3, with one error line", () =>
      Effect.gen(function*() {
        const { home, run, h } = yield* plainSession
        const invalid = yield* run(["tags", `${h}/Bad Name`])
        assert.strictEqual(invalid.code, 2)
        assert.strictEqual(lines(invalid.stderr).length, 1)
        assert.match(invalid.stderr, /^error: /)
        assert.strictEqual((yield* run(["digest", `${h}/cli/app@sha256:abc`])).code, 2)
        assert.strictEqual((yield* run(["blob", "head", `${h}/cli/app:tag`])).code, 2)
        assert.strictEqual((yield* run(["blob", "mount", `${h}/cli/app`, "nodigest", "--from", "x/y"])).code, 2)
        assert.strictEqual((yield* run(["pull", `${h}/cli/app:v1`, home, "--platform", "linux/"])).code, 2)
        assert.strictEqual((yield* run(["pull", `${h}/cli/app:v1`, home, "--concurrency", "0"])).code, 2)
        assert.strictEqual((yield* run(["tags"])).code, 2)
        assert.strictEqual((yield* run(["frobnicate"])).code, 2)
        assert.strictEqual((yield* run(["tags", `${h}/cli/x`, "--username", "u"])).code, 2)
        const unknownRepo = yield* run(["tags", `${h}/cli/never-pushed`])
        assert.strictEqual(unknownRepo.code, 3, unknownRepo.stderr)
        const unknownManifest = yield* run(["digest", `${h}/cli/never-pushed:v1`])
        assert.strictEqual(unknownManifest.code, 3)
        const help = yield* cli(["--help"], { dockerConfig: home })
        assert.strictEqual(help.code, 0)
        assert.include(help.stdout, "copy")
      }))

    it.scoped("-v logs each request without query strings", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const file = path.join(home, "blob.bin")
        fs.writeFileSync(file, Crypto.randomBytes(1000))
        const ran = ok(
          yield* cli(["blob", "put", `${registry.host}/cli/verbose`, file, "--plain-http", "-v"], {
            dockerConfig: home
          })
        )
        assert.match(ran.stderr, new RegExp(`^GET ${registry.url}/v2/ 200 \\d+ms$`, "m"))
        assert.match(ran.stderr, /^POST http:\/\/127\.0\.0\.1:\d+\/v2\/cli\/verbose\/blobs\/uploads\/ 202 \d+ms$/m)
        assert.match(ran.stderr, /^PUT \S+\/blobs\/uploads\/\S+ 201 \d+ms$/m)
        assert.notInclude(ran.stderr, "_state=")
        assert.notInclude(ran.stderr, "?")
      }))

    it.scoped("skopeo reads what the CLI pushed and the CLI reads what skopeo pushed", () =>
      Effect.gen(function*() {
        const { home, run, h } = yield* plainSession
        const src = path.join(home, "src")
        const image = makeImage(src)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }])
        ok(yield* run(["push", src, `${h}/interop/cli:v1`]))
        const theirs = path.join(home, "skopeo")
        const copied = yield* exec("/usr/bin/skopeo", [
          "copy",
          "--insecure-policy",
          "--src-tls-verify=false",
          `docker://${h}/interop/cli:v1`,
          `oci:${theirs}:v1`
        ])
        assert.strictEqual(copied.code, 0, copied.stderr)
        const index = JSON.parse(fs.readFileSync(path.join(theirs, "index.json"), "utf8"))
        assert.strictEqual(index.manifests[0].digest, ok(yield* run(["digest", `${h}/interop/cli:v1`])).stdout.trim())
        assert.deepStrictEqual(listBlobs(theirs), listBlobs(src))

        // skopeo pushes a layout; the CLI copies and pulls it
        const pushed = yield* exec("/usr/bin/skopeo", [
          "copy",
          "--insecure-policy",
          "--dest-tls-verify=false",
          `oci:${theirs}:v1`,
          `docker://${h}/interop/skopeo:v1`
        ])
        assert.strictEqual(pushed.code, 0, pushed.stderr)
        ok(yield* run(["copy", `${h}/interop/skopeo:v1`, `${h}/interop/copied:v1`]))
        const ours = path.join(home, "ours")
        ok(yield* run(["pull", `${h}/interop/copied:v1`, ours]))
        assert.deepStrictEqual(listBlobs(ours), listBlobs(theirs))
      }))

    it.scoped("plain http per registry: a scheme in the reference, --registry-opt, the settings file", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const h = registry.host
        const src = path.join(home, "src")
        const image = makeImage(src)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }])
        const run = (args: ReadonlyArray<string>, env?: Record<string, string>) =>
          cli(args, { dockerConfig: home, ...(env !== undefined ? { env } : {}) })

        // http:// in a reference is plain http for that registry, no flag needed
        const pushed = ok(yield* run(["push", src, `http://${h}/cli/scheme:v1`]))
        assert.strictEqual(pushed.stdout, `${image.manifest.digest}\n`)
        assert.deepStrictEqual(lines(ok(yield* run(["tags", `http://${h}/cli/scheme`])).stdout), ["v1"])
        assert.strictEqual(ok(yield* run(["ping", `http://${h}`])).stdout, `${h}: ok\n`)
        // a forgotten --plain-http: the message names the fixes, global and for this registry
        const forgot = yield* run(["ping", h])
        assert.strictEqual(forgot.code, 1)
        assert.include(forgot.stderr, "--plain-http")
        assert.include(forgot.stderr, `--registry-opt ${h}=plain-http`)
        ok(yield* run(["ping", h, "--registry-opt", `${h}=plain-http`]))
        // https:// is refused as the scheme it is, other schemes are bad input
        assert.strictEqual((yield* run(["ping", `https://${h}`])).code, 1)
        const ftp = yield* run(["tags", `ftp://${h}/cli/scheme`])
        assert.strictEqual(ftp.code, 2)
        assert.include(ftp.stderr, "use http:// or https://")
        assert.strictEqual((yield* run(["ping", h, "--registry-opt", `${h}=bogus`])).code, 2)
        assert.strictEqual((yield* run(["ping", h, "--registry-opt", "plain-http"])).code, 2)

        // the settings file: ~/.config/effect-registry/registries.json, or $EFFECT_REGISTRY_CONFIG
        const settingsDir = path.join(home, ".config", "effect-registry")
        fs.mkdirSync(settingsDir, { recursive: true })
        fs.writeFileSync(
          path.join(settingsDir, "registries.json"),
          JSON.stringify({ registries: { [h]: { scheme: "http" } } })
        )
        assert.deepStrictEqual(lines(ok(yield* run(["tags", `${h}/cli/scheme`])).stdout), ["v1"])
        // the reference's scheme wins over the file
        assert.strictEqual((yield* run(["ping", `https://${h}`])).code, 1)
        const other = path.join(home, "other.json")
        fs.writeFileSync(other, JSON.stringify({ registries: { [h]: { scheme: "gopher" } } }))
        const invalid = yield* run(["ping", h], { EFFECT_REGISTRY_CONFIG: other })
        assert.strictEqual(invalid.code, 2)
        assert.include(invalid.stderr, other)
        const missing = yield* run(["ping", h], { EFFECT_REGISTRY_CONFIG: path.join(home, "none.json") })
        assert.strictEqual(missing.code, 2)
        assert.include(missing.stderr, "does not exist")
      }))

    it.scoped("--json errors are one JSON object on standard error; messages name what to do", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const h = registry.host
        const missing = yield* cli(["manifest", `http://${h}/cli/none:v1`, "--json"], { dockerConfig: home })
        assert.strictEqual(missing.code, 3)
        assert.strictEqual(missing.stdout, "")
        assert.strictEqual(lines(missing.stderr).length, 1)
        const parsed = JSON.parse(missing.stderr)
        assert.strictEqual(parsed.error.tag, "ManifestUnknown")
        assert.strictEqual(parsed.error.status, 404)
        assert.strictEqual(parsed.error.exitCode, 3)
        assert.include(parsed.error.codes, "MANIFEST_UNKNOWN")
        assert.match(parsed.error.message, /^Manifest unknown/)
        const bad = JSON.parse((yield* cli(["tags", `${h}/Bad Name`, "--json"], { dockerConfig: home })).stderr)
        assert.strictEqual(bad.error.tag, "ReferenceInvalid")
        assert.strictEqual(bad.error.exitCode, 2)
        // a usage problem too: one JSON object, no help text
        const usage = yield* cli(["tags", "--json", "--frobnicate"], { dockerConfig: home })
        assert.strictEqual(usage.code, 2)
        assert.strictEqual(lines(usage.stderr).length, 1, usage.stderr)
        const problem = JSON.parse(usage.stderr)
        assert.strictEqual(problem.error.exitCode, 2)
        assert.isAbove(problem.error.message.length, 0)

        // a registry that is down
        const port = yield* Effect.async<number>((resume) => {
          const server = net.createServer()
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            const p = typeof address === "object" && address !== null ? address.port : 0
            server.close(() => resume(Effect.succeed(p)))
          })
        })
        const down = yield* cli(["ping", `http://127.0.0.1:${port}`], { dockerConfig: home })
        assert.strictEqual(down.code, 1)
        assert.include(down.stderr, "nothing listens there; check that the registry is running")

        // a docker save archive given to push, as a directory and as a tar
        const saved = path.join(home, "saved")
        fs.mkdirSync(saved)
        fs.writeFileSync(
          path.join(saved, "manifest.json"),
          JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: [] }])
        )
        fs.writeFileSync(path.join(saved, "c.json"), "{}")
        const asDir = yield* cli(["push", saved, `http://${h}/cli/saved:v1`], { dockerConfig: home })
        assert.strictEqual(asDir.code, 2)
        assert.include(asDir.stderr, "not an OCI layout")
        assert.include(asDir.stderr, "`docker save` archive")
        assert.include(asDir.stderr, "use `effect-registry import`")
        const tar = path.join(home, "saved.tar")
        assert.strictEqual((yield* exec("tar", ["-cf", tar, "-C", saved, "manifest.json", "c.json"])).code, 0)
        const asTar = yield* cli(["push", tar, `http://${h}/cli/saved:v1`], { dockerConfig: home })
        assert.strictEqual(asTar.code, 2)
        assert.include(asTar.stderr, "`docker save` archive")

        // a layout with several ref names and none like the tag: they are named, and --ref-name
        const src = path.join(home, "two")
        const a = makeImage(src)
        const b = makeImage(src, { os: "linux", architecture: "arm64" })
        writeLayout(src, [{ desc: a.manifest, ref: "first" }, { desc: b.manifest, ref: "second" }])
        const ambiguous = yield* cli(["push", src, `http://${h}/cli/two:v9`], { dockerConfig: home })
        assert.strictEqual(ambiguous.code, 2)
        assert.include(ambiguous.stderr, "(first, second)")
        assert.include(ambiguous.stderr, "--ref-name")
        const named = ok(
          yield* cli(["push", src, `http://${h}/cli/two:v9`, "--ref-name", "second"], { dockerConfig: home })
        )
        assert.strictEqual(named.stdout, `${b.manifest.digest}\n`)
      }))

    it.scoped("the real bin runs as a process, with its exit codes", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const bin = path.join(packageDir, "src", "bin", "effect-registry.ts")
        const ping = yield* exec(process.execPath, ["--import", "tsx", bin, "ping", registry.host, "--plain-http"], {
          cwd: packageDir
        })
        assert.strictEqual(ping.code, 0, ping.stderr)
        assert.strictEqual(ping.stdout, `${registry.host}: ok\n`)
        const missing = yield* exec(
          process.execPath,
          ["--import", "tsx", bin, "manifest", `${registry.host}/cli/none:v1`, "--plain-http"],
          { cwd: packageDir }
        )
        assert.strictEqual(missing.code, 3)
        assert.match(missing.stderr, /^error: Manifest unknown/)
      }), 150_000)
  }
)

// --- basic auth -----------------------------------------------------------------------------------------------

const password = "pw-Xq93-correct-horse"
const basic = RealRegistry.layer({ mode: "basic", users: [{ username: "alice", password }] })

const leaks = (ran: Ran) => {
  const b64 = Buffer.from(`alice:${password}`).toString("base64")
  for (const secret of [password, b64, "Basic "]) {
    assert.notInclude(ran.stdout, secret)
    assert.notInclude(ran.stderr, secret)
  }
}

layer(basic, { timeout: "180 seconds", excludeTestServices: true })(
  "Cli against a docker-registry with Basic auth",
  (it) => {
    it.scoped("unauthorized exits 4; --password-stdin works; -v never shows the secret", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const h = registry.host
        const file = path.join(home, "blob.bin")
        const bytes = new Uint8Array(Crypto.randomBytes(5000))
        fs.writeFileSync(file, bytes)

        const anonymous = yield* cli(["blob", "put", `${h}/auth/app`, file, "--plain-http"], { dockerConfig: home })
        assert.strictEqual(anonymous.code, 4)
        assert.match(anonymous.stderr, /^error: Unauthorized/)

        const args = ["--plain-http", "-v", "--username", "alice", "--password-stdin"]
        const put = ok(
          yield* cli(["blob", "put", `${h}/auth/app`, file, ...args], { dockerConfig: home, stdin: `${password}\n` })
        )
        assert.strictEqual(put.stdout, `${sha(bytes)}\n`)
        assert.match(put.stderr, /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/ 401 \d+ms$/m)
        assert.match(put.stderr, /^PUT \S+ 201 \d+ms$/m)
        leaks(put)
        const tags = ok(yield* cli(["catalog", h, ...args, "--json"], { dockerConfig: home, stdin: password }))
        assert.deepStrictEqual(JSON.parse(tags.stdout), { repository: "auth/app" })
        leaks(tags)

        const wrong = yield* cli(["catalog", h, ...args], { dockerConfig: home, stdin: "wrong-password\n" })
        assert.strictEqual(wrong.code, 4)
        assert.notInclude(wrong.stderr, "wrong-password")
        const empty = yield* cli(["catalog", h, ...args], { dockerConfig: home, stdin: "" })
        assert.strictEqual(empty.code, 2)
      }))

    it.scoped("-u/-p with a warning, a prompt on a terminal, none elsewhere", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const h = registry.host
        const argv = yield* cli(["catalog", `http://${h}`, "-u", "alice", "-p", password], { dockerConfig: home })
        assert.strictEqual(argv.code, 0, argv.stderr)
        assert.match(argv.stderr, /^warning: a password on the command line is visible to other users/m)
        leaks(argv)
        const prompted = yield* cli(["catalog", `http://${h}`, "-u", "alice"], { dockerConfig: home, typed: password })
        assert.strictEqual(prompted.code, 0, prompted.stderr)
        assert.include(prompted.stderr, "Password for alice: ")
        leaks(prompted)
        const noTerminal = yield* cli(["catalog", `http://${h}`, "-u", "alice"], { dockerConfig: home })
        assert.strictEqual(noTerminal.code, 2)
        assert.include(noTerminal.stderr, "--password-stdin")
        const both = yield* cli(["catalog", `http://${h}`, "-u", "alice", "-p", password, "--password-stdin"], {
          dockerConfig: home,
          stdin: password
        })
        assert.strictEqual(both.code, 2)
        leaks(both)
        const wrong = yield* cli(["catalog", `http://${h}`, "-u", "alice", "-p", "wrong-pw-123"], {
          dockerConfig: home
        })
        assert.strictEqual(wrong.code, 4)
        assert.notInclude(wrong.stderr.replace(/^warning: .*$/m, ""), "wrong-pw-123")

        // each registry's credentials source: Docker's config by default, none when the settings file says so
        const auth = Buffer.from(`alice:${password}`).toString("base64")
        fs.writeFileSync(path.join(home, "config.json"), JSON.stringify({ auths: { [h]: { auth } } }))
        ok(yield* cli(["catalog", `http://${h}`], { dockerConfig: home }))
        const settings = path.join(home, "registries.json")
        fs.writeFileSync(settings, JSON.stringify({ registries: { [h]: { credentials: "none" } } }))
        const none = yield* cli(["catalog", `http://${h}`], {
          dockerConfig: home,
          env: { EFFECT_REGISTRY_CONFIG: settings }
        })
        assert.strictEqual(none.code, 4, none.stderr)
        const opt = yield* cli(["catalog", `http://${h}`, "--registry-opt", `${h}=credentials=none`], {
          dockerConfig: home
        })
        assert.strictEqual(opt.code, 4, opt.stderr)
      }))

    it.scoped("login writes Docker's config.json, logout removes it", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const h = registry.host
        const bad = yield* cli(["login", h, "--plain-http", "--username", "alice", "--password-stdin"], {
          dockerConfig: home,
          stdin: "nope-nope"
        })
        assert.strictEqual(bad.code, 4)
        assert.isFalse(fs.existsSync(path.join(home, "config.json")))

        const login = ok(
          yield* cli(["login", h, "--plain-http", "-v", "--username", "alice", "--password-stdin"], {
            dockerConfig: home,
            stdin: `${password}\n`
          })
        )
        assert.strictEqual(login.stdout, "Login Succeeded\n")
        leaks(login)
        const config = JSON.parse(fs.readFileSync(path.join(home, "config.json"), "utf8"))
        assert.strictEqual(
          Buffer.from(config.auths[h].auth, "base64").toString("utf8"),
          `alice:${password}`
        )
        // credentials now come from the config
        const ping = ok(yield* cli(["catalog", h, "--plain-http", "-v"], { dockerConfig: home }))
        leaks(ping)

        ok(yield* cli(["logout", h], { dockerConfig: home }))
        const after = JSON.parse(fs.readFileSync(path.join(home, "config.json"), "utf8"))
        assert.isUndefined(after.auths[h])
        assert.strictEqual((yield* cli(["catalog", h, "--plain-http"], { dockerConfig: home })).code, 4)
      }))
  }
)

// --- token auth -----------------------------------------------------------------------------------------------

layer(RealRegistry.layer({ mode: "token", users: [{ username: "alice", password }] }), {
  timeout: "180 seconds",
  excludeTestServices: true
})(
  "Cli against a docker-registry with token auth",
  (it) => {
    it.scoped("-v shows the token requests without tokens or passwords", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const file = path.join(home, "blob.bin")
        fs.writeFileSync(file, Crypto.randomBytes(2000))
        const ran = ok(
          yield* cli(
            [
              "blob",
              "put",
              `${registry.host}/token/app`,
              file,
              "--plain-http",
              "-v",
              "--username",
              "alice",
              "--password-stdin"
            ],
            { dockerConfig: home, stdin: password }
          )
        )
        leaks(ran)
        // a token request went out, and no JWT (base64url JSON header) is printed
        assert.match(ran.stderr, /^GET \S+ 200 \d+ms$/m)
        assert.notInclude(ran.stderr, "eyJ")
        assert.notInclude(ran.stderr, "Bearer")
        assert.notInclude(ran.stderr, "scope=")
      }))
  }
)

// --- TLS --------------------------------------------------------------------------------------------------------

layer(RealRegistry.layer({ mode: "tls" }), { timeout: "180 seconds", excludeTestServices: true })(
  "Cli against a docker-registry over https",
  (it) => {
    it.scoped("--ca-file trusts the registry's CA, --insecure skips the check, neither fails", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const home = yield* tempDir
        const ca = path.join(home, "ca.pem")
        fs.writeFileSync(ca, registry.caPem ?? "")
        const untrusted = yield* cli(["ping", registry.host], { dockerConfig: home })
        assert.strictEqual(untrusted.code, 1)
        assert.match(untrusted.stderr, /^error: /)
        ok(yield* cli(["ping", registry.host, "--ca-file", ca], { dockerConfig: home }))
        ok(yield* cli(["ping", registry.host, "--insecure"], { dockerConfig: home }))
        const missing = yield* cli(["ping", registry.host, "--ca-file", path.join(home, "none.pem")], {
          dockerConfig: home
        })
        assert.strictEqual(missing.code, 2)
      }))

    it.scoped("copy from an http registry to an https one; mirrors serve pulls, in order, then the registry", () =>
      Effect.gen(function*() {
        const secure = yield* RealRegistry.RealRegistry
        const plain = yield* RealRegistry.make()
        const home = yield* tempDir
        const ca = path.join(home, "ca.pem")
        fs.writeFileSync(ca, secure.caPem ?? "")
        const A = plain.host
        const B = secure.host
        const src = path.join(home, "src")
        const image = makeImage(src)
        writeLayout(src, [{ desc: image.manifest, ref: "v1" }])
        const run = (args: ReadonlyArray<string>) => cli(args, { dockerConfig: home })
        ok(yield* run(["push", src, `http://${A}/cli/app:v1`]))

        // plain http to an https registry: the message says to use https for it
        const wrongScheme = yield* run(["ping", `http://${B}`])
        assert.strictEqual(wrongScheme.code, 1)
        assert.include(wrongScheme.stderr, `https://${B}/... in the reference, or --registry-opt ${B}=https`)
        // an untrusted CA: the message names --ca-file, and its per-registry form
        const untrusted = yield* run(["copy", `http://${A}/cli/app:v1`, `${B}/cli/app:v1`])
        assert.strictEqual(untrusted.code, 1)
        assert.include(untrusted.stderr, "--ca-file")
        assert.include(untrusted.stderr, `--registry-opt ${B}=ca-file=`)
        const copied = ok(
          yield* run(["copy", `http://${A}/cli/app:v1`, `${B}/cli/app:v1`, "--registry-opt", `${B}=ca-file=${ca}`])
        )
        assert.strictEqual(copied.stdout, `${image.manifest.digest}\n`)
        // and back, with the CA from the settings file
        const settingsDir = path.join(home, ".config", "effect-registry")
        fs.mkdirSync(settingsDir, { recursive: true })
        const settings = (registries: unknown) =>
          fs.writeFileSync(path.join(settingsDir, "registries.json"), JSON.stringify({ registries }))
        settings({ [B]: { caFile: ca }, [A]: { scheme: "http" } })
        ok(yield* run(["copy", `${B}/cli/app:v1`, `${A}/cli/back:v1`]))

        // mirrors: only-a is on the mirror A alone, only-b on B alone
        ok(yield* run(["push", src, `${A}/cli/only-a:v1`]))
        ok(yield* run(["push", src, `${B}/cli/only-b:v1`]))
        settings({ [B]: { caFile: ca, mirrors: [`http://${A}`] } })
        const viaMirror = ok(yield* run(["pull", `${B}/cli/only-a:v1`, path.join(home, "a"), "-v"]))
        assert.include(viaMirror.stderr, `${B}: reading from the mirror ${A}`)
        assert.notMatch(viaMirror.stderr, new RegExp(`^\\S+ https://${B}/v2/cli/only-a/`, "m"))
        assert.include(listBlobs(path.join(home, "a")), image.manifest.digest.slice(7))
        const fallback = ok(yield* run(["pull", `${B}/cli/only-b:v1`, path.join(home, "b"), "-v"]))
        assert.include(fallback.stderr, `${B}: the mirror ${A} does not answer, next`)
        assert.match(fallback.stderr, new RegExp(`^GET https://${B}/v2/cli/only-b/manifests/v1 200`, "m"))
        // copy reads its source through the mirror too; a mirror from --registry-opt comes first
        settings({ [B]: { caFile: ca } })
        ok(
          yield* run([
            "copy",
            `${B}/cli/only-a:v1`,
            `http://${A}/cli/again:v1`,
            "--registry-opt",
            `${B}=mirror=http://${A}`
          ])
        )
      }))
  }
)

describe("--help", () => {
  it.effect("has no ANSI codes when piped or with NO_COLOR, names the whole command, describes every argument", () =>
    Effect.gen(function*() {
      const home = os.tmpdir()
      const piped = ok(yield* cli(["copy", "--help"], { dockerConfig: home }))
      assert.notInclude(piped.stdout, "\u001b")
      assert.match(piped.stdout, /^\$ effect-registry copy /m)
      assert.include(piped.stdout, "[--platform text...]")
      assert.notInclude(piped.stdout, "A user-defined piece of text")
      assert.match(piped.stdout, /<SRC>\n\n {2}The image or index to copy: \[http:\/\/\|https:\/\/\]host/)
      assert.include(piped.stdout, "(-u, --username text)")
      assert.include(piped.stdout, "(-p, --password text)")
      const nested = ok(yield* cli(["blob", "get", "--help"], { dockerConfig: home }))
      assert.match(nested.stdout, /^\$ effect-registry blob get /m)
      assert.include(nested.stdout, "<REF@DIGEST>\n\n  The blob:")
      const root = ok(yield* cli(["--help"], { dockerConfig: home }))
      assert.match(root.stdout, /^\$ effect-registry$/m)
      const terminal = ok(yield* cli(["copy", "--help"], { dockerConfig: home, stdoutTty: true }))
      assert.include(terminal.stdout, "\u001b[")
      const noColor = ok(yield* cli(["copy", "--help"], { dockerConfig: home, stdoutTty: true, noColor: true }))
      assert.notInclude(noColor.stdout, "\u001b")
      assert.strictEqual(noColor.stdout, piped.stdout)
    }))
})

describe("Cli.exitCode", () => {
  it("maps errors to exit codes", () => {
    assert.strictEqual(Cli.exitCode(new RegistryError.ManifestUnknown({})), 3)
    assert.strictEqual(Cli.exitCode(new RegistryError.NameUnknown({})), 3)
    assert.strictEqual(Cli.exitCode(new RegistryError.Unauthorized({ reason: "MissingCredentials" })), 4)
    assert.strictEqual(Cli.exitCode(new RegistryError.Denied({})), 4)
    assert.strictEqual(Cli.exitCode(new RegistryError.DigestInvalid({})), 2)
    assert.strictEqual(Cli.exitCode(new RegistryError.TransportError({ reason: "Transport" })), 1)
    assert.strictEqual(Cli.exitCode(new Cli.CliError({ reason: "BadInput", detail: "x" })), 2)
  })
})
