import { BlobSource, Digest, ManifestBuilder, MediaType, RegistryClient } from "@effect-registry/core"
import { NodeRegistry } from "@effect-registry/node"
import type { InMemoryRegistry, RealRegistry } from "@effect-registry/testing"
import { assert } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import * as Crypto from "node:crypto"
import * as zlib from "node:zlib"
import { json, sha } from "./layouts.js"

// Tar archives written byte by byte for the archive tests, hostile ones included (names with `..`,
// absolute names, links out of the archive, truncated files), which no well-behaved tar tool writes.

export interface RawEntry {
  readonly name: string
  /** "0" file (default), "2" symbolic link, "1" hard link, "5" directory, "3" character device */
  readonly type?: "0" | "1" | "2" | "3" | "5"
  readonly data?: Uint8Array
  readonly linkName?: string
}

const put = (h: Uint8Array, at: number, s: string) => h.set(new TextEncoder().encode(s), at)

const header = (e: RawEntry, size: number): Uint8Array => {
  const h = new Uint8Array(512)
  put(h, 0, e.name)
  put(h, 100, "0000644\0")
  put(h, 108, "0000000\0")
  put(h, 116, "0000000\0")
  put(h, 124, size.toString(8).padStart(11, "0") + "\0")
  put(h, 136, "00000000000\0")
  put(h, 156, e.type ?? "0")
  if (e.linkName !== undefined) put(h, 157, e.linkName)
  put(h, 257, "ustar\0")
  put(h, 263, "00")
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  put(h, 148, sum.toString(8).padStart(6, "0") + "\0 ")
  return h
}

/** A tar of these members, in this order, with the end-of-archive blocks. */
export const rawTar = (entries: ReadonlyArray<RawEntry>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const e of entries) {
    const data = e.data ?? new Uint8Array(0)
    parts.push(header(e, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512))
  }
  parts.push(new Uint8Array(1024))
  return new Uint8Array(Buffer.concat(parts))
}

/** A small layer: a tar holding one file of random bytes. */
export const layerTar = (size: number): Uint8Array =>
  rawTar([{ name: `file-${Crypto.randomBytes(4).toString("hex")}`, data: Crypto.randomBytes(size) }])

export const gzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(zlib.gzipSync(bytes))

export const configOf = (diffIds: ReadonlyArray<string>): Uint8Array =>
  json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds } })

export interface Pushed {
  readonly manifest: string
  readonly config: string
  readonly configBytes: Uint8Array
  readonly diffIds: ReadonlyArray<string>
  readonly layers: ReadonlyArray<string>
}

/** Pushes a schema 2 image of two gzip layers with our client. */
export const pushImage = (client: RegistryClient.Service, repository: string, tag: string) =>
  Effect.gen(function*() {
    const raws = [layerTar(120_000), layerTar(30_000)]
    const gz = raws.map(gzip)
    const diffIds = raws.map(sha)
    const configBytes = configOf(diffIds)
    const config = sha(configBytes)
    yield* client.uploadBlob(repository, config, BlobSource.fromBytes(configBytes), { size: configBytes.length })
    for (const g of gz) yield* client.uploadBlob(repository, sha(g), BlobSource.fromBytes(g), { size: g.length })
    const manifest = yield* ManifestBuilder.schema2({
      config: {
        mediaType: MediaType.DockerContainerConfig,
        digest: Digest.unsafeMake(config),
        size: configBytes.length
      },
      layers: gz.map((g) => ({
        mediaType: MediaType.DockerLayerGzip,
        digest: Digest.unsafeMake(sha(g)),
        size: g.length
      }))
    })
    const digest = yield* client.putManifest(repository, tag, manifest)
    return { manifest: digest, config, configBytes, diffIds, layers: gz.map(sha) } satisfies Pushed
  })

/** Runs a program (skopeo, tar) with a timeout. */
export const run = (file: string, args: ReadonlyArray<string>) =>
  Effect.async<string, Error>((resume) => {
    const child = execFile(
      file,
      [...args],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resume(error === null ? Effect.succeed(stdout) : Effect.fail(new Error(`${error.message}\n${stderr}`)))
      }
    )
    return Effect.sync(() => child.kill())
  })

/** The in-memory registry received no write: no upload started, no manifest put. */
export const nothingPushed = (registry: InMemoryRegistry.Service) =>
  Effect.gen(function*() {
    const writes = (yield* registry.requests).filter((r) => r.method !== "GET" && r.method !== "HEAD")
    assert.deepStrictEqual(writes.map((r) => `${r.method} ${r.url}`), [])
  })

/** A client of a real registry over plain http. */
export const realClient = (registry: RealRegistry.Running) =>
  Effect.map(
    Layer.build(NodeRegistry.layer({ url: registry.host, plainHttp: true })),
    (ctx) => Context.get(ctx, RegistryClient.RegistryClient)
  )

/** The error an effect must fail with. */
export const failure = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(self), (result) => {
    assert.isTrue(Either.isLeft(result), "expected a failure")
    return (result as Either.Left<E, A>).left
  })

/** `skopeo copy FROM TO` over plain http on the loopback registry. */
export const skopeoCopy = (from: string, to: string) =>
  run("/usr/bin/skopeo", ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", from, to])

/** `skopeo inspect` of an image of the loopback registry. */
export const skopeoInspect = (image: string) =>
  Effect.map(
    run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", `docker://${image}`]),
    (out) => JSON.parse(out) as { readonly Digest: string; readonly Layers: ReadonlyArray<string> }
  )
