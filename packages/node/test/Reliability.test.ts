// Reliability under faults: the client through the fault-injecting proxy in front of the real registry
// (distribution 2.8.2, anonymous), and against the in-memory registry (which keeps sessions resumable).
import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { FaultProxy, RealRegistry } from "@effect-registry/test-infra"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as BlobFile from "../src/BlobFile.js"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"

const KiB = 1024
const MiB = 1024 * KiB

const sha256 = (bytes: Uint8Array): string => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

// Deterministic bytes (a seeded xorshift), so a failing run can be repeated.
const bytesOf = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
    if (i + 1 < size) out[i + 1] = (x >>> 8) & 0xff
    if (i + 2 < size) out[i + 2] = (x >>> 16) & 0xff
    if (i + 3 < size) out[i + 3] = (x >>> 24) & 0xff
  }
  return out
}

// Short delays: the faults are many, the test must stay within minutes.
const fastRetry = Schedule.exponential("20 millis", 2).pipe(
  Schedule.either(Schedule.spaced("300 millis")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(10))
)

const clientOptions = (url: string): RegistryClient.Options => ({
  url,
  retrySchedule: fastRetry,
  uploadRetrySchedule: fastRetry,
  maxResumes: 8
})

const Platform = Layer.mergeAll(
  NodeHttp.layer({ timeouts: { connect: "3 seconds", headers: "20 seconds", bodyIdle: "20 seconds" } }),
  NodeHash.layer,
  NodeFileSystem.layer
).pipe(Layer.orDie)
const Env = Layer.provideMerge(AuthService.anonymous, Platform)

const Suite = Layer.mergeAll(
  Layer.scoped(
    FaultProxy.FaultProxy,
    Effect.flatMap(RealRegistry.RealRegistry, (registry) => FaultProxy.make({ upstream: registry.url, rate: 0 }))
  ).pipe(Layer.provideMerge(RealRegistry.layer({ mode: "anonymous" }))),
  Env
).pipe(Layer.orDie)

