/* eslint-disable @typescript-eslint/no-non-null-assertion -- test fixtures: lookups that must exist */
import { BlobSource, MediaType, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { asBody, Base, clientFor, FakeRegistry, sha256, text } from "./RegistryClient.fake.js"

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => {
    const parts = [...c]
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let o = 0
    for (const p of parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  })

const ociManifest = (extra: Record<string, unknown> = {}) =>
  text(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciEmpty, digest: MediaType.OciEmptyDigest, size: 2 },
    layers: [],
    ...extra
  }))

describe("RegistryClient: ping", () => {
  it.effect("pings /v2/ when built", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      assert.strictEqual(client.url, Base)
      assert.strictEqual(fake.requests[0].url, `${Base}/v2/`)
    }))

  it.effect("a server that is not a registry fails with NotRegistry", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) => r.url.endsWith("/v2/") ? new Response("<html>", { status: 404 }) : undefined)
      const error = yield* Effect.flip(clientFor(fake))
      assert.strictEqual(error._tag, "UnexpectedResponse")
      assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "NotRegistry")
    }))

  it.effect("an unreachable registry fails with TransportError", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push(() => "transport")
      const error = yield* Effect.flip(clientFor(fake))
      assert.strictEqual(error._tag, "TransportError")
    }))

  it.effect("a URL with credentials is refused before any request", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const error = yield* Effect.flip(clientFor(fake, { url: "https://u:p@registry.test" }))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(fake.requests.length, 0)
    }))
})

describe("RegistryClient: listings", () => {
  const catalog = (fake: FakeRegistry, pages: Record<string, { repos: Array<string>; link?: string }>) =>
    fake.hooks.push((r) => {
      const u = new URL(r.url)
      if (u.pathname !== "/v2/_catalog") return undefined
      const page = pages[u.searchParams.get("last") ?? ""]
      if (page === undefined) return new Response(JSON.stringify({ repositories: [] }), { status: 200 })
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (page.link !== undefined) headers["link"] = page.link
      return new Response(JSON.stringify({ repositories: page.repos }), { status: 200, headers })
    })

  it.effect("follows relative and absolute Links, stops on an empty page", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      catalog(fake, {
        "": { repos: ["a", "b"], link: "</v2/_catalog?last=b&n=2>; rel=\"next\"" },
        b: { repos: ["c", "d"], link: `<${Base}/v2/_catalog?last=d&n=2>; rel="next"` },
        d: { repos: ["e"], link: "</v2/_catalog?last=e&n=2>; rel=\"next\"" }
      })
      const client = yield* clientFor(fake)
      const repos = yield* client.repositories({ n: 2 })
      assert.deepStrictEqual(repos, ["a", "b", "c", "d", "e"])
      const urls = fake.requests.filter((r) => r.url.includes("_catalog")).map((r) => r.url)
      assert.strictEqual(urls.length, 4)
      assert.isTrue(urls[0].includes("n=2"))
    }))

  it.effect("an endless Link loop fails with Pagination", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      catalog(fake, { "": { repos: ["a"], link: "</v2/_catalog?last=>; rel=\"next\"" } })
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.repositories())
      assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "Pagination")
    }))

  it.effect("more pages than maxPages fails with Pagination", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      let i = 0
      fake.hooks.push((r) =>
        r.url.includes("_catalog")
          ? new Response(JSON.stringify({ repositories: [`r${i}`] }), {
            status: 200,
            headers: { link: `</v2/_catalog?last=r${i++}>; rel="next"` }
          })
          : undefined
      )
      const client = yield* clientFor(fake, { maxPages: 5 })
      const error = yield* Effect.flip(client.repositories())
      assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "Pagination")
      assert.strictEqual(fake.requests.filter((r) => r.url.includes("_catalog")).length, 5)
    }))

  it.effect("tags of a repository; unknown repository is NameUnknown", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.putManifest("app", "v1", ociManifest(), MediaType.OciManifest)
      const client = yield* clientFor(fake)
      assert.deepStrictEqual(yield* client.tags("app"), ["v1"])
      const error = yield* Effect.flip(client.tags("nope"))
      assert.strictEqual(error._tag, "NameUnknown")
    }))

  it.effect("a bad repository name fails without a request", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const before = fake.requests.length
      assert.strictEqual((yield* Effect.flip(client.tags("UPPER/case")))._tag, "NameInvalid")
      assert.strictEqual((yield* Effect.flip(client.getManifest("app", "bad tag")))._tag, "TagInvalid")
      assert.strictEqual((yield* Effect.flip(client.hasBlob("app", "sha256:zz")))._tag, "DigestInvalid")
      assert.strictEqual(fake.requests.length, before)
    }))
})

