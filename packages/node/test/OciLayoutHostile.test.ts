import { Digest, MediaType, Progress, RegistryClient } from "@effect-registry/core"
import { NodeRegistry, OciLayout } from "@effect-registry/node"
import { InMemoryRegistry } from "@effect-registry/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { execFile, execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as zlib from "node:zlib"
import { type Desc, InMemory, json, putBlob, sha, writeLayout } from "./support/layouts.js"
import * as Layouts from "./support/layouts.js"

// Hostile layouts (directories and tars): nothing outside the layout is ever read and sent, no blob leaves the
// machine before its size and digest are checked, and a pull never trusts a blob file already in the layout.

const MARKER = "SECRET-MARKER-7f3a9c1e"

const blobFile = (dir: string, digest: string) => path.join(dir, "blobs", "sha256", digest.slice(7))

/** An image whose layers are the given bytes (the first one may be the bytes of a secret file). */
const makeImage = (dir: string, layerBytes: ReadonlyArray<Uint8Array>) => {
  const layers = layerBytes.map((b) => putBlob(dir, MediaType.OciLayerGzip, b))
  const config = putBlob(dir, MediaType.OciConfig, json({ os: "linux", architecture: "amd64", rootfs: {} }))
  const manifest = putBlob(
    dir,
    MediaType.OciManifest,
    json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers })
  )
  writeLayout(dir, [{ desc: manifest, ref: "v1" }])
  return { manifest, config, layers }
}

const gzipRandom = (n: number) => new Uint8Array(zlib.gzipSync(Crypto.randomBytes(n)))

const tempDir = Layouts.tempDir("hostile-layout-")

/** A file outside every layout, holding the marker; its bytes must never reach the network. */
const secretFile = (dir: string, size = 50_000) => {
  const file = path.join(dir, "secret.bin")
  const filler = Buffer.alloc(size - MARKER.length * 2, "x")
  const bytes = new Uint8Array(Buffer.concat([Buffer.from(MARKER), filler, Buffer.from(MARKER)]))
  fs.writeFileSync(file, bytes)
  return { file, bytes }
}

// --- a recording proxy on loopback in front of the in-memory registry ----------------------------------------------

interface Recorded {
  readonly method: string
  readonly url: string
  readonly body: Buffer
}