const client = (url: string) => RegistryClient.make(clientOptions(url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "reliability-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

// Upload sessions still open in the registry's storage. A cancelled session (DELETE) leaves its directory
// with only `hashstates/` behind; an open one holds `startedat` (and `data` once bytes arrived).
const uploadsLeft = (rootDirectory: string, repository: string): ReadonlyArray<string> => {
  const dir = path.join(rootDirectory, "docker/registry/v2/repositories", repository, "_uploads")
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).filter((uuid) => fs.existsSync(path.join(dir, uuid, "startedat")))
}

interface Plan {
  readonly index: number
  readonly size: number
  readonly mode: "monolithic" | "chunked" | "streamed"
  readonly from: "file" | "bytes"
}

// 100 blobs: 0 bytes, mostly small, ten of 1-4 MiB, four of 8-16 MiB, one of 64 MiB.
const plans: ReadonlyArray<Plan> = Array.from({ length: 100 }, (_, index) => {
  const size = index === 0
    ? 0
    : index === 99
    ? 64 * MiB
    : index >= 95
    ? [8, 10, 12, 16][index - 95] * MiB
    : index >= 85
    ? (1 + (index % 4)) * MiB + index
    : 1 + ((index * 7919) % (256 * KiB))
  const mode = index === 99 ? "monolithic" : (["monolithic", "chunked", "streamed"] as const)[index % 3]
  return { index, size, mode, from: index % 2 === 0 ? "file" : "bytes" }
})

layer(Suite, { timeout: "240 seconds", excludeTestServices: true })("Reliability through the fault proxy", (it) => {
  it.scoped("a one-shot stream whose PATCH answer is lost fails with UploadNotResumable; a re-openable one completes", () =>
    Effect.gen(function*() {
      const proxy = yield* FaultProxy.FaultProxy
      const registry = yield* RealRegistry.RealRegistry
      const c = yield* client(proxy.url)
      const bytes = bytesOf(300 * KiB, 11)
      const digest = sha256(bytes)
      yield* proxy.setRules([{ match: { method: "PATCH", nth: 1 }, fault: "loseAnswer" }])
      const oneShot = yield* Effect.exit(
        c.uploadBlob("rel/oneshot", digest, Stream.make(bytes.subarray(0, 100 * KiB), bytes.subarray(100 * KiB)), {
          chunkSize: 128 * KiB
        })
      )
      assert.isTrue(Exit.isFailure(oneShot))
      if (Exit.isFailure(oneShot)) {
        const error = oneShot.cause._tag === "Fail" ? oneShot.cause.error : undefined
        assert.strictEqual(error?._tag, "UploadNotResumable")
        assert.match(String(error?.message), /one-shot/)
      }
      assert.isFalse(yield* c.hasBlob("rel/oneshot", digest))

      const first = yield* proxy.stats
      yield* proxy.setRules([{ match: { method: "PATCH", nth: 1 }, fault: "loseAnswer" }])
      yield* proxy.resetStats
      const result = yield* c.uploadBlob("rel/oneshot", digest, BlobSource.fromBytes(bytes), { chunkSize: 128 * KiB })
      assert.isFalse(result.skipped)
      assert.isTrue(yield* c.hasBlob("rel/oneshot", digest))
      const stats = yield* proxy.stats
      assert.strictEqual(stats.faults.loseAnswer, 1)
      // the stranded session held the first chunk; everything else was sent once
      assert.strictEqual(stats.strandedBytes, 128 * KiB)
      assert.strictEqual(stats.uploadBytes, bytes.length + stats.strandedBytes)
      yield* proxy.setRules([])
      const left = uploadsLeft(registry.rootDirectory, "rel/oneshot")
      const stranded = { ...first.strandedSessions, ...stats.strandedSessions }
      assert.strictEqual(left.length, 2)
      assert.deepStrictEqual(left.filter((uuid) => stranded[uuid] === undefined), [])
    }))

  it.scoped("after a lost answer to the closing PUT the client checks with HEAD and sends nothing again", () =>
    Effect.gen(function*() {
      const proxy = yield* FaultProxy.FaultProxy
      const c = yield* client(proxy.url)
      for (const [i, options] of [{ size: 200 * KiB }, { chunkSize: 64 * KiB }].entries()) {
        const bytes = bytesOf(200 * KiB, 20 + i)
        const digest = sha256(bytes)
        yield* proxy.setRules([{ match: { method: "PUT", nth: 1 }, fault: "loseAnswer" }])
        yield* proxy.resetStats
        yield* c.uploadBlob("rel/closing", digest, BlobSource.fromBytes(bytes), options)
        const history = yield* proxy.history
        const put = history.findIndex((h) => h.method === "PUT")
        assert.isAtLeast(put, 0)
        assert.strictEqual(history[put].fault, "loseAnswer")
        const after = history.slice(put + 1)
        assert.strictEqual(after[0]?.method, "HEAD", JSON.stringify(after))
        assert.isFalse(after.some((h) => h.method === "PUT" || h.method === "PATCH" || h.method === "POST"))
        const stats = yield* proxy.stats
        assert.strictEqual(stats.uploadBytes, bytes.length)
        assert.isTrue(yield* c.hasBlob("rel/closing", digest))
      }
      yield* proxy.setRules([])
    }))

  it.scoped("stalls end in a typed timeout through NodeHttp's timeouts and through the client's own", () =>
    Effect.gen(function*() {
      const proxy = yield* FaultProxy.FaultProxy
      const http = NodeHttp.layer({ timeouts: { connect: "1 second", headers: "500 millis", bodyIdle: "500 millis" } })
      const once = Schedule.recurs(0)
      // NodeHttp's first-byte timeout
      const viaNode = yield* Effect.gen(function*() {
        yield* proxy.setRules([{ match: { method: "GET", path: /\/tags\/list$/ }, fault: "stall" }])
        const p = yield* RegistryClient.make({ url: proxy.url, retrySchedule: once })
        return yield* Effect.exit(p.tags("rel/stall"))
      }).pipe(Effect.provide(AuthService.anonymous), Effect.provide(Layer.merge(http, NodeHash.layer)))
      assert.isTrue(Exit.isFailure(viaNode))
      if (Exit.isFailure(viaNode) && viaNode.cause._tag === "Fail") {
        assert.strictEqual(viaNode.cause.error._tag, "TransportError")
        if (viaNode.cause.error._tag === "TransportError") assert.strictEqual(viaNode.cause.error.reason, "Timeout")
      } else assert.fail(String(viaNode))
      // the client's own timeout, with NodeHttp's left long
      const started = Date.now()
      const viaClient = yield* Effect.exit(Effect.gen(function*() {
        const p = yield* RegistryClient.make({ url: proxy.url, retrySchedule: once, timeout: "400 millis" })
        return yield* p.tags("rel/stall")
      }))
      assert.isBelow(Date.now() - started, 10_000)
      if (Exit.isFailure(viaClient) && viaClient.cause._tag === "Fail") {
        assert.strictEqual(viaClient.cause.error._tag, "TransportError")
        if (viaClient.cause.error._tag === "TransportError") assert.strictEqual(viaClient.cause.error.reason, "Timeout")
      } else assert.fail(String(viaClient))
      yield* proxy.setRules([])
    }))

  it.scoped(
    "with 20% of requests faulted, 100 uploads and 100 downloads complete, verified",
    () =>
      Effect.gen(function*() {
        const proxy = yield* FaultProxy.FaultProxy
        const registry = yield* RealRegistry.RealRegistry
        const dir = yield* tempDir
        yield* proxy.setRules([])
        yield* proxy.setEnabled(["reset", "status", "tooManyRequests", "truncate", "loseAnswer"])
        yield* proxy.setRate(0.2)
        yield* proxy.resetStats
        const c = yield* client(proxy.url)
        const repository = "rel/faults"
        const started = Date.now()
        const blobs = yield* Effect.forEach(plans, (plan) =>
          Effect.gen(function*() {
            const bytes = bytesOf(plan.size, 1000 + plan.index)
            const digest = sha256(bytes)
            const file = path.join(dir, `in-${plan.index}`)
            fs.writeFileSync(file, bytes)
            const source: BlobSource.BlobSource<BlobFile.BlobFileError> = plan.from === "file"
              ? yield* BlobFile.source(file)
              : BlobSource.fromBytes(bytes)
            const options: RegistryClient.UploadOptions = plan.mode === "monolithic"
              ? { size: plan.size }
              : plan.mode === "chunked"
              // a quarter of them with the size: each chunk is then read again from the source for every request
              ? {
                chunkSize: Math.max(16 * KiB, Math.ceil(plan.size / 3)),
                ...(plan.index % 4 === 0 ? { size: plan.size } : {})
              }
              : {}
            const result = yield* c.uploadBlob(repository, digest, source, options)
            assert.strictEqual(result.digest, digest)
            return { plan, digest, file }
          }), { concurrency: 4 })
        const uploaded = yield* proxy.stats
        const uploadSeconds = (Date.now() - started) / 1000

        yield* Effect.forEach(blobs, ({ digest, file, plan }) =>
          Effect.gen(function*() {
            const out = path.join(dir, `out-${plan.index}`)
            yield* BlobFile.writeAtomic(out, c.downloadBlob(repository, digest), {
              digest: digest as never,
              size: plan.size
            })
            assert.isTrue(fs.readFileSync(out).equals(fs.readFileSync(file)), `blob ${plan.index}`)
          }), { concurrency: 4 })
        const all = yield* proxy.stats
        yield* proxy.setRate(0)

        const total = plans.reduce((n, p) => n + p.size, 0)
        const lost = new Set(all.lostAnswers.flatMap((l) => l.uuid !== undefined ? [l.uuid] : []))
        const left = uploadsLeft(registry.rootDirectory, repository)
        const history = yield* proxy.history
        const open = left.filter((uuid) => !lost.has(uuid))
        for (const uuid of open) {
          console.log(uuid, JSON.stringify(history.filter((h) => h.path.includes(uuid))))
        }
        assert.deepStrictEqual(open, [], "sessions the client could still address")
        const ratio = (uploaded.uploadBytes - uploaded.strandedBytes) / total
        console.log(
          `faults ${JSON.stringify(all.faults)} requests ${all.requests}; uploads ${uploadSeconds.toFixed(1)} s, ` +
            `total ${(Date.now() - started) / 1000} s; blob bytes ${total}, upload bytes ${uploaded.uploadBytes}, ` +
            `stranded ${uploaded.strandedBytes} (${Object.keys(uploaded.strandedSessions).length} sessions), ` +
            `(sent - stranded) / total = ${ratio.toFixed(3)}; sessions left ${left.length}`
        )
        assert.isAtLeast(all.faulted, 100)
        assert.isAtMost(uploaded.uploadBytes, 1.25 * total + uploaded.strandedBytes)
      }),
    200_000
  )
})

// The in-memory registry keeps a session addressable after a PATCH whose answer was lost: the client
// asks the status and goes on from `Range`.
const Counting = (counter: { patchBytes: number; patches: number }) => (http: HttpClient.HttpClient) =>
  HttpClient.tapRequest(http, (request) =>
    Effect.sync(() => {
      if (request.method === "PATCH") {
        counter.patches++
        if (request.body._tag === "Uint8Array") counter.patchBytes += request.body.body.length
      }
    }))

layer(Layer.provideMerge(AuthService.anonymous, Layer.mergeAll(InMemoryRegistry.layer(), NodeHash.layer)), {
  excludeTestServices: true
})(
  "Resume from Range (in-memory registry)",
  (it) => {
    it.effect("after a lost PATCH answer the client asks the status and resends less than a chunk", () =>
      Effect.gen(function*() {
        const registry = yield* InMemoryRegistry.InMemoryRegistry
        const counter = { patchBytes: 0, patches: 0 }
        const c = yield* RegistryClient.make({ ...clientOptions(registry.url), transformClient: Counting(counter) })
        const chunk = 64 * KiB
        const bytes = bytesOf(5 * chunk + 123, 77)
        const digest = sha256(bytes)
        yield* registry.addFault({
          method: "PATCH",
          times: 2,
          fault: { _tag: "Reset", afterHandling: true }
        })
        yield* registry.clearRequests
        const result = yield* c.uploadBlob("mem/resume", digest, BlobSource.fromBytes(bytes), { chunkSize: chunk })
        assert.strictEqual(result.digest, digest)
        const stored = yield* registry.blob(digest)
        assert.isTrue(stored._tag === "Some" && Buffer.from(stored.value).equals(Buffer.from(bytes)))
        const requests = yield* registry.requests
        const methods = requests.map((r) => r.method)
        // after each lost PATCH answer: a status GET on the upload URL
        const statusGets = requests.filter((r) => r.method === "GET" && r.path.includes("/blobs/uploads/"))
        assert.strictEqual(statusGets.length, 2, methods.join(" "))
        assert.isFalse(methods.includes("DELETE"))
        assert.strictEqual(methods.filter((m) => m === "POST").length, 1)
        assert.isBelow(counter.patchBytes - bytes.length, chunk)
        assert.deepStrictEqual(yield* registry.uploads, [])
      }))
  }
)