describe("RegistryClient: error mapping", () => {
  const table: ReadonlyArray<[number, string | null, string]> = [
    [401, "UNAUTHORIZED", "Unauthorized"],
    [403, "DENIED", "Denied"],
    [403, null, "Denied"],
    [404, "MANIFEST_UNKNOWN", "ManifestUnknown"],
    [404, "NAME_UNKNOWN", "NameUnknown"],
    [400, "NAME_INVALID", "NameInvalid"],
    [400, "TAG_INVALID", "TagInvalid"],
    [400, "DIGEST_INVALID", "DigestInvalid"],
    [400, "MANIFEST_INVALID", "ManifestInvalid"],
    [400, "MANIFEST_BLOB_UNKNOWN", "ManifestBlobUnknown"],
    [400, "MANIFEST_UNVERIFIED", "ManifestUnverified"],
    [404, "BLOB_UPLOAD_UNKNOWN", "BlobUploadUnknown"],
    [404, "BLOB_UPLOAD_INVALID", "BlobUploadInvalid"],
    [416, null, "RangeInvalid"],
    [405, "UNSUPPORTED", "Unsupported"],
    [400, "PAGINATION_NUMBER_INVALID", "PaginationNumberInvalid"],
    [500, "UNKNOWN", "RegistryUnavailable"],
    [503, null, "RegistryUnavailable"],
    [418, null, "UnexpectedResponse"]
  ]
  it.effect("status and errors[].code map to tagged errors", () =>
    Effect.gen(function*() {
      for (const [status, code, tag] of table) {
        const fake = new FakeRegistry()
        fake.hooks.push((r) =>
          r.url.includes("/manifests/")
            ? new Response(code === null ? "garbage{" : JSON.stringify({ errors: [{ code, message: "m" }] }), {
              status,
              headers: { "content-type": "application/json" }
            })
            : undefined
        )
        const client = yield* clientFor(fake)
        const error = yield* Effect.flip(client.getManifest("app", "v1"))
        // a code outside getManifest's union arrives as UnexpectedResponse, the mapped error as its cause
        const mapped = error._tag === "UnexpectedResponse" && RegistryError.isRegistryError(error.cause)
          ? error.cause
          : error
        assert.strictEqual(mapped._tag, tag, `${status} ${code}`)
        if (code !== null && "errors" in error) assert.strictEqual(error.errors?.[0]?.code, code)
        assert.strictEqual(error.repository, "app")
      }
    }))

  it.effect("plain-text 404 is UnexpectedResponse", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.cancelUpload("/v2/app/nothing/here"))
      assert.strictEqual(error._tag, "UnexpectedResponse")
      assert.strictEqual(error.status, 404)
    }))

  it.effect("429 with Retry-After is retried after the pause (TestClock)", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.putManifest("app", "v1", ociManifest(), MediaType.OciManifest)
      let limited = 1
      fake.hooks.push((r) =>
        r.url.includes("/manifests/") && limited-- > 0
          ? new Response(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS" }] }), {
            status: 429,
            headers: { "retry-after": "30", "ratelimit-remaining": "0" }
          })
          : undefined
      )
      const client = yield* clientFor(fake)
      const fiber = yield* Effect.fork(client.getManifest("app", "v1"))
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(fake.requests.filter((r) => r.url.includes("/manifests/")).length, 1)
      yield* TestClock.adjust("2 seconds")
      const m = yield* Fiber.join(fiber)
      assert.strictEqual(m.kind, "oci")
      assert.strictEqual(fake.requests.filter((r) => r.url.includes("/manifests/")).length, 2)
    }))

  it.effect("429 exhausted carries retryAfter and rate-limit headers", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) =>
        r.url.includes("/manifests/")
          ? new Response("", {
            status: 429,
            headers: { "retry-after": "Wed, 21 Oct 2099 07:28:00 GMT", "x-ratelimit-limit": "100" }
          })
          : undefined
      )
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.getManifest("app", "v1"))
      assert.strictEqual(error._tag, "TooManyRequests")
      if (error._tag === "TooManyRequests") {
        assert.isDefined(error.retryAfter)
        assert.strictEqual(error.rateLimit?.limit, "100")
      }
      // a pause longer than maxRetryAfter is not waited for
      assert.strictEqual(fake.requests.filter((r) => r.url.includes("/manifests/")).length, 1)
    }))

  it.effect("transient 503 is retried, a 400 is not", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.putManifest("app", "v1", ociManifest(), MediaType.OciManifest)
      let failures = 2
      fake.hooks.push((r) =>
        r.url.includes("/manifests/") && failures-- > 0 ? new Response("", { status: 503 }) : undefined
      )
      const client = yield* clientFor(fake)
      const m = yield* client.getManifest("app", "v1")
      assert.strictEqual(m.kind, "oci")
      assert.strictEqual(fake.requests.filter((r) => r.url.includes("/manifests/")).length, 3)
    }))
})

