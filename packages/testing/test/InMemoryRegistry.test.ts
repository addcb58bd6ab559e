import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as InMemoryRegistry from "../src/InMemoryRegistry.js"

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
const EMPTY = "application/vnd.oci.empty.v1+json"

const encode = (s: string) => new TextEncoder().encode(s)
const decode = (b: Uint8Array) => new TextDecoder().decode(b)

const sha256 = (bytes: Uint8Array) =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", new Uint8Array(bytes))).pipe(
    Effect.map((buffer) => `sha256:${Buffer.from(buffer).toString("hex")}`)
  )

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly bytes: Uint8Array
}

interface ErrorBody {
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly detail?: unknown }>
}

const json = <A>(answer: Answer): A => JSON.parse(decode(answer.bytes)) as A
const code = (answer: Answer) => json<ErrorBody>(answer).errors[0].code

/** A tiny raw-HTTP driver over any HttpClient, with Locations resolved against the registry URL. */
const driver = (client: HttpClient.HttpClient, url: string) => {
  const send = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<Answer, unknown> =>
    client.execute(request).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.arrayBuffer, (buffer) => ({
          status: response.status,
          headers: response.headers,
          bytes: new Uint8Array(buffer)
        }))
      )
    )
  const abs = (location: string) => new URL(location, url).toString()
  const put = (location: string, digest: string, body?: Uint8Array) =>
    send(
      HttpClientRequest.put(abs(location)).pipe(
        HttpClientRequest.appendUrlParam("digest", digest),
        body === undefined ? (r) => r : HttpClientRequest.bodyUint8Array(body, "application/octet-stream")
      )
    )
  const pushBlob = (repo: string, bytes: Uint8Array) =>
    Effect.gen(function*() {
      const digest = yield* sha256(bytes)
      const start = yield* send(HttpClientRequest.post(`${url}/v2/${repo}/blobs/uploads/`))
      assert.strictEqual(start.status, 202)
      const done = yield* put(start.headers["location"], digest, bytes)
      assert.strictEqual(done.status, 201)
      return digest
    })
  const putManifest = (repo: string, reference: string, body: string, contentType = OCI_MANIFEST) =>
    send(
      HttpClientRequest.put(`${url}/v2/${repo}/manifests/${reference}`).pipe(
        HttpClientRequest.bodyText(body, contentType)
      )
    )
  const get = (path: string, headers: Record<string, string> = {}) =>
    send(HttpClientRequest.get(abs(path)).pipe(HttpClientRequest.setHeaders(headers)))
  const head = (path: string, headers: Record<string, string> = {}) =>
    send(HttpClientRequest.head(abs(path)).pipe(HttpClientRequest.setHeaders(headers)))
  const del = (path: string) => send(HttpClientRequest.del(abs(path)))
  /** What a client sees of a GET whose body may break: status, headers, the bytes before the break, the break. */
  const watch = (path: string) =>
    client.execute(HttpClientRequest.get(abs(path))).pipe(
      Effect.flatMap((response) => {
        const seen: Array<Uint8Array> = []
        return response.stream.pipe(
          Stream.runForEach((piece) => Effect.sync(() => seen.push(piece))),
          Effect.either,
          Effect.map((end) => ({
            status: response.status,
            headers: response.headers,
            bytes: new Uint8Array(Buffer.concat(seen)),
            end
          }))
        )
      })
    )
  return { send, abs, put, pushBlob, putManifest, get, head, del, watch }
}

/** A reset connection: the request fails as a transport error, no answer at all. */
const assertReset = (outcome: Either.Either<Answer, unknown>) => {
  assert.isTrue(Either.isLeft(outcome), "no answer")
  const error = Either.isLeft(outcome) ? outcome.left : undefined
  assert.instanceOf(error, HttpClientError.RequestError)
  if (error instanceof HttpClientError.RequestError) assert.strictEqual(error.reason, "Transport")
}

/** A truncated body: the whole answer's headers, the first `bytes` of the body, then a broken body. */
const assertTruncated = (
  seen: {
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly bytes: Uint8Array
    readonly end: Either.Either<void, unknown>
  },
  whole: string,
  bytes: number
) => {
  assert.strictEqual(seen.status, 200)
  assert.strictEqual(seen.headers["content-length"], String(whole.length), "the full length is announced")
  assert.strictEqual(decode(seen.bytes), whole.slice(0, bytes))
  assert.isTrue(Either.isLeft(seen.end), "the body breaks")
  const error = Either.isLeft(seen.end) ? seen.end.left : undefined
  assert.instanceOf(error, HttpClientError.ResponseError)
  if (error instanceof HttpClientError.ResponseError) assert.strictEqual(error.reason, "Decode")
}

const inProcess = (options?: InMemoryRegistry.Options) =>
  Effect.map(InMemoryRegistry.make(options), (registry) => ({ registry, api: driver(registry.client, registry.url) }))

