// Each operation fails only with its own union: an error code the registry sends on a route
// where it has no meaning arrives as UnexpectedResponse, with the registry's errors[] kept.
import { BlobSource, MediaType, RegistryClient, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Base, clientFor, FakeRegistry, type Recorded, sha256, text } from "./RegistryClient.fake.js"

const blob = text("hello, registry")
const blobDigest = sha256(blob)
const manifestBytes = text(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciEmpty, digest: MediaType.OciEmptyDigest, size: 2 },
  layers: []
}))
const session = "/v2/app/blobs/uploads/some-session"

const errorAnswer = (status: number, code: string) =>
  new Response(JSON.stringify({ errors: [{ code, message: `${code.toLowerCase()} said the registry` }] }), {
    status,
    headers: { "content-type": "application/json" }
  })

/** Every code the mapping knows, with the tag it maps to. */
const codes: ReadonlyArray<readonly [string, RegistryError.RegistryError["_tag"]]> = [
  ["DENIED", "Denied"],
  ["MANIFEST_UNKNOWN", "ManifestUnknown"],
  ["BLOB_UNKNOWN", "BlobUnknown"],
  ["NAME_UNKNOWN", "NameUnknown"],
  ["NAME_INVALID", "NameInvalid"],
  ["TAG_INVALID", "TagInvalid"],
  ["DIGEST_INVALID", "DigestInvalid"],
  ["MANIFEST_INVALID", "ManifestInvalid"],
  ["MANIFEST_BLOB_UNKNOWN", "ManifestBlobUnknown"],
  ["MANIFEST_UNVERIFIED", "ManifestUnverified"],
  ["BLOB_UPLOAD_UNKNOWN", "BlobUploadUnknown"],
  ["BLOB_UPLOAD_INVALID", "BlobUploadInvalid"],
  ["SIZE_INVALID", "BlobUploadInvalid"],
  ["RANGE_INVALID", "RangeInvalid"],
  ["UNSUPPORTED", "Unsupported"],
  ["PAGINATION_NUMBER_INVALID", "PaginationNumberInvalid"]
]

interface Operation {
  readonly name: string
  /** The request of the operation that gets the error answer. */
  readonly matches: (r: Recorded) => boolean
  readonly run: (client: RegistryClient.Service) => Effect.Effect<unknown, RegistryError.RegistryError>
  /** The registry error tags (beyond Denied) the operation may fail with. */
  readonly allowed: ReadonlyArray<RegistryError.RegistryError["_tag"]>
}

const path = (r: Recorded) => new URL(r.url).pathname