describe("RegistryClient: manifests", () => {
  it.effect("getManifest sends every accepted type and verifies the digest", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = ociManifest()
      const digest = fake.putManifest("app", "v1", bytes, MediaType.OciManifest)
      const client = yield* clientFor(fake)
      const m = yield* client.getManifest("app", "v1")
      assert.strictEqual(m.digest, digest)
      assert.deepStrictEqual(m.bytes, bytes)
      const accept = fake.requests.at(-1)!.headers["accept"]
      for (const t of MediaType.AcceptAll) assert.isTrue(accept.includes(t))
      const byDigest = yield* client.getManifest("app", digest)
      assert.strictEqual(byDigest.digest, digest)
    }))

  it.effect("a missing Docker-Content-Digest is computed from the bytes", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ omitManifestDigest: true })
      const digest = fake.putManifest("app", "v1", ociManifest(), MediaType.OciManifest)
      const client = yield* clientFor(fake)
      assert.strictEqual((yield* client.getManifest("app", "v1")).digest, digest)
      // HEAD without the header falls back to GET
      assert.strictEqual(yield* client.manifestDigest("app", "v1"), digest)
      assert.strictEqual(fake.requests.at(-1)!.method, "GET")
    }))

  it.effect("a wrong Docker-Content-Digest or wrong bytes by digest is DigestMismatch", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const digest = fake.putManifest("app", "v1", ociManifest(), MediaType.OciManifest)
      const other = sha256(text("other"))
      fake.manifests.set(`app@v1`, { bytes: ociManifest(), mediaType: MediaType.OciManifest, digest: other })
      fake.manifests.set(`app@${other}`, { bytes: ociManifest(), mediaType: MediaType.OciManifest, digest })
      const client = yield* clientFor(fake)
      assert.strictEqual((yield* Effect.flip(client.getManifest("app", "v1")))._tag, "DigestMismatch")
      assert.strictEqual((yield* Effect.flip(client.getManifest("app", other)))._tag, "DigestMismatch")
    }))

  it.effect("manifest() asks for schema1, manifestV2() for schema2", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      yield* Effect.either(client.manifest("app", "v1"))
      assert.isTrue(fake.requests.at(-1)!.headers["accept"].includes(MediaType.DockerManifestSchema1Signed))
      assert.isFalse(fake.requests.at(-1)!.headers["accept"].includes(MediaType.DockerManifestSchema2))
      yield* Effect.either(client.manifestV2("app", "v1"))
      assert.strictEqual(fake.requests.at(-1)!.headers["accept"], MediaType.DockerManifestSchema2)
    }))

  it.effect("putManifest sends exact bytes with the media type; deleteManifest", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const bytes = ociManifest({ annotations: { "x": "y" } })
      const digest = yield* client.putManifest("app", "v2", { bytes, mediaType: MediaType.OciManifest })
      assert.strictEqual(digest, sha256(bytes))
      const put = fake.requests.find((r) => r.method === "PUT")!
      assert.strictEqual(put.headers["content-type"], MediaType.OciManifest)
      assert.deepStrictEqual(fake.manifests.get("app@v2")!.bytes, bytes)
      yield* client.deleteManifest("app", digest)
      assert.isFalse(fake.manifests.has(`app@${digest}`))
      assert.strictEqual((yield* Effect.flip(client.deleteManifest("app", digest)))._tag, "ManifestUnknown")
    }))

  it.effect("putManifest with a subject updates the fallback index when no OCI-Subject comes back", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const subjectBytes = ociManifest()
      const subject = fake.putManifest("app", "v1", subjectBytes, MediaType.OciManifest)
      const client = yield* clientFor(fake)
      const sig = ociManifest({
        artifactType: "application/example.sig",
        subject: { mediaType: MediaType.OciManifest, digest: subject, size: subjectBytes.length },
        annotations: { "org.example": "1" }
      })
      const sigDigest = yield* client.putManifest("app", sha256(sig), { bytes: sig, mediaType: MediaType.OciManifest })
      const tag = `sha256-${subject.slice(7)}`
      assert.isTrue(fake.manifests.has(`app@${tag}`))
      const found = yield* client.referrers("app", subject)
      assert.strictEqual(found.length, 1)
      assert.strictEqual(found[0].digest, sigDigest)
      assert.strictEqual(found[0].artifactType, "application/example.sig")
      assert.deepStrictEqual(found[0].annotations, { "org.example": "1" })
      assert.strictEqual((yield* client.referrers("app", subject, { artifactType: "other" })).length, 0)
      // the API was tried first and answered a plain-text 404
      assert.isTrue(fake.requests.some((r) => r.url.includes("/referrers/")))
    }))

  it.effect("referrers through the API, filtered client-side", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ referrersApi: true })
      const subjectBytes = ociManifest()
      const subject = fake.putManifest("app", "v1", subjectBytes, MediaType.OciManifest)
      const a = ociManifest({
        artifactType: "t/a",
        subject: { mediaType: MediaType.OciManifest, digest: subject, size: 1 }
      })
      const b = ociManifest({
        artifactType: "t/b",
        subject: { mediaType: MediaType.OciManifest, digest: subject, size: 1 }
      })
      fake.putManifest("app", sha256(a), a, MediaType.OciManifest)
      fake.putManifest("app", sha256(b), b, MediaType.OciManifest)
      const client = yield* clientFor(fake)
      assert.strictEqual((yield* client.referrers("app", subject)).length, 2)
      const onlyA = yield* client.referrers("app", subject, { artifactType: "t/a" })
      assert.deepStrictEqual(onlyA.map((d) => d.digest), [sha256(a)])
    }))
})