const recordingProxy = (upstream: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly host: string; readonly requests: Array<Recorded>; readonly server: http.Server }>(
      (resume) => {
        const requests: Array<Recorded> = []
        const target = new URL(upstream)
        const server = http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            const body = Buffer.concat(chunks)
            requests.push({ method: req.method ?? "", url: req.url ?? "", body })
            // the client's Host goes through, so the registry's Locations name the proxy (its public address)
            const headers = { ...req.headers }
            delete headers["transfer-encoding"]
            headers["content-length"] = String(body.length)
            const forward = http.request(
              { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
              (answer) => {
                res.writeHead(answer.statusCode ?? 502, answer.headers)
                answer.pipe(res)
              }
            )
            forward.on("error", () => res.destroy())
            forward.end(body)
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as net.AddressInfo).port
          resume(Effect.succeed({ host: `127.0.0.1:${port}`, requests, server }))
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** The in-memory registry served on loopback, a recording proxy in front, a real client through the proxy. */
const proxied = Effect.gen(function*() {
  const registry = yield* InMemoryRegistry.serve()
  const proxy = yield* recordingProxy(registry.url)
  const context = yield* Layer.build(NodeRegistry.layer({ url: proxy.host, plainHttp: true }))
  return { registry, proxy, client: Context.get(context, RegistryClient.RegistryClient) }
})

const assertNothingLeaked = (requests: ReadonlyArray<Recorded>, secret: Uint8Array) => {
  const marker = Buffer.from(MARKER)
  for (const r of requests) {
    assert.isFalse(r.body.includes(marker), `${r.method} ${r.url} carried the marker`)
    assert.isFalse(r.body.length > 0 && Buffer.from(secret).includes(r.body), `${r.method} ${r.url}`)
  }
  assert.deepStrictEqual(
    requests.filter((r) => r.url.includes("/blobs/uploads") || r.method === "PUT" || r.method === "PATCH"),
    [],
    "no upload started and no manifest sent"
  )
}

const layoutError = <A, E extends { readonly _tag: string }>(result: Either.Either<A, E>) => {
  assert.isTrue(Either.isLeft(result), "the operation failed")
  if (Either.isRight(result)) throw new Error("unreachable")
  const error = result.left
  assert.strictEqual(error._tag, "OciLayoutError")
  return error as unknown as OciLayout.OciLayoutError
}

describe("OciLayout push of a hostile layout directory", () => {
  it.scoped("a blob that is a symlink to a file outside (whose digest the manifest names) is refused; no byte sent", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* proxied
      const root = yield* tempDir
      const secret = secretFile(root)
      const layout = path.join(root, "layout")
      // the manifest names the secret's own digest and size: only the symlink rule can stop it
      const image = makeImage(layout, [secret.bytes, gzipRandom(20_000)])
      fs.rmSync(blobFile(layout, image.layers[0].digest))
      fs.symlinkSync(secret.file, blobFile(layout, image.layers[0].digest))
      const error = layoutError(yield* Effect.either(OciLayout.push(client, layout, "hostile/a", "v1")))
      assert.strictEqual(error.reason, "Invalid")
      assert.strictEqual(error.digest, image.layers[0].digest)
      assert.include(error.message, "symbolic link")
      assert.notInclude(error.message, MARKER)
      assertNothingLeaked(proxy.requests, secret.bytes)
    }))

  it.scoped("a blob hard-linked to a file outside with other bytes is hashed first and refused; no byte sent", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* proxied
      const root = yield* tempDir
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [gzipRandom(50_000), gzipRandom(20_000)])
      // same size as the layer, other bytes: only the digest check before the upload can stop it
      const secret = secretFile(root, image.layers[0].size)
      fs.rmSync(blobFile(layout, image.layers[0].digest))
      fs.linkSync(secret.file, blobFile(layout, image.layers[0].digest))
      const error = layoutError(yield* Effect.either(OciLayout.push(client, layout, "hostile/b", "v1")))
      assert.strictEqual(error.reason, "Invalid")
      assert.include(error.message, `hashes to ${sha(secret.bytes)}; nothing was sent`)
      // another size than the manifest gives: refused before hashing
      fs.rmSync(blobFile(layout, image.layers[0].digest))
      fs.writeFileSync(blobFile(layout, image.layers[0].digest), secret.bytes.subarray(1))
      const shorter = layoutError(yield* Effect.either(OciLayout.push(client, layout, "hostile/b", "v1")))
      assert.include(shorter.message, `${image.layers[0].size - 1} bytes where the manifest says`)
      assertNothingLeaked(proxy.requests, secret.bytes)
    }))

  it.scoped("blobs/sha256 as a symlink to a directory outside is refused; no byte sent", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* proxied
      const root = yield* tempDir
      const outside = path.join(root, "outside")
      makeImage(outside, [gzipRandom(30_000)])
      const layout = path.join(root, "layout")
      fs.mkdirSync(path.join(layout, "blobs"), { recursive: true })
      fs.symlinkSync(path.join(outside, "blobs", "sha256"), path.join(layout, "blobs", "sha256"))
      fs.copyFileSync(path.join(outside, "oci-layout"), path.join(layout, "oci-layout"))
      fs.copyFileSync(path.join(outside, "index.json"), path.join(layout, "index.json"))
      const error = layoutError(yield* Effect.either(OciLayout.push(client, layout, "hostile/c", "v1")))
      assert.strictEqual(error.reason, "Invalid")
      assert.strictEqual(error.path, path.join(layout, "blobs", "sha256"))
      // nothing but the client's version check reached the registry
      assert.deepStrictEqual(proxy.requests.filter((r) => r.url !== "/v2/").map((r) => `${r.method} ${r.url}`), [])
    }))

  it.scoped("index.json and oci-layout are not read through symlinks; digests are checked before they become paths", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [gzipRandom(10_000)])
      const outsideIndex = path.join(root, "index.json")
      fs.renameSync(path.join(layout, "index.json"), outsideIndex)
      fs.symlinkSync(outsideIndex, path.join(layout, "index.json"))
      const viaLink = layoutError(yield* Effect.either(OciLayout.entries(layout)))
      assert.strictEqual(viaLink.reason, "Invalid")
      assert.include(viaLink.message, "symbolic link")
      fs.rmSync(path.join(layout, "index.json"))
      fs.renameSync(outsideIndex, path.join(layout, "index.json"))
      assert.strictEqual((yield* OciLayout.resolve(layout, "v1")).digest, image.manifest.digest)

      const outsideLayout = path.join(root, "oci-layout")
      fs.renameSync(path.join(layout, "oci-layout"), outsideLayout)
      fs.symlinkSync(outsideLayout, path.join(layout, "oci-layout"))
      assert.strictEqual(layoutError(yield* Effect.either(OciLayout.entries(layout))).reason, "Invalid")
      fs.rmSync(path.join(layout, "oci-layout"))
      fs.renameSync(outsideLayout, path.join(layout, "oci-layout"))

      // a digest with a path in it, in index.json and in a manifest
      const secret = secretFile(root)
      const traversal = `sha256:../../${path.basename(secret.file)}`
      writeLayout(layout, [{ desc: { ...image.manifest, digest: traversal }, ref: "v1" }])
      const inIndex = layoutError(yield* Effect.either(OciLayout.entries(layout)))
      assert.strictEqual(inIndex.reason, "Invalid")
      assert.strictEqual(inIndex.path, path.join(layout, "index.json"))
      const hostileManifest = putBlob(
        layout,
        MediaType.OciManifest,
        json({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: image.config,
          layers: [{ mediaType: MediaType.OciLayerGzip, digest: traversal, size: secret.bytes.length }]
        })
      )
      writeLayout(layout, [{ desc: hostileManifest, ref: "v1" }])
      const inManifest = layoutError(
        yield* Effect.either(OciLayout.readManifest(layout, yield* OciLayout.resolve(layout, "v1")))
      )
      assert.strictEqual(inManifest.reason, "Invalid")
      assert.strictEqual(inManifest.digest, hostileManifest.digest)
    }))

  it.scoped("oversized index.json and manifests are refused by their size, not read whole", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [gzipRandom(10_000)])
      const indexPath = path.join(layout, "index.json")
      const original = fs.readFileSync(indexPath)
      // valid JSON with a huge padding field: 17 MiB, over the 16 MiB limit
      fs.writeFileSync(indexPath, `{"schemaVersion":2,"manifests":[],"pad":"${"x".repeat(17 * 1024 * 1024)}"}`)
      const big = layoutError(yield* Effect.either(OciLayout.entries(layout)))
      assert.strictEqual(big.reason, "Invalid")
      assert.include(big.message, "larger than 16777216 bytes")
      fs.writeFileSync(indexPath, original)

      const hugeBytes = json({ schemaVersion: 2, pad: "y".repeat(5 * 1024 * 1024) })
      const huge = putBlob(layout, MediaType.OciManifest, hugeBytes)
      const descriptor = (d: Desc) => Effect.map(Digest.parse(d.digest), (digest) => ({ ...d, digest }))
      const tooLarge = layoutError(yield* Effect.either(OciLayout.readManifest(layout, yield* descriptor(huge))))
      assert.strictEqual(tooLarge.reason, "Invalid")
      assert.include(tooLarge.message, "larger than 4194304 bytes")
      const manifest = yield* OciLayout.readManifest(layout, yield* descriptor(image.manifest))
      assert.strictEqual(manifest.digest, image.manifest.digest)
    }))

  it.scoped("a FIFO in place of a blob is refused without blocking", () =>
    Effect.gen(function*() {
      const { client, proxy } = yield* proxied
      const root = yield* tempDir
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [gzipRandom(10_000)])
      fs.rmSync(blobFile(layout, image.layers[0].digest))
      execFileSync("mkfifo", [blobFile(layout, image.layers[0].digest)], { timeout: 10_000 })
      const fiber = yield* Effect.fork(Effect.either(OciLayout.push(client, layout, "hostile/fifo", "v1")))
      const result = yield* Fiber.join(fiber).pipe(Effect.timeout("20 seconds"))
      const error = layoutError(result)
      assert.strictEqual(error.reason, "Invalid")
      assert.include(error.message, "not a regular file")
      assertNothingLeaked(proxy.requests, new Uint8Array())
    }))
})