const operations: ReadonlyArray<Operation> = [
  {
    name: "repositories",
    matches: (r) => path(r) === "/v2/_catalog",
    run: (c) => c.repositories(),
    allowed: ["PaginationNumberInvalid", "Unsupported"]
  },
  {
    name: "tags",
    matches: (r) => path(r).endsWith("/tags/list"),
    run: (c) => c.tags("app"),
    allowed: ["NameInvalid", "NameUnknown", "PaginationNumberInvalid"]
  },
  {
    name: "getManifest",
    matches: (r) => r.method === "GET" && path(r).includes("/manifests/"),
    run: (c) => c.getManifest("app", "v1"),
    allowed: ["NameInvalid", "TagInvalid", "DigestInvalid", "NameUnknown", "ManifestUnknown", "ManifestInvalid"]
  },
  {
    name: "putManifest",
    matches: (r) => r.method === "PUT" && path(r).includes("/manifests/"),
    run: (c) => c.putManifest("app", "v1", { bytes: manifestBytes, mediaType: MediaType.OciManifest }),
    allowed: [
      "NameInvalid",
      "TagInvalid",
      "DigestInvalid",
      "NameUnknown",
      "ManifestInvalid",
      "ManifestBlobUnknown",
      "ManifestUnverified",
      "Unsupported"
    ]
  },
  {
    name: "deleteManifest",
    matches: (r) => r.method === "DELETE" && path(r).includes("/manifests/"),
    run: (c) => c.deleteManifest("app", sha256(manifestBytes)),
    allowed: ["NameInvalid", "DigestInvalid", "NameUnknown", "ManifestUnknown", "Unsupported"]
  },
  {
    name: "downloadBlob",
    matches: (r) => r.method === "GET" && path(r).includes("/blobs/sha256:"),
    run: (c) => Stream.runDrain(c.downloadBlob("app", blobDigest)),
    allowed: ["NameInvalid", "DigestInvalid", "NameUnknown", "BlobUnknown", "RangeInvalid"]
  },
  {
    name: "deleteBlob",
    matches: (r) => r.method === "DELETE" && path(r).includes("/blobs/sha256:"),
    run: (c) => c.deleteBlob("app", blobDigest),
    allowed: ["NameInvalid", "DigestInvalid", "NameUnknown", "BlobUnknown", "Unsupported"]
  },
  {
    name: "uploadBlob",
    matches: (r) => r.method === "POST",
    run: (c) => c.uploadBlob("app", blobDigest, Stream.make(blob), { size: blob.length }),
    allowed: [
      "NameInvalid",
      "DigestInvalid",
      "NameUnknown",
      "BlobUploadUnknown",
      "BlobUploadInvalid",
      "RangeInvalid",
      "Unsupported"
    ]
  },
  {
    name: "mountBlob",
    matches: (r) => r.method === "POST",
    run: (c) => c.mountBlob("app", blobDigest, "other", { source: BlobSource.fromBytes(blob), size: blob.length }),
    allowed: [
      "NameInvalid",
      "DigestInvalid",
      "NameUnknown",
      "BlobUploadUnknown",
      "BlobUploadInvalid",
      "RangeInvalid",
      "Unsupported"
    ]
  },
  {
    name: "uploadStatus",
    matches: (r) => path(r) === session,
    run: (c) => c.uploadStatus(session),
    allowed: ["NameInvalid", "NameUnknown", "BlobUploadUnknown", "BlobUploadInvalid"]
  },
  {
    name: "cancelUpload",
    matches: (r) => path(r) === session,
    run: (c) => c.cancelUpload(session),
    allowed: ["NameInvalid", "NameUnknown", "BlobUploadUnknown", "BlobUploadInvalid"]
  },
  {
    name: "referrers",
    matches: (r) => path(r).includes("/referrers/"),
    run: (c) => c.referrers("app", blobDigest),
    allowed: ["NameInvalid", "DigestInvalid", "NameUnknown", "ManifestInvalid"]
  }
]

describe("ErrorUnions: every operation fails only with its own union", () => {
  // in-route codes pass, the others become UnexpectedResponse
  const table = operations.flatMap((op) =>
    codes.map(([code, tag]) => [`${op.name} answered ${code}`, op, code, tag] as const)
  )
  it.effect.each(table)("%s", ([, op, code, tag]) =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) => op.matches(r) ? errorAnswer(400, code) : undefined)
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(op.run(client))
      if (new Set<string>(["Denied", ...op.allowed]).has(tag)) {
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error.errors?.[0]?.code, code)
        return
      }
      assert.strictEqual(error._tag, "UnexpectedResponse")
      assert.strictEqual(error._tag === "UnexpectedResponse" ? error.reason : undefined, "Status")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.errors?.[0]?.code, code)
      assert.isTrue(RegistryError.isRegistryError(error.cause))
      assert.strictEqual(RegistryError.isRegistryError(error.cause) ? error.cause._tag : undefined, tag)
      assert.include(error.message, code)
      assert.include(error.message, tag)
    }))
})

