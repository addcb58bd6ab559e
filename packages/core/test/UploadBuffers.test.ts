/* eslint-disable @typescript-eslint/no-non-null-assertion -- test fixtures: lookups that must exist */
import { AuthService, BlobSource, RegistryClient } from "@effect-registry/core"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as PortableHash from "../src/PortableHash.js"
import { Base, fakeAuth, FakeRegistry, fastRetry, sha256 } from "./RegistryClient.fake.js"

const MiB = 1024 * 1024

const bytesOf = (n: number, seed: number) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/**
 * A source over `bytes` that records every opening (offset, and whether into given buffers) and every
 * distinct buffer it was handed; `openInto` fills the buffers it is given, `open` makes new pieces.
 */
const recordingSource = (bytes: Uint8Array, piece = 64 * 1024) => {
  const opened: Array<{ readonly offset: number; readonly into: boolean }> = []
  const buffers = new Set<Uint8Array>()
  const pieces = (offset: number, next: () => Uint8Array) =>
    Stream.unfold(offset, (at) => {
      if (at >= bytes.length) return Option.none()
      const into = next()
      const n = Math.min(into.length, bytes.length - at)
      into.set(bytes.subarray(at, at + n))
      return Option.some([into.subarray(0, n), at + n] as const)
    })
  const source = BlobSource.reopenableInto(
    (offset) => {
      opened.push({ offset, into: false })
      return pieces(offset, () => new Uint8Array(piece))
    },
    (offset, buffer) => {
      opened.push({ offset, into: true })
      return pieces(offset, () => {
        const b = buffer()
        buffers.add(b)
        return b
      })
    }
  )
  return { source, opened, buffers }
}

// A transport that is done with each piece of a streamed body as soon as it pulls it (it copies it), as
// `RequestBodyReuse` promises, in front of the fake registry.
const copyingClient = (fake: FakeRegistry): HttpClient.HttpClient =>
  HttpClient.mapRequestEffect(fake.client, (request) => {
    const body = request.body
    if (body._tag !== "Stream") return Effect.succeed(request)
    return Stream.runCollect(Stream.map(body.stream, (piece) => piece.slice())).pipe(
      Effect.map((pieces) =>
        HttpClientRequest.bodyUint8Array(request, BlobSource.concatBytes(pieces), body.contentType)
      ),
      Effect.orDie
    )
  })

const clientWith = (fake: FakeRegistry, reuse: boolean, options: Partial<RegistryClient.Options> = {}) =>
  Effect.provide(
    RegistryClient.RegistryClient,
    RegistryClient.layer({ url: Base, retrySchedule: fastRetry, uploadRetrySchedule: fastRetry, ...options }).pipe(
      Layer.provide([
        Layer.succeed(HttpClient.HttpClient, reuse ? copyingClient(fake) : fake.client),
        Layer.succeed(AuthService.AuthService, fakeAuth),
        PortableHash.layer,
        reuse ? Layer.succeed(RegistryClient.RequestBodyReuse, { piecesAhead: 1 }) : Layer.empty
      ])
    )
  )

describe("BlobSource.reopenableInto", () => {
  it("the capability belongs to the open function: a source with another open does not have it", () => {
    const { source } = recordingSource(new Uint8Array(10))
    assert.isDefined(BlobSource.openIntoOf(source))
    assert.isUndefined(BlobSource.openIntoOf({ ...source, open: (offset: number) => source.open(offset) }))
    // the same open function, so the same bytes: it keeps it
    assert.isDefined(BlobSource.openIntoOf(BlobSource.reopenable(source.open)))
    assert.isUndefined(BlobSource.openIntoOf(BlobSource.fromBytes(new Uint8Array(1))))
    assert.isUndefined(BlobSource.openIntoOf(BlobSource.oneShot(Stream.empty)))
  })

  it("bufferRing hands out its buffers in turn, each made once", () => {
    const next = BlobSource.bufferRing(3, 8)
    const got = Array.from({ length: 7 }, () => next())
    assert.strictEqual(new Set(got).size, 3)
    assert.strictEqual(got[3], got[0])
    assert.strictEqual(got[6], got[0])
    assert.strictEqual(got[4], got[1])
    assert.strictEqual(got[0].length, 8)
  })
})