const ociManifest = (config: string, layers: ReadonlyArray<{ digest: string; size: number }>, extra = {}) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
    ...extra
  })

/** The push / pull sequence both transports must answer the same way. */
const pushPullSequence = (api: ReturnType<typeof driver>, registryUrl: string) =>
  Effect.gen(function*() {
    // ping
    const ping = yield* api.get("/v2/")
    assert.strictEqual(ping.status, 200)
    assert.strictEqual(ping.headers["docker-distribution-api-version"], "registry/2.0")
    assert.deepStrictEqual(json(ping), {})
    assert.strictEqual((yield* api.head("/v2/")).status, 200)

    // chunked upload with changing Locations and a checked Content-Range
    const layer = encode("hello, layer bytes!")
    const layerDigest = yield* sha256(layer)
    const start = yield* api.send(HttpClientRequest.post(`${registryUrl}/v2/seq/app/blobs/uploads/`))
    assert.strictEqual(start.status, 202)
    assert.strictEqual(start.headers["range"], "0-0")
    assert.isTrue(start.headers["location"].startsWith(`${registryUrl}/v2/seq/app/blobs/uploads/`))
    const uuid = start.headers["docker-upload-uuid"]
    assert.isTrue(start.headers["location"].includes(uuid))
    const patch = (location: string, bytes: Uint8Array, range?: string) =>
      api.send(
        HttpClientRequest.patch(api.abs(location)).pipe(
          HttpClientRequest.bodyUint8Array(bytes, "application/octet-stream"),
          range === undefined ? (r) => r : HttpClientRequest.setHeader("content-range", range)
        )
      )
    const first = yield* patch(start.headers["location"], layer.subarray(0, 5), "0-4")
    assert.strictEqual(first.status, 202)
    assert.strictEqual(first.headers["range"], "0-4")
    assert.strictEqual(first.headers["docker-upload-uuid"], uuid)
    assert.notStrictEqual(first.headers["location"], start.headers["location"])
    const outOfOrder = yield* patch(first.headers["location"], layer.subarray(0, 5), "0-4")
    assert.strictEqual(outOfOrder.status, 416)
    assert.strictEqual(outOfOrder.headers["range"], "0-4")
    // the older Location still answers the status request
    const status = yield* api.get(start.headers["location"])
    assert.strictEqual(status.status, 204)
    assert.strictEqual(status.headers["range"], "0-4")
    const second = yield* patch(first.headers["location"], layer.subarray(5))
    assert.strictEqual(second.headers["range"], `0-${layer.length - 1}`)
    const done = yield* api.put(second.headers["location"], layerDigest)
    assert.strictEqual(done.status, 201)
    assert.strictEqual(done.headers["docker-content-digest"], layerDigest)
    assert.strictEqual(done.headers["location"], `${registryUrl}/v2/seq/app/blobs/${layerDigest}`)

    // blob reads
    const blob = yield* api.get(`/v2/seq/app/blobs/${layerDigest}`)
    assert.strictEqual(blob.status, 200)
    assert.strictEqual(decode(blob.bytes), "hello, layer bytes!")
    assert.strictEqual(blob.headers["etag"], `"${layerDigest}"`)
    assert.strictEqual(blob.headers["content-type"], "application/octet-stream")
    const blobHead = yield* api.head(`/v2/seq/app/blobs/${layerDigest}`)
    assert.strictEqual(blobHead.headers["content-length"], String(layer.length))
    assert.strictEqual(blobHead.bytes.length, 0)
    const partial = yield* api.get(`/v2/seq/app/blobs/${layerDigest}`, { range: "bytes=2-5" })
    assert.strictEqual(partial.status, 206)
    assert.strictEqual(partial.headers["content-range"], `bytes 2-5/${layer.length}`)
    assert.strictEqual(decode(partial.bytes), "llo,")
    const badRange = yield* api.get(`/v2/seq/app/blobs/${layerDigest}`, { range: "bytes=500-600" })
    assert.strictEqual(badRange.status, 416)
    const unknown = yield* api.get(`/v2/seq/app/blobs/sha256:${"0".repeat(64)}`)
    assert.strictEqual(unknown.status, 404)
    assert.strictEqual(code(unknown), "BLOB_UNKNOWN")
    assert.strictEqual(code(yield* api.get("/v2/seq/app/blobs/sha256:abc")), "DIGEST_INVALID")

    // manifest with Accept negotiation
    const config = yield* api.pushBlob("seq/app", encode("{}"))
    const manifest = ociManifest(config, [{ digest: layerDigest, size: layer.length }])
    const manifestDigest = yield* sha256(encode(manifest))
    const created = yield* api.putManifest("seq/app", "v1", manifest)
    assert.strictEqual(created.status, 201)
    assert.strictEqual(created.headers["docker-content-digest"], manifestDigest)
    const noAccept = yield* api.get("/v2/seq/app/manifests/v1")
    assert.strictEqual(noAccept.status, 404)
    assert.strictEqual(
      json<ErrorBody>(noAccept).errors[0].message,
      "OCI manifest found, but accept header does not support OCI manifests"
    )
    const fetched = yield* api.get("/v2/seq/app/manifests/v1", { accept: `${SCHEMA2}, ${OCI_MANIFEST};q=0.9` })
    assert.strictEqual(fetched.status, 200)
    assert.strictEqual(fetched.headers["content-type"], OCI_MANIFEST)
    assert.strictEqual(fetched.headers["docker-content-digest"], manifestDigest)
    assert.strictEqual(decode(fetched.bytes), manifest)
    const byDigest = yield* api.head(`/v2/seq/app/manifests/${manifestDigest}`, { accept: OCI_MANIFEST })
    assert.strictEqual(byDigest.status, 200)
    assert.strictEqual(byDigest.headers["content-length"], String(encode(manifest).length))

    // unknown route
    const notFound = yield* api.get("/v2/UPPER/tags/list")
    assert.strictEqual(notFound.status, 404)
    assert.strictEqual(notFound.headers["content-type"], "text/plain; charset=utf-8")
    assert.strictEqual(decode(notFound.bytes).trim(), "404 page not found")

    // tags and delete
    const tags = yield* api.get("/v2/seq/app/tags/list")
    assert.deepStrictEqual(json(tags), { name: "seq/app", tags: ["v1"] })
    assert.strictEqual(code(yield* api.del("/v2/seq/app/manifests/v1")), "DIGEST_INVALID")
    assert.strictEqual((yield* api.del(`/v2/seq/app/manifests/${manifestDigest}`)).status, 202)
    const gone = yield* api.get("/v2/seq/app/manifests/v1", { accept: OCI_MANIFEST })
    assert.strictEqual(code(gone), "MANIFEST_UNKNOWN")
    assert.deepStrictEqual(json<ErrorBody>(gone).errors[0].detail, { Tag: "v1" })
    return { layerDigest, manifestDigest }
  })