describe("ErrorUnions: details", () => {
  it.effect("MANIFEST_BLOB_UNKNOWN on a tags list is UnexpectedResponse naming the route and the code", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) => path(r).endsWith("/tags/list") ? errorAnswer(400, "MANIFEST_BLOB_UNKNOWN") : undefined)
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.tags("team/app"))
      assert.strictEqual(error._tag, "UnexpectedResponse")
      assert.strictEqual(error.repository, "team/app")
      assert.strictEqual(error.request, "GET https://registry.test/v2/team/app/tags/list")
      assert.deepStrictEqual(error.errors, [
        { code: "MANIFEST_BLOB_UNKNOWN", message: "manifest_blob_unknown said the registry" }
      ])
      assert.include(error.message, "ManifestBlobUnknown is not an answer this operation expects")
    }))

  it.effect("tags of an unknown repository is still NameUnknown", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.tags("no/such/repo"))
      assert.strictEqual(error._tag, "NameUnknown")
      assert.strictEqual(error.status, 404)
    }))

  it.effect("hasBlob: absent is false, 403 is Denied, a 405 on a HEAD is UnexpectedResponse", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      let status = 0
      fake.hooks.push((r) =>
        r.method === "HEAD" && status !== 0 && path(r).includes("/blobs/") ? new Response(null, { status }) : undefined
      )
      const client = yield* clientFor(fake)
      assert.isFalse(yield* client.hasBlob("app", blobDigest))
      fake.putBlob("app", blob)
      assert.isTrue(yield* client.hasBlob("app", blobDigest))
      status = 403
      assert.strictEqual((yield* Effect.flip(client.hasBlob("app", blobDigest)))._tag, "Denied")
      status = 405
      const error = yield* Effect.flip(client.hasBlob("app", blobDigest))
      assert.strictEqual(error._tag, "UnexpectedResponse")
      assert.strictEqual(error.status, 405)
      assert.strictEqual(RegistryError.isRegistryError(error.cause) ? error.cause._tag : undefined, "Unsupported")
    }))

  it.effect("blobMetadata of an absent blob is BlobUnknown", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.blobMetadata("app", blobDigest))
      assert.strictEqual(error._tag, "BlobUnknown")
      assert.strictEqual(error.status, 404)
    }))

  it.effect("deletes on a registry with deletes disabled are Unsupported", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) => r.method === "DELETE" ? errorAnswer(405, "UNSUPPORTED") : undefined)
      const client = yield* clientFor(fake)
      assert.strictEqual((yield* Effect.flip(client.deleteBlob("app", blobDigest)))._tag, "Unsupported")
      assert.strictEqual((yield* Effect.flip(client.deleteManifest("app", blobDigest)))._tag, "Unsupported")
    }))

  it.effect("a 416 on a manifest GET is UnexpectedResponse, on a blob GET RangeInvalid", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      fake.hooks.push((r) => r.method === "GET" && path(r) !== "/v2/" ? new Response(null, { status: 416 }) : undefined)
      const client = yield* clientFor(fake)
      const manifest = yield* Effect.flip(client.getManifest("app", "v1"))
      assert.strictEqual(manifest._tag, "UnexpectedResponse")
      assert.strictEqual(manifest.status, 416)
      const bytes = yield* Effect.flip(Stream.runDrain(client.downloadBlob("app", blobDigest, { offset: 4 })))
      assert.strictEqual(bytes._tag, "RangeInvalid")
    }))
})

describe("ErrorUnions: the source's own errors are never narrowed", () => {
  // A registry error from the source (here: a download from another registry) is not the upload's
  // own failure: it passes unchanged even when its tag is outside the upload union.
  const foreign = new RegistryError.BlobUnknown({ repository: "elsewhere/app", digest: blobDigest })
  const failing = Stream.concat(Stream.make(blob.subarray(0, 4)), Stream.fail(foreign))

  it.effect.each(
    [
      ["monolithic", { size: blob.length }],
      ["streamed", {}],
      ["chunked", { chunkSize: 4 }]
    ] as const
  )("a one-shot stream failing with BlobUnknown: %s", ([, options]) =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.uploadBlob("app", blobDigest, failing, options))
      assert.strictEqual(error._tag, "BlobUnknown")
      assert.strictEqual(error.repository, "elsewhere/app")
      assert.isFalse(fake.blobs.has(`app@${blobDigest}`))
    }))

  it.effect("a re-openable source failing with BlobUnknown, through mountBlob's fallback upload", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(
        client.mountBlob("app", blobDigest, "other", { source: BlobSource.reopenable(() => failing) })
      )
      assert.strictEqual(error._tag, "BlobUnknown")
      assert.strictEqual(error.repository, "elsewhere/app")
    }))

  it.effect("a source error that is not a registry error passes unchanged", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(
        client.uploadBlob("app", blobDigest, Stream.fail("disk on fire" as const), { size: 3 })
      )
      assert.strictEqual(error, "disk on fire")
      assert.isTrue(fake.requests.some((r) => r.url.startsWith(`${Base}/v2/app/blobs/uploads/`)))
    }))
})