describe("uploads read into reused buffers when the transport allows it", () => {
  const blob = bytesOf(5 * MiB + 123, 7)
  const digest = sha256(blob)

  for (const mode of ["monolithic", "chunked"] as const) {
    const options = mode === "monolithic" ? { size: blob.length } : { size: blob.length, chunkSize: 2 * MiB }
    it.effect(`${mode}: with RequestBodyReuse the source is read into piecesAhead + 2 buffers, bytes intact`, () =>
      Effect.gen(function*() {
        const fake = new FakeRegistry({ strictState: true })
        const client = yield* clientWith(fake, true)
        const { buffers, opened, source } = recordingSource(blob)
        yield* client.uploadBlob("app", digest, source, options)
        assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
        assert.isTrue(opened.every((o) => o.into))
        // 1 MiB buffers, three of them for the whole upload (shared by its request bodies)
        assert.strictEqual(buffers.size, 3)
        for (const b of buffers) assert.strictEqual(b.length, MiB)
      }))

    it.effect(`${mode}: without RequestBodyReuse (or with transformClient) every piece is new`, () =>
      Effect.gen(function*() {
        for (
          const [reuse, extra] of [[false, {}], [true, { transformClient: (c: HttpClient.HttpClient) => c }]] as const
        ) {
          const fake = new FakeRegistry({ strictState: true })
          const client = yield* clientWith(fake, reuse, extra)
          const { buffers, opened, source } = recordingSource(blob)
          yield* client.uploadBlob("app", digest, source, options)
          assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
          assert.isTrue(opened.every((o) => !o.into))
          assert.strictEqual(buffers.size, 0)
        }
      }))
  }
})

describe("chunked upload of a re-openable source of known size", () => {
  const blob = bytesOf(2500, 3)
  const digest = sha256(blob)

  it.effect("reads each chunk again at its offset, and again from the registry's Range after a failure", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ strictState: true })
      let failed = false
      fake.hooks.push((r, body) => {
        if (r.method === "PATCH" && r.headers["content-range"] === "1000-1999" && !failed) {
          failed = true
          // the registry keeps half the chunk, then the connection breaks
          const id = new URL(r.url).pathname.split("/").at(-1)!
          fake.uploads.get(id)!.chunks.push(body.slice(0, 500))
          return "transport"
        }
        return undefined
      })
      const client = yield* clientWith(fake, false)
      const { opened, source } = recordingSource(blob, 300)
      yield* client.uploadBlob("app", digest, source, { size: blob.length, chunkSize: 1000 })
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
      const patches = fake.requests.filter((r) => r.method === "PATCH")
      assert.deepStrictEqual(patches.map((r) => r.headers["content-range"]), [
        "0-999",
        "1000-1999",
        "1500-1999",
        "2000-2499"
      ])
      assert.deepStrictEqual(patches.map((r) => r.bodySize), [1000, 1000, 500, 500])
      assert.deepStrictEqual(opened.map((o) => o.offset), [0, 1000, 1500, 2000])
    }))

  it.effect("a source shorter or longer than the size fails with SizeMismatch and nothing is stored", () =>
    Effect.gen(function*() {
      for (const [actual, announced] of [[blob.subarray(0, 2200), 2500], [blob, 2200]] as const) {
        const fake = new FakeRegistry({ strictState: true })
        const client = yield* clientWith(fake, false)
        const { source } = recordingSource(actual, 300)
        const error = yield* Effect.flip(client.uploadBlob("app", digest, source, { size: announced, chunkSize: 1000 }))
        assert.strictEqual(error._tag, "SizeMismatch")
        assert.strictEqual(fake.blobs.size, 0)
        // the session was cancelled
        assert.isTrue(fake.requests.some((r) => r.method === "DELETE"))
      }
    }))
})