describe("RegistryClient: blob reads", () => {
  it.effect("downloadBlob streams verified bytes; hasBlob; blobMetadata", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("hello world")
      const digest = fake.putBlob("app", bytes)
      const client = yield* clientFor(fake)
      assert.deepStrictEqual(yield* collect(client.downloadBlob("app", digest)), bytes)
      assert.isTrue(yield* client.hasBlob("app", digest))
      assert.isFalse(yield* client.hasBlob("app", sha256(text("x"))))
      const meta = yield* client.blobMetadata("app", digest)
      assert.deepStrictEqual(meta, { digest, size: 11, mediaType: "application/octet-stream" })
      const part = yield* collect(client.downloadBlob("app", digest, { range: { start: 2, end: 5 } }))
      assert.deepStrictEqual(part, bytes.slice(2, 6))
      assert.strictEqual(
        (yield* Effect.flip(collect(client.downloadBlob("app", sha256(text("x"))))))._tag,
        "BlobUnknown"
      )
    }))

  it.effect("wrong bytes fail with DigestMismatch", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const digest = sha256(text("good"))
      fake.blobs.set(`app@${digest}`, text("evil"))
      const client = yield* clientFor(fake)
      assert.strictEqual((yield* Effect.flip(collect(client.downloadBlob("app", digest))))._tag, "DigestMismatch")
    }))

  it.effect("redirects to another origin go without Authorization; https→http is refused", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("layer")
      const digest = sha256(bytes)
      fake.hooks.push((r) => {
        if (r.url === `${Base}/v2/app/blobs/${digest}`) {
          return new Response(null, { status: 307, headers: { location: `https://cdn.test/blob?sig=1` } })
        }
        if (r.url.startsWith("https://cdn.test/")) return new Response(asBody(bytes), { status: 200 })
        if (r.url === `${Base}/v2/bad/blobs/${digest}`) {
          return new Response(null, { status: 302, headers: { location: `http://cdn.test/blob` } })
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      assert.deepStrictEqual(yield* collect(client.downloadBlob("app", digest)), bytes)
      const first = fake.requests.find((r) => r.url.includes("/blobs/"))!
      const cdn = fake.requests.find((r) => r.url.startsWith("https://cdn.test/"))!
      assert.strictEqual(first.headers["authorization"], "Bearer secret")
      assert.isUndefined(cdn.headers["authorization"])
      const error = yield* Effect.flip(collect(client.downloadBlob("bad", digest)))
      assert.strictEqual(error._tag === "TransportError" && error.reason, "Redirect")
      assert.isFalse(fake.requests.some((r) => r.url.startsWith("http://cdn.test")))
    }))

  it.effect("a broken download resumes with Range and is still verified", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = new Uint8Array(1000).map((_, i) => i % 251)
      const digest = fake.putBlob("app", bytes)
      let broken = false
      fake.hooks.push((r) => {
        if (!broken && r.method === "GET" && r.url.endsWith(digest)) {
          broken = true
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(bytes.slice(0, 400))
            },
            pull(controller) {
              controller.error(new Error("connection reset"))
            }
          })
          return new Response(body, { status: 200, headers: { "content-length": "1000" } })
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      const got = yield* collect(client.downloadBlob("app", digest))
      assert.deepStrictEqual(got, bytes)
      const resumed = fake.requests.filter((r) => r.url.endsWith(digest) && r.method === "GET")
      assert.strictEqual(resumed.length, 2)
      assert.strictEqual(resumed[1].headers["range"], "bytes=400-")
    }))
})