// --- tars, through the CLI ------------------------------------------------------------------------------------------

interface TarEntry {
  readonly name: string
  readonly type: "file" | "dir" | "symlink" | "hardlink"
  readonly link?: string
  readonly bytes?: Uint8Array
}

/** A ustar archive written byte by byte, so that any name, link and type can be put in it. */
const tar = (entries: ReadonlyArray<TarEntry>): Buffer => {
  const blocks: Array<Buffer> = []
  for (const e of entries) {
    const header = Buffer.alloc(512)
    const body = e.type === "file" ? Buffer.from(e.bytes ?? new Uint8Array()) : Buffer.alloc(0)
    const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0") + "\0"
    header.write(e.name, 0, 100, "utf8")
    header.write(octal(e.type === "dir" ? 0o755 : 0o644, 8), 100)
    header.write(octal(0, 8), 108)
    header.write(octal(0, 8), 116)
    header.write(octal(body.length, 12), 124)
    header.write(octal(0, 12), 136)
    header.write("        ", 148)
    header.write({ file: "0", dir: "5", symlink: "2", hardlink: "1" }[e.type], 156)
    if (e.link !== undefined) header.write(e.link, 157, 100, "utf8")
    header.write("ustar\x0000", 257)
    let sum = 0
    for (const byte of header) sum += byte
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148)
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

/** The entries of a layout directory as tar entries (directories first). */
const tarEntriesOf = (dir: string): Array<TarEntry> => {
  const out: Array<TarEntry> = []
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`
      const full = path.join(dir, r)
      if (fs.lstatSync(full).isDirectory()) {
        out.push({ name: `${r}/`, type: "dir" })
        walk(r)
      } else {
        out.push({ name: r, type: "file", bytes: fs.readFileSync(full) })
      }
    }
  }
  walk("")
  return out
}

// The CLI is its own package (@effect-registry/cli, which depends on this one): it runs here as a user runs it,
// its bin as a process (from its sources through tsx), with HOME and DOCKER_CONFIG in the temporary directory.
const cliBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../cli/src/bin/effect-registry.ts")

const cliPush = (archive: string, ref: string, home: string) =>
  Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", cliBin, "push", archive, ref, "--plain-http"],
      {
        timeout: 60_000,
        cwd: path.dirname(cliBin),
        encoding: "utf8",
        env: { ...process.env, HOME: home, DOCKER_CONFIG: home }
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    child.stdin?.end()
    return Effect.sync(() => child.kill())
  })

describe("CLI push of a hostile layout tar", () => {
  it.scoped("a symlink entry to a file outside: refused, no byte of the file sent", () =>
    Effect.gen(function*() {
      const { proxy } = yield* proxied
      const root = yield* tempDir
      const secret = secretFile(root)
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [secret.bytes])
      const entries = tarEntriesOf(layout).map((e): TarEntry =>
        e.name === `blobs/sha256/${image.layers[0].digest.slice(7)}`
          ? { name: e.name, type: "symlink", link: secret.file }
          : e
      )
      const archive = path.join(root, "layout.tar")
      fs.writeFileSync(archive, tar(entries))
      const ran = yield* cliPush(archive, `${proxy.host}/hostile/tar:v1`, root)
      assert.notStrictEqual(ran.code, 0)
      assert.include(ran.stderr, "symbolic link")
      assert.notInclude(ran.stderr, MARKER)
      assertNothingLeaked(proxy.requests, secret.bytes)

      // the same archive with the real bytes is pushed (the archive format is right)
      const good = path.join(root, "good.tar")
      fs.writeFileSync(good, tar(tarEntriesOf(layout)))
      const pushed = yield* cliPush(good, `${proxy.host}/hostile/tar:v1`, root)
      assert.strictEqual(pushed.code, 0, pushed.stderr)
      assert.strictEqual(pushed.stdout, `${image.manifest.digest}\n`)
    }))

  it.scoped("entries with '..', absolute names and hard links out of the archive write and send nothing outside", () =>
    Effect.gen(function*() {
      const { proxy } = yield* proxied
      const root = yield* tempDir
      const secret = secretFile(root)
      const layout = path.join(root, "layout")
      const image = makeImage(layout, [gzipRandom(20_000)])
      const layerName = `blobs/sha256/${image.layers[0].digest.slice(7)}`
      const escaped = path.join(root, "escaped")
      const absolute = path.join(root, "absolute")
      const cases: ReadonlyArray<readonly [string, ReadonlyArray<TarEntry>]> = [
        // standalone-check: allow (hostile tar entry names, not paths the test reads)
        ["dotdot", [...tarEntriesOf(layout), { name: `../../../../../../..${escaped}`, type: "file", bytes: json(1) }]],
        ["absolute", [...tarEntriesOf(layout), { name: absolute, type: "file", bytes: json(1) }]],
        [
          "hardlink-absolute",
          tarEntriesOf(layout).map((e) =>
            e.name === layerName ? { name: e.name, type: "hardlink", link: secret.file } : e
          )
        ],
        [
          "hardlink-dotdot",
          tarEntriesOf(layout).map((e) =>
            // standalone-check: allow
            e.name === layerName ? { name: e.name, type: "hardlink", link: `../../../../../../..${secret.file}` } : e
          )
        ]
      ]
      for (const [name, entries] of cases) {
        const before = proxy.requests.length
        const archive = path.join(root, `${name}.tar`)
        fs.writeFileSync(archive, tar(entries))
        const ran = yield* cliPush(archive, `${proxy.host}/hostile/${name}:v1`, root)
        assert.isFalse(fs.existsSync(escaped), `${name}: nothing written outside`)
        assert.isFalse(fs.existsSync(absolute), `${name}: nothing written at an absolute path`)
        assert.notInclude(ran.stderr, MARKER)
        if (name.startsWith("hardlink")) {
          assert.notStrictEqual(ran.code, 0, `${name}: refused`)
          assertNothingLeaked(proxy.requests.slice(before), secret.bytes)
        }
        if (name === "dotdot") assert.notStrictEqual(ran.code, 0, "tar refuses a member with '..'")
      }
      // the archive with an absolute member name was extracted inside its temporary directory and pushed
      const tags = proxy.requests.filter((r) => r.method === "PUT" && r.url.includes("/manifests/"))
      assert.deepStrictEqual(tags.map((r) => r.url), ["/v2/hostile/absolute/manifests/v1"])
      for (const r of proxy.requests) assert.isFalse(r.body.includes(Buffer.from(MARKER)))
    }))
})

// --- pull into a layout that already holds files ---------------------------------------------------------------------

describe("OciLayout pull over existing files", () => {
  it.scoped("blobs of the right size with wrong bytes, or symlinks, are downloaded again and replaced", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = yield* InMemoryRegistry.InMemoryRegistry
      const root = yield* tempDir
      const src = path.join(root, "src")
      const image = makeImage(src, [gzipRandom(40_000), gzipRandom(30_000), gzipRandom(20_000)])
      yield* OciLayout.push(client, src, "pull/app", "v1")

      const dst = path.join(root, "dst")
      yield* OciLayout.init(dst)
      const [corrupt, linked, kept] = image.layers
      // the right size, wrong bytes
      fs.writeFileSync(blobFile(dst, corrupt.digest), Buffer.alloc(corrupt.size, 7))
      // a symlink to a file outside, which must stay as it is
      const secret = secretFile(root, linked.size)
      fs.symlinkSync(secret.file, blobFile(dst, linked.digest))
      // the manifest, the right size with wrong bytes
      fs.writeFileSync(blobFile(dst, image.manifest.digest), Buffer.alloc(image.manifest.size, 32))
      // a good copy is kept and not downloaded
      fs.copyFileSync(blobFile(src, kept.digest), blobFile(dst, kept.digest))

      yield* registry.clearRequests
      const events: Array<Progress.Event> = []
      const pulled = yield* OciLayout.pull(client, "pull/app", "v1", dst).pipe(
        Effect.provide(Progress.callback((e) => {
          events.push(e)
        }))
      )
      assert.deepStrictEqual(
        [...pulled.replaced].sort(),
        [corrupt.digest, linked.digest, image.manifest.digest].sort()
      )
      for (const d of [image.manifest, image.config, ...image.layers]) {
        const file = blobFile(dst, d.digest)
        assert.isFalse(fs.lstatSync(file).isSymbolicLink(), d.digest)
        assert.strictEqual(sha(fs.readFileSync(file)), d.digest)
      }
      assert.deepStrictEqual(
        new Uint8Array(fs.readFileSync(secret.file)),
        secret.bytes,
        "the outside file is untouched"
      )
      const outcomes = new Map(
        events.filter((e): e is Progress.BlobDone => e._tag === "BlobDone").map((e) => [e.digest as string, e.outcome])
      )
      assert.strictEqual(outcomes.get(corrupt.digest), "Transferred")
      assert.strictEqual(outcomes.get(linked.digest), "Transferred")
      assert.strictEqual(outcomes.get(kept.digest), "Existed")
      const blobGets = (yield* registry.requests).filter((r) => r.method === "GET" && r.path.includes("/blobs/"))
      assert.isFalse(blobGets.some((r) => r.path.endsWith(kept.digest)), "the good blob was not downloaded")
      assert.isTrue(blobGets.some((r) => r.path.endsWith(corrupt.digest)))

      // a second pull finds everything valid
      const again = yield* OciLayout.pull(client, "pull/app", "v1", dst)
      assert.deepStrictEqual(again.replaced, [])
    }).pipe(Effect.provide(InMemory)))

  it.scoped("a pull into a layout whose blobs directory is a symlink out of it fails and writes nothing there", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const root = yield* tempDir
      const src = path.join(root, "src")
      makeImage(src, [gzipRandom(10_000)])
      yield* OciLayout.push(client, src, "pull/link", "v1")
      const outside = path.join(root, "outside")
      fs.mkdirSync(outside)
      const dst = path.join(root, "dst")
      fs.mkdirSync(dst)
      fs.symlinkSync(outside, path.join(dst, "blobs"))
      const error = layoutError(yield* Effect.either(OciLayout.pull(client, "pull/link", "v1", dst)))
      assert.strictEqual(error.reason, "Invalid")
      assert.strictEqual(error.path, path.join(dst, "blobs"))
      assert.deepStrictEqual(fs.readdirSync(outside), [])
    }).pipe(Effect.provide(InMemory)))
})