describe("InMemoryRegistry", () => {
  it.effect("answers the push / pull sequence in-process", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess()
      const { layerDigest } = yield* pushPullSequence(api, registry.url)
      assert.deepStrictEqual(yield* registry.repositories, ["seq/app"])
      assert.deepStrictEqual(yield* registry.tags("seq/app"), [])
      const stored = yield* registry.blob(layerDigest)
      assert.strictEqual(Option.map(stored, decode).pipe(Option.getOrUndefined), "hello, layer bytes!")
      const log = yield* registry.requests
      assert.isTrue(log.some((r) => r.method === "PATCH" && r.status === 416))
    }))

  it.effect("GET /v2 redirects to /v2/", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess()
      const answer = yield* api.get("/v2")
      assert.strictEqual(answer.status, 301)
      assert.strictEqual(answer.headers["location"], "/v2/")
    }))

  it.effect("monolithic uploads: PUT, single POST, digest mismatch, empty blob", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess({ relativeLocations: true, chunkMinLength: 1024 })
      const bytes = encode("monolithic")
      const digest = yield* sha256(bytes)
      const start = yield* api.send(HttpClientRequest.post(`${registry.url}/v2/m/blobs/uploads/`))
      assert.isTrue(start.headers["location"].startsWith("/v2/m/blobs/uploads/"))
      assert.strictEqual(start.headers["oci-chunk-min-length"], "1024")
      const wrong = yield* api.put(start.headers["location"], `sha256:${"1".repeat(64)}`, bytes)
      assert.strictEqual(wrong.status, 400)
      assert.strictEqual(code(wrong), "DIGEST_INVALID")
      // as distribution answers: the session ended by a failed digest check is BLOB_UPLOAD_INVALID
      assert.strictEqual(code(yield* api.get(start.headers["location"])), "BLOB_UPLOAD_INVALID")
      const missing = yield* api.send(HttpClientRequest.put(api.abs(start.headers["location"])))
      assert.strictEqual(code(missing), "DIGEST_INVALID")

      const single = yield* api.send(
        HttpClientRequest.post(`${registry.url}/v2/m/blobs/uploads/`).pipe(
          HttpClientRequest.setUrlParam("digest", digest),
          HttpClientRequest.bodyStream(Stream.make(bytes.subarray(0, 4), bytes.subarray(4)), {
            contentType: "application/octet-stream",
            contentLength: bytes.length
          })
        )
      )
      assert.strictEqual(single.status, 201)
      assert.strictEqual(single.headers["location"], `/v2/m/blobs/${digest}`)
      const emptyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
      const empty = yield* api.send(HttpClientRequest.post(`${registry.url}/v2/m/blobs/uploads/`))
      assert.strictEqual((yield* api.put(empty.headers["location"], emptyDigest)).status, 201)
      const blobs = yield* registry.blobs
      assert.deepStrictEqual(blobs.map((b) => b.digest).sort(), [digest, emptyDigest].sort())
    }))

  it.effect("cancel and cross-repository mount", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess()
      const start = yield* api.send(HttpClientRequest.post(`${registry.url}/v2/c/blobs/uploads/`))
      assert.strictEqual((yield* api.del(start.headers["location"])).status, 204)
      const after = yield* api.get(start.headers["location"])
      assert.strictEqual(after.status, 404)
      assert.strictEqual(code(after), "BLOB_UPLOAD_UNKNOWN")

      const digest = yield* api.pushBlob("src/repo", encode("shared"))
      const mounted = yield* api.send(
        HttpClientRequest.post(`${registry.url}/v2/dst/repo/blobs/uploads/`).pipe(
          HttpClientRequest.setUrlParams({ mount: digest, from: "src/repo" })
        )
      )
      assert.strictEqual(mounted.status, 201)
      assert.strictEqual(mounted.headers["docker-content-digest"], digest)
      assert.strictEqual((yield* api.head(`/v2/dst/repo/blobs/${digest}`)).status, 200)
      const fallback = yield* api.send(
        HttpClientRequest.post(`${registry.url}/v2/dst/repo/blobs/uploads/`).pipe(
          HttpClientRequest.setUrlParams({ mount: digest, from: "no/such" })
        )
      )
      assert.strictEqual(fallback.status, 202)
      assert.strictEqual((yield* registry.uploads).length, 1)
    }))

  it.effect("manifest PUT checks: blobs, content type, digest reference, size, schema2 as is", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess({ maxManifestSize: 2048 })
      const config = yield* api.pushBlob("p", encode("{}"))
      const missing = `sha256:${"2".repeat(64)}`
      const unknownLayer = yield* api.putManifest("p", "x", ociManifest(config, [{ digest: missing, size: 1 }]))
      assert.strictEqual(unknownLayer.status, 400)
      assert.strictEqual(code(unknownLayer), "MANIFEST_BLOB_UNKNOWN")
      assert.strictEqual(json<ErrorBody>(unknownLayer).errors[0].detail, missing)
      const manifest = ociManifest(config, [])
      assert.strictEqual(code(yield* api.putManifest("p", "x", manifest, SCHEMA2)), "MANIFEST_INVALID")
      assert.strictEqual(code(yield* api.putManifest("p", "x", manifest, "application/json")), "MANIFEST_INVALID")
      assert.strictEqual(code(yield* api.putManifest("p", "x", "{not json")), "MANIFEST_INVALID")
      assert.strictEqual(code(yield* api.putManifest("p", `sha256:${"3".repeat(64)}`, manifest)), "DIGEST_INVALID")
      const large = ociManifest(config, [], { annotations: { big: "x".repeat(4096) } })
      const tooLarge = yield* api.putManifest("p", "x", large)
      assert.strictEqual(code(tooLarge), "MANIFEST_INVALID")
      const digest = yield* sha256(encode(manifest))
      assert.strictEqual((yield* api.putManifest("p", digest, manifest)).status, 201)

      const schema2 = JSON.stringify({
        schemaVersion: 2,
        mediaType: SCHEMA2,
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: config, size: 2 },
        layers: []
      })
      assert.strictEqual((yield* api.putManifest("p", "docker", schema2, SCHEMA2)).status, 201)
      const asIs = yield* api.get("/v2/p/manifests/docker")
      assert.strictEqual(asIs.status, 200)
      assert.strictEqual(asIs.headers["content-type"], SCHEMA2)
      assert.strictEqual(decode(asIs.bytes), schema2)

      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest, size: encode(manifest).length }]
      })
      assert.strictEqual((yield* api.putManifest("p", "idx", index, OCI_INDEX)).status, 201)
      const idx = yield* api.get("/v2/p/manifests/idx", { accept: OCI_MANIFEST })
      assert.strictEqual(
        json<ErrorBody>(idx).errors[0].message,
        "OCI index found, but accept header does not support OCI indexes"
      )
      assert.strictEqual((yield* api.get("/v2/p/manifests/idx", { accept: OCI_INDEX })).status, 200)
      const orphanIndex = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: missing, size: 1 }]
      })
      assert.strictEqual(code(yield* api.putManifest("p", "orphan", orphanIndex, OCI_INDEX)), "MANIFEST_BLOB_UNKNOWN")
    }))

  it.effect("tags list and catalog pagination with Link", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess({ maxPageSize: 3 })
      const config = yield* api.pushBlob("pages/a", encode("{}"))
      for (const tag of ["e", "a", "d", "c", "b"]) {
        assert.strictEqual((yield* api.putManifest("pages/a", tag, ociManifest(config, []))).status, 201)
      }
      const page1 = yield* api.get("/v2/pages/a/tags/list?n=2")
      assert.deepStrictEqual(json(page1), { name: "pages/a", tags: ["a", "b"] })
      assert.strictEqual(page1.headers["link"], `</v2/pages/a/tags/list?last=b&n=2>; rel="next"`)
      const page2 = yield* api.get("/v2/pages/a/tags/list?last=b&n=2")
      assert.deepStrictEqual(json<{ tags: Array<string> }>(page2).tags, ["c", "d"])
      const page3 = yield* api.get("/v2/pages/a/tags/list?last=d&n=2")
      assert.deepStrictEqual(json<{ tags: Array<string> }>(page3).tags, ["e"])
      assert.isUndefined(page3.headers["link"])
      const tooMany = yield* api.get("/v2/pages/a/tags/list?n=4")
      assert.strictEqual(code(tooMany), "PAGINATION_NUMBER_INVALID")
      const unknown = yield* api.get("/v2/no/such/tags/list")
      assert.strictEqual(code(unknown), "NAME_UNKNOWN")
      assert.deepStrictEqual(json<ErrorBody>(unknown).errors[0].detail, { name: "no/such" })

      yield* api.pushBlob("cat/b", encode("x"))
      yield* api.pushBlob("cat/c", encode("y"))
      const cat1 = yield* api.get("/v2/_catalog?n=2")
      assert.deepStrictEqual(json(cat1), { repositories: ["cat/b", "cat/c"] })
      assert.strictEqual(cat1.headers["link"], `</v2/_catalog?last=cat%2Fc&n=2>; rel="next"`)
      const cat2 = yield* api.get(cat1.headers["link"].slice(1, cat1.headers["link"].indexOf(">")))
      assert.deepStrictEqual(json(cat2), { repositories: ["pages/a"] })
      assert.strictEqual(code(yield* api.get("/v2/_catalog?n=1001")), "PAGINATION_NUMBER_INVALID")
      assert.deepStrictEqual(json(yield* api.get("/v2/_catalog?n=0")), { repositories: [] })
    }))

  it.effect("delete rules: blobs, disabled delete, tag delete option", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess({ tagDelete: "allow" })
      const digest = yield* api.pushBlob("d", encode("blob"))
      yield* api.pushBlob("other", encode("blob"))
      assert.strictEqual((yield* api.del(`/v2/d/blobs/${digest}`)).status, 202)
      assert.strictEqual((yield* api.head(`/v2/d/blobs/${digest}`)).status, 404)
      assert.strictEqual((yield* api.head(`/v2/other/blobs/${digest}`)).status, 200)
      const config = yield* api.pushBlob("d", encode("{}"))
      yield* api.putManifest("d", "t", ociManifest(config, []))
      assert.strictEqual((yield* api.del("/v2/d/manifests/t")).status, 202)
      assert.strictEqual((yield* api.head("/v2/d/manifests/t", { accept: OCI_MANIFEST })).status, 404)

      const disabled = yield* inProcess({ deleteEnabled: false })
      const d2 = yield* disabled.api.pushBlob("d", encode("blob"))
      const refused = yield* disabled.api.del(`/v2/d/blobs/${d2}`)
      assert.strictEqual(refused.status, 405)
      assert.strictEqual(code(refused), "UNSUPPORTED")
    }))

  it.effect("referrers API with artifactType filter and OCI-Subject", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess()
      const config = yield* api.pushBlob("r", encode("{}"))
      const subjectBody = ociManifest(config, [])
      const subject = yield* sha256(encode(subjectBody))
      yield* api.putManifest("r", "img", subjectBody)
      const emptyDigest = yield* api.pushBlob("r", encode("{}"))
      const referrer = (artifactType: string) =>
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config: { mediaType: EMPTY, digest: emptyDigest, size: 2 },
          layers: [],
          subject: { mediaType: OCI_MANIFEST, digest: subject, size: encode(subjectBody).length },
          annotations: { kind: artifactType }
        })
      const sig = yield* api.putManifest(
        "r",
        yield* sha256(encode(referrer("application/x-sig"))),
        referrer("application/x-sig")
      )
      assert.strictEqual(sig.status, 201)
      assert.strictEqual(sig.headers["oci-subject"], subject)
      yield* api.putManifest("r", yield* sha256(encode(referrer("application/x-sbom"))), referrer("application/x-sbom"))
      const all = yield* api.get(`/v2/r/referrers/${subject}`)
      assert.strictEqual(all.status, 200)
      assert.strictEqual(all.headers["content-type"], OCI_INDEX)
      const index = json<{ manifests: Array<{ artifactType: string; annotations: Record<string, string> }> }>(all)
      assert.deepStrictEqual(index.manifests.map((m) => m.artifactType).sort(), [
        "application/x-sbom",
        "application/x-sig"
      ])
      const filtered = yield* api.get(`/v2/r/referrers/${subject}?artifactType=application/x-sbom`)
      assert.strictEqual(filtered.headers["oci-filters-applied"], "artifactType")
      const only = json<{ manifests: Array<{ artifactType: string }> }>(filtered).manifests
      assert.deepStrictEqual(only.map((m) => m.artifactType), ["application/x-sbom"])

      const off = yield* inProcess({ referrers: false })
      const plain = yield* off.api.get(`/v2/r/referrers/${subject}`)
      assert.strictEqual(plain.status, 404)
      assert.strictEqual(plain.headers["content-type"], "text/plain; charset=utf-8")
    }))

  it.effect("Basic auth: challenge, wrong and right credentials", () =>
    Effect.gen(function*() {
      const { registry } = yield* inProcess({ auth: InMemoryRegistry.basicAuth({ alice: "secret" }, "test") })
      const api = driver(registry.client, registry.url)
      const anonymous = yield* api.get("/v2/")
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.headers["www-authenticate"], `Basic realm="test"`)
      assert.deepStrictEqual(json<ErrorBody>(anonymous).errors[0], {
        code: "UNAUTHORIZED",
        message: "authentication required",
        detail: null
      })
      const authed = (user: string, password: string) =>
        driver(HttpClient.mapRequest(registry.client, HttpClientRequest.basicAuth(user, password)), registry.url)
      const repo = yield* api.get("/v2/a/tags/list")
      assert.deepStrictEqual(json<ErrorBody>(repo).errors[0].detail, [{
        Type: "repository",
        Class: "",
        Name: "a",
        Action: "pull"
      }])
      assert.strictEqual((yield* authed("alice", "wrong").get("/v2/")).status, 401)
      assert.strictEqual((yield* authed("alice", "secret").get("/v2/")).status, 200)
      const log = yield* registry.requests
      assert.isTrue(
        log.every((r) => r.headers["authorization"] === undefined || r.headers["authorization"] === "Basic <redacted>")
      )
    }))

  it.effect("token auth: challenges, token endpoint, scopes", () =>
    Effect.gen(function*() {
      const { registry } = yield* inProcess({
        auth: InMemoryRegistry.tokenAuth({
          users: { alice: "secret" },
          service: "test-service",
          access: (subject, scope) => subject === undefined ? ["pull"] : scope.actions
        })
      })
      const api = driver(registry.client, registry.url)
      const ping = yield* api.get("/v2/")
      assert.strictEqual(ping.status, 401)
      assert.strictEqual(
        ping.headers["www-authenticate"],
        `Bearer realm="${registry.url}/token",service="test-service"`
      )
      const push = yield* api.send(HttpClientRequest.post(`${registry.url}/v2/alice/app/blobs/uploads/`))
      assert.include(push.headers["www-authenticate"], `scope="repository:alice/app:pull,push"`)
      const mount = yield* api.send(
        HttpClientRequest.post(
          `${registry.url}/v2/alice/app/blobs/uploads/?mount=sha256:${"a".repeat(64)}&from=alice/src`
        )
      )
      assert.include(
        mount.headers["www-authenticate"],
        `scope="repository:alice/app:pull,push repository:alice/src:pull"`
      )
      const catalog = yield* api.get("/v2/_catalog")
      assert.include(catalog.headers["www-authenticate"], `scope="registry:catalog:*"`)

      const token = (auth: boolean, scope: string) =>
        api.send(
          HttpClientRequest.get(`${registry.url}/token`).pipe(
            HttpClientRequest.setUrlParams({ service: "test-service", scope }),
            auth ? HttpClientRequest.basicAuth("alice", "secret") : (r) => r
          )
        ).pipe(Effect.map((answer) => json<{ token: string; access_token: string; expires_in: number }>(answer)))
      const withToken = (t: string) =>
        driver(HttpClient.mapRequest(registry.client, HttpClientRequest.bearerToken(t)), registry.url)

      const full = yield* token(true, "repository:alice/app:pull,push")
      assert.strictEqual(full.token, full.access_token)
      assert.strictEqual(full.expires_in, 300)
      const started = yield* withToken(full.token).send(
        HttpClientRequest.post(`${registry.url}/v2/alice/app/blobs/uploads/`)
      )
      assert.strictEqual(started.status, 202)

      const anonymous = yield* token(false, "repository:alice/app:pull,push")
      const insufficient = yield* withToken(anonymous.token).send(
        HttpClientRequest.post(`${registry.url}/v2/alice/app/blobs/uploads/`)
      )
      assert.strictEqual(insufficient.status, 401)
      assert.include(insufficient.headers["www-authenticate"], `error="insufficient_scope"`)
      assert.strictEqual(code(insufficient), "UNAUTHORIZED")
      assert.strictEqual((yield* withToken(anonymous.token).get("/v2/alice/app/tags/list")).status, 404)
      assert.strictEqual((yield* withToken(anonymous.token).get("/v2/")).status, 200)

      const garbage = yield* withToken("garbage").get("/v2/")
      assert.include(garbage.headers["www-authenticate"], `error="invalid_token"`)
      const badPassword = yield* api.send(
        HttpClientRequest.get(`${registry.url}/token`).pipe(HttpClientRequest.basicAuth("alice", "nope"))
      )
      assert.strictEqual(badPassword.status, 401)

      const oauth = yield* api.send(
        HttpClientRequest.post(`${registry.url}/token`).pipe(
          HttpClientRequest.bodyUrlParams({
            grant_type: "password",
            username: "alice",
            password: "secret",
            service: "test-service",
            scope: "repository:alice/app:pull",
            access_type: "offline"
          })
        )
      )
      const body = json<{ access_token: string; refresh_token: string; scope: string }>(oauth)
      assert.strictEqual(body.scope, "repository:alice/app:pull")
      const refreshed = yield* api.send(
        HttpClientRequest.post(`${registry.url}/token`).pipe(
          HttpClientRequest.bodyUrlParams({
            grant_type: "refresh_token",
            refresh_token: body.refresh_token,
            scope: "repository:alice/app:pull"
          })
        )
      )
      assert.strictEqual(refreshed.status, 200)
      assert.strictEqual((yield* withToken(body.access_token).get("/v2/alice/app/tags/list")).status, 404)
    }))

  it.effect("redirects blob GETs to a second origin that records what it received", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess({ redirectBlobs: true })
      const digest = yield* api.pushBlob("x", encode("redirected bytes"))
      const first = yield* api.get(`/v2/x/blobs/${digest}`, { authorization: "Bearer secret-token" })
      assert.strictEqual(first.status, 307)
      const location = first.headers["location"]
      assert.strictEqual(location, `http://blobs.registry.test/blobs/${digest}`)
      const bytes = yield* api.get(location, { range: "bytes=0-9" })
      assert.strictEqual(bytes.status, 206)
      assert.strictEqual(decode(bytes.bytes), "redirected")
      assert.strictEqual((yield* api.head(`/v2/x/blobs/${digest}`)).status, 200)
      const received = yield* registry.blobOriginRequests
      assert.strictEqual(received.length, 1)
      assert.isUndefined(received[0].headers["authorization"])
      assert.strictEqual(received[0].headers["range"], "bytes=0-9")
    }))

  it.effect("fault rules: status with Retry-After, reset, truncated body", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess({
        faults: [{ method: "GET", path: "/v2/", times: 1, fault: { _tag: "Status", status: 503, retryAfter: 2 } }]
      })
      const unavailable = yield* api.get("/v2/")
      assert.strictEqual(unavailable.status, 503)
      assert.strictEqual(unavailable.headers["retry-after"], "2")
      assert.strictEqual(code(unavailable), "UNAVAILABLE")
      assert.strictEqual((yield* api.get("/v2/")).status, 200)

      yield* registry.addFault({ path: "/v2/", times: 1, fault: { _tag: "Reset" } })
      assertReset(yield* Effect.either(api.get("/v2/")))
      assert.deepStrictEqual(
        (yield* registry.requests).slice(-1).map((r) => [r.method, r.path, r.status]),
        [["GET", "/v2/", undefined]],
        "logged without a status: nothing was answered"
      )

      const digest = yield* api.pushBlob("f", encode("0123456789"))
      yield* registry.addFault({ path: `/blobs/${digest}`, times: 1, fault: { _tag: "Truncate", bytes: 4 } })
      assertTruncated(yield* api.watch(`/v2/f/blobs/${digest}`), "0123456789", 4)
      assert.strictEqual((yield* registry.requests).at(-1)?.status, 200, "logged as the 200 it began as")
      // each rule fired once: the same requests now pass
      assert.strictEqual((yield* api.get("/v2/")).status, 200)
      assert.strictEqual(decode((yield* api.get(`/v2/f/blobs/${digest}`)).bytes), "0123456789")

      // the PATCH takes effect, its answer is lost; the session can be resumed from its status
      const start = yield* api.send(HttpClientRequest.post(`${registry.url}/v2/f/blobs/uploads/`))
      yield* registry.addFault({ method: "PATCH", times: 1, fault: { _tag: "Reset", afterHandling: true } })
      const lost = yield* Effect.either(
        api.send(
          HttpClientRequest.patch(api.abs(start.headers["location"])).pipe(
            HttpClientRequest.bodyUint8Array(encode("abc"))
          )
        )
      )
      assert.isTrue(Either.isLeft(lost))
      const status = yield* api.get(start.headers["location"])
      assert.strictEqual(status.headers["range"], "0-2")
      const log = yield* registry.requests
      assert.isTrue(log.some((r) => r.method === "PATCH" && r.status === undefined))
    }))

  it.live("slow and delayed answers still arrive whole", () =>
    Effect.gen(function*() {
      const { api, registry } = yield* inProcess({
        faults: (request) =>
          request.path.includes("/blobs/sha256:") ? { _tag: "Slow", delay: "2 millis", chunkSize: 3 } : undefined
      })
      const digest = yield* api.pushBlob("s", encode("0123456789"))
      yield* registry.addFault({ method: "GET", path: "/v2/", times: 1, fault: { _tag: "Delay", delay: "5 millis" } })
      assert.strictEqual((yield* api.get("/v2/")).status, 200)
      const slow = yield* api.get(`/v2/s/blobs/${digest}`)
      assert.strictEqual(decode(slow.bytes), "0123456789")
    }))

  it.effect("a Docker manifest list by tag serves linux/amd64 to schema2-only clients", () =>
    Effect.gen(function*() {
      const { api } = yield* inProcess()
      const config = yield* api.pushBlob("l", encode("{}"))
      const image = JSON.stringify({
        schemaVersion: 2,
        mediaType: SCHEMA2,
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: config, size: 2 },
        layers: []
      })
      const imageDigest = yield* sha256(encode(image))
      yield* api.putManifest("l", imageDigest, image, SCHEMA2)
      const LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
      const list = JSON.stringify({
        schemaVersion: 2,
        mediaType: LIST,
        manifests: [{
          mediaType: SCHEMA2,
          digest: imageDigest,
          size: encode(image).length,
          platform: { os: "linux", architecture: "amd64" }
        }]
      })
      assert.strictEqual((yield* api.putManifest("l", "multi", list, LIST)).status, 201)
      const child = yield* api.get("/v2/l/manifests/multi", { accept: SCHEMA2 })
      assert.strictEqual(child.headers["docker-content-digest"], imageDigest)
      const whole = yield* api.get("/v2/l/manifests/multi", { accept: `${SCHEMA2}, ${LIST}` })
      assert.strictEqual(whole.headers["content-type"], LIST)
    }))

  it.scoped("answers the same sequence over a loopback socket", () =>
    Effect.gen(function*() {
      const registry = yield* InMemoryRegistry.serve({ redirectBlobs: true })
      assert.match(registry.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const client = yield* HttpClient.HttpClient
      const api = driver(client, registry.url)
      const { layerDigest } = yield* pushPullSequence(
        { ...api, get: (path, headers = {}) => api.get(path, headers).pipe(Effect.flatMap(followBlob(api, headers))) },
        registry.url
      )
      assert.deepStrictEqual(yield* registry.repositories, ["seq/app"])
      const redirect = yield* api.get(`/v2/seq/app/blobs/${layerDigest}`)
      assert.strictEqual(redirect.status, 307)
      assert.isTrue(redirect.headers["location"].startsWith(registry.blobOrigin ?? "none"))

      yield* registry.addFault({ path: "/v2/", times: 1, fault: { _tag: "Reset" } })
      assertReset(yield* Effect.either(api.get("/v2/")))
      yield* registry.addFault({ path: `/blobs/${layerDigest}`, times: 1, fault: { _tag: "Truncate", bytes: 3 } })
      // undici reports a connection closed this early as a transport error, or hands over the headers and the
      // first bytes and then breaks the body, depending on when it sees the close: never the whole body
      const cut = yield* Effect.either(api.watch(redirect.headers["location"]))
      if (Either.isRight(cut)) assertTruncated(cut.right, "hello, layer bytes!", 3)
      else assertReset(cut)
      const served = (yield* registry.blobOriginRequests).at(-1)
      assert.deepStrictEqual([served?.method, served?.status], ["GET", 200], "the origin began a 200 and cut it")
      assert.strictEqual((yield* api.get("/v2/")).status, 200)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), { timeout: 30_000 })

  it.scoped("over loopback, token challenges name the served origin", () =>
    Effect.gen(function*() {
      const registry = yield* InMemoryRegistry.serve({ auth: InMemoryRegistry.tokenAuth({ users: { bob: "pw" } }) })
      const api = driver(yield* HttpClient.HttpClient, registry.url)
      const challenge = yield* api.get("/v2/bob/app/tags/list")
      assert.strictEqual(
        challenge.headers["www-authenticate"],
        `Bearer realm="${registry.url}/token",service="registry.test",scope="repository:bob/app:pull"`
      )
      const token = yield* api.send(
        HttpClientRequest.get(`${registry.url}/token?service=registry.test&scope=repository:bob/app:pull`).pipe(
          HttpClientRequest.basicAuth("bob", "pw")
        )
      )
      const { token: bearer } = json<{ token: string }>(token)
      const authed = driver(
        HttpClient.mapRequest(yield* HttpClient.HttpClient, HttpClientRequest.bearerToken(bearer)),
        registry.url
      )
      const tags = yield* authed.get("/v2/bob/app/tags/list")
      assert.strictEqual(code(tags), "NAME_UNKNOWN")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), { timeout: 30_000 })
})

/** Follows a blob redirect with a fresh request (no Authorization), like a careful client. */
const followBlob = (api: ReturnType<typeof driver>, headers: Record<string, string>) => (answer: Answer) =>
  answer.status === 307 ? api.get(answer.headers["location"], headers) : Effect.succeed(answer)