describe("RegistryClient: uploads", () => {
  const blob = new Uint8Array(2500).map((_, i) => (i * 7) % 256)
  const digest = sha256(blob)

  it.effect("monolithic upload with a known size; skipped when present", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const result = yield* client.uploadBlob("app", digest, Stream.make(blob), { size: blob.length })
      assert.deepStrictEqual({ ...result }, {
        digest: digest as typeof result.digest,
        size: blob.length,
        skipped: false,
        mounted: false
      })
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
      const put = fake.requests.find((r) => r.method === "PUT")!
      assert.strictEqual(put.headers["content-type"], "application/octet-stream")
      assert.strictEqual(put.headers["content-length"], String(blob.length))
      const again = yield* client.uploadBlob("app", digest, Stream.make(blob), { size: blob.length })
      assert.isTrue(again.skipped)
    }))

  it.effect("streamed upload of unknown size: one PATCH then PUT", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ strictState: true })
      const client = yield* clientFor(fake)
      yield* client.uploadBlob("app", digest, Stream.make(blob.slice(0, 1000), blob.slice(1000)))
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
      assert.deepStrictEqual(fake.requests.filter((r) => r.url.includes("/uploads/")).map((r) => r.method), [
        "POST",
        "PATCH",
        "PUT"
      ])
    }))

  for (const relativeLocations of [false, true]) {
    it.effect(`chunked upload follows every new Location (relative: ${relativeLocations})`, () =>
      Effect.gen(function*() {
        const fake = new FakeRegistry({ strictState: true, relativeLocations })
        const client = yield* clientFor(fake)
        yield* client.uploadBlob("app", digest, BlobSource.fromBytes(blob), { chunkSize: 1000 })
        assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
        const patches = fake.requests.filter((r) => r.method === "PATCH")
        assert.deepStrictEqual(patches.map((r) => r.headers["content-range"]), ["0-999", "1000-1999", "2000-2499"])
        assert.deepStrictEqual(patches.map((r) => new URL(r.url).searchParams.get("_state")), ["0", "1", "2"])
      }))
  }

  it.effect("OCI-Chunk-Min-Length raises the chunk size", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ chunkMin: 2000 })
      const client = yield* clientFor(fake)
      yield* client.uploadBlob("app", digest, BlobSource.fromBytes(blob), { chunkSize: 100 })
      assert.strictEqual(fake.requests.filter((r) => r.method === "PATCH").length, 2)
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
    }))

  it.effect("a failed PATCH resumes from the registry's Range out of the held chunk", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      let failed = false
      fake.hooks.push((r, body) => {
        if (r.method === "PATCH" && r.headers["content-range"] === "1000-1999" && !failed) {
          failed = true
          // the registry keeps half the chunk, then the connection breaks
          const id = new URL(r.url).pathname.split("/").at(-1)!
          const upload = fake.uploads.get(id)!
          upload.chunks.push(body.slice(0, 500))
          return "transport"
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      yield* client.uploadBlob("app", digest, Stream.make(blob), { chunkSize: 1000 })
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
      const patches = fake.requests.filter((r) => r.method === "PATCH").map((r) => r.headers["content-range"])
      assert.deepStrictEqual(patches, ["0-999", "1000-1999", "1500-1999", "2000-2499"])
      assert.strictEqual(fake.requests.filter((r) => r.method === "POST").length, 1)
    }))

  it.effect("BLOB_UPLOAD_INVALID after a lost PATCH answer restarts from a re-openable source", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ strictState: true })
      let lost = false
      fake.hooks.push((r, body) => {
        if (r.method === "PATCH" && r.headers["content-range"] === "1000-1999" && !lost) {
          lost = true
          fake.process(r, body) // the registry takes it; the answer is lost
          return "transport"
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      const result = yield* client.uploadBlob("app", digest, BlobSource.fromBytes(blob), { chunkSize: 1000 })
      assert.strictEqual(result.digest, digest)
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
      assert.strictEqual(fake.requests.filter((r) => r.method === "POST").length, 2)
    }))

  it.effect("the same failure with a one-shot stream is UploadNotResumable and the session is cancelled", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ strictState: true })
      fake.hooks.push((r, body) => {
        if (r.method === "PATCH" && r.headers["content-range"] === "1000-1999") {
          fake.process(r, body)
          return "transport"
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.uploadBlob("app", digest, Stream.make(blob), { chunkSize: 1000 }))
      assert.strictEqual(error._tag, "UploadNotResumable")
      assert.isTrue(fake.requests.some((r) => r.method === "DELETE"))
      assert.isFalse(fake.blobs.has(`app@${digest}`))
    }))

  it.effect("a lost answer to the closing PUT is checked with HEAD before anything is resent", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      let lost = false
      fake.hooks.push((r, body) => {
        if (r.method === "PUT" && !lost) {
          lost = true
          fake.process(r, body)
          return "transport"
        }
        return undefined
      })
      const client = yield* clientFor(fake)
      const result = yield* client.uploadBlob("app", digest, Stream.make(blob), { size: blob.length })
      assert.isFalse(result.skipped)
      const methods = fake.requests.filter((r) => r.url.includes("/blobs/")).map((r) => r.method)
      assert.deepStrictEqual(methods, ["HEAD", "POST", "PUT", "HEAD"])
    }))

  it.effect("bytes that do not hash to the digest fail with DigestMismatch before the PUT", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const wrong = sha256(text("something else"))
      const error = yield* Effect.flip(client.uploadBlob("app", wrong, BlobSource.fromBytes(blob), { chunkSize: 1000 }))
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.isFalse(fake.requests.some((r) => r.method === "PUT"))
      assert.isTrue(fake.requests.some((r) => r.method === "DELETE"))
    }))

  it.effect("verifyDigest: false leaves the digest to the registry (DigestInvalid at the PUT), sizes still counted", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const wrong = sha256(text("something else"))
      const refused = yield* Effect.flip(
        client.uploadBlob("app", wrong, BlobSource.fromBytes(blob), { size: blob.length, verifyDigest: false })
      )
      assert.strictEqual(refused._tag, "DigestInvalid")
      assert.isTrue(fake.requests.some((r) => r.method === "PUT"))
      assert.isFalse(fake.blobs.has(`app@${wrong}`))
      const short = yield* Effect.flip(
        client.uploadBlob("app", digest, BlobSource.fromBytes(blob), { size: blob.length + 1, verifyDigest: false })
      )
      assert.strictEqual(short._tag, "SizeMismatch")
      const chunked = yield* client.uploadBlob("app", digest, BlobSource.fromBytes(blob), {
        chunkSize: 1000,
        verifyDigest: false
      })
      assert.isFalse(chunked.skipped)
      assert.deepStrictEqual(fake.blobs.get(`app@${digest}`), blob)
    }))

  it.effect("mountBlob: 201 mounted; 202 cancelled or uploaded from the source", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.putBlob("src", blob)
      const client = yield* clientFor(fake)
      const mounted = yield* client.mountBlob("app", digest, "src")
      assert.isTrue(mounted.mounted)
      assert.isTrue(fake.blobs.has(`app@${digest}`))
      const other = text("other")
      const d2 = sha256(other)
      const notMounted = yield* client.mountBlob("app", d2, "src")
      assert.isFalse(notMounted.mounted)
      assert.strictEqual(fake.uploads.size, 0)
      const uploaded = yield* client.mountBlob("app", d2, "src", { source: BlobSource.fromBytes(other), size: 5 })
      assert.isFalse(uploaded.mounted)
      assert.deepStrictEqual(fake.blobs.get(`app@${d2}`), other)
    }))

  it.effect("uploadStatus and cancelUpload address a session by its Location", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry({ relativeLocations: true })
      fake.hooks.push(() => undefined)
      const client = yield* clientFor(fake)
      const res = fake.handle(
        { method: "POST", url: `${Base}/v2/app/blobs/uploads/`, headers: {}, bodySize: 0 },
        new Uint8Array()
      )
      const location = (res as Response).headers.get("location")!
      const status = yield* client.uploadStatus(location)
      assert.strictEqual(status.offset, 0)
      yield* client.cancelUpload(status.location)
      const error = yield* Effect.flip(client.uploadStatus(location))
      assert.strictEqual(error._tag, "BlobUploadUnknown")
      assert.isTrue(Either.isRight(Either.right(1)))
    }))
})
