import * as Digest from "@effect-registry/core/Digest"
import { RealRegistry } from "@effect-registry/test-infra"
import { InMemoryRegistry } from "@effect-registry/testing"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NodeHttp from "../src/NodeHttp.js"

// The in-memory registry and distribution 2.8.2 (Debian's docker-registry) get the SAME raw
// request sequence through a plain HttpClient; their answers are reduced to what matters
// (status, a few headers, errors[].code, listing bodies) and compared. Every difference must be
// listed in `divergences` below (deliberate behaviour of the in-memory registry, documented in
// its module header), and every listed divergence must be observed: no difference is silent.

const OciManifest = "application/vnd.oci.image.manifest.v1+json"
const OciConfig = "application/vnd.oci.image.config.v1+json"
const OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
const OctetStream = "application/octet-stream"

const encoder = new TextEncoder()

const sha256 = (bytes: Uint8Array): Effect.Effect<string> => Digest.sha256(bytes)

// Deterministic content, so that both registries see (and name) the same digests.
const pattern = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    out[i] = x >>> 16
  }
  return out
}

/** What is compared of one answer. */
interface Observation {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly codes: ReadonlyArray<string>
  readonly body?: unknown
}

// Upload session ids and `_state` values differ between runs: keep the shape of the URL only.
const locationShape = (location: string, base: string): string => {
  const url = new URL(location, base)
  const origin = url.origin === new URL(base).origin ? "<origin>" : url.origin
  const path = url.pathname.replace(/\/blobs\/uploads\/[^/]+$/, "/blobs/uploads/<uuid>")
  const query = [...url.searchParams.keys()].map((k) => `${k}=<${k}>`).join("&")
  return `${location.startsWith("/") ? "" : origin}${path}${query.length > 0 ? `?${query}` : ""}`
}

const compared = [
  "docker-distribution-api-version",
  "docker-content-digest",
  "content-type",
  "content-length",
  "content-range",
  "range",
  "location",
  "docker-upload-uuid",
  "link"
] as const

const observe = (
  http: HttpClient.HttpClient,
  base: string,
  request: HttpClientRequest.HttpClientRequest,
  options: { readonly body?: boolean; readonly length?: boolean } = {}
) =>
  Effect.gen(function*() {
    const response = yield* http.execute(request)
    const text = request.method === "HEAD" ? "" : yield* response.text
    const ok = response.status >= 200 && response.status < 300
    const headers: Record<string, string> = {}
    for (const name of compared) {
      const value = response.headers[name]
      if (value === undefined) continue
      if (name === "location") headers[name] = locationShape(value, base)
      else if (name === "docker-upload-uuid") headers[name] = "<present>"
      // error bodies are free text: their length is not compared
      else if (name === "content-length") {
        if (ok || options.length === true) headers[name] = value
      } else headers[name] = value
    }
    let codes: ReadonlyArray<string> = []
    let json: unknown = undefined
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    // distribution with filesystem storage lists tags in directory order: the order is not compared
    if (typeof json === "object" && json !== null && "tags" in json && Array.isArray(json.tags)) {
      json = { ...json, tags: [...json.tags].sort() }
    }
    if (typeof json === "object" && json !== null && "errors" in json && Array.isArray(json.errors)) {
      codes = json.errors.map((e: unknown) => typeof e === "object" && e !== null && "code" in e ? String(e.code) : "?")
    }
    const observation: Observation = options.body === true || codes.length > 0
      ? { status: response.status, headers, codes, body: json }
      : { status: response.status, headers, codes }
    return { observation, location: response.headers["location"] }
  })

/** The request sequence; returns the observation of every step by name. */
const sequence = (http: HttpClient.HttpClient, base: string) =>
  Effect.gen(function*() {
    const steps: Array<readonly [string, Observation]> = []
    const abs = (location: string | undefined) => new URL(location ?? "/missing", base).toString()
    const step = (
      name: string,
      request: HttpClientRequest.HttpClientRequest,
      options?: { readonly body?: boolean; readonly length?: boolean }
    ) =>
      Effect.map(observe(http, base, request, options), (result) => {
        steps.push([name, result.observation])
        return result
      })
    const repo = "conf/app"
    const octet = (bytes: Uint8Array) => HttpClientRequest.bodyUint8Array(bytes, OctetStream)

    const part1 = pattern(1000, 1)
    const part2 = pattern(777, 2)
    const layer = new Uint8Array([...part1, ...part2])
    const layerDigest = yield* sha256(layer)
    const config = encoder.encode(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layerDigest] } })
    )
    const configDigest = yield* sha256(config)

    yield* step("ping GET /v2/", HttpClientRequest.get(`${base}/v2/`), { body: true })
    yield* step("ping HEAD /v2/", HttpClientRequest.head(`${base}/v2/`))

    // chunked upload of the layer
    const opened = yield* step("upload POST", HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`))
    const first = abs(opened.location)
    const patched = yield* step("upload PATCH 1", HttpClientRequest.patch(first).pipe(octet(part1)))
    yield* step("upload status after PATCH", HttpClientRequest.get(abs(patched.location)))
    yield* step("upload status, stale Location", HttpClientRequest.get(first))
    const patched2 = yield* step("upload PATCH 2", HttpClientRequest.patch(abs(patched.location)).pipe(octet(part2)))
    yield* step(
      "upload PUT ?digest (empty body)",
      HttpClientRequest.put(abs(patched2.location)).pipe(HttpClientRequest.setUrlParam("digest", layerDigest))
    )

    // monolithic upload of the config
    const opened2 = yield* step("upload POST (monolithic)", HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`))
    yield* step(
      "upload PUT ?digest with the body",
      HttpClientRequest.put(abs(opened2.location)).pipe(
        HttpClientRequest.setUrlParam("digest", configDigest),
        octet(config)
      )
    )

    // a wrong digest ends the session
    const opened3 = yield* step(
      "upload POST (wrong digest)",
      HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`)
    )
    const wrongAt = abs(opened3.location)
    yield* step(
      "upload PUT with a wrong digest",
      HttpClientRequest.put(wrongAt).pipe(HttpClientRequest.setUrlParam("digest", configDigest), octet(part2))
    )
    yield* step("upload status after the wrong digest", HttpClientRequest.get(wrongAt))

    // cancel
    const opened4 = yield* step("upload POST (cancel)", HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`))
    yield* step("upload DELETE (cancel)", HttpClientRequest.del(abs(opened4.location)))
    yield* step("upload status after cancel", HttpClientRequest.get(abs(opened4.location)))

    // single-request POST ?digest= with the body
    const single = pattern(64, 3)
    const singleDigest = yield* sha256(single)
    yield* step(
      "upload POST ?digest with the body",
      HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`).pipe(
        HttpClientRequest.setUrlParam("digest", singleDigest),
        octet(single)
      )
    )
    yield* step("blob HEAD after POST ?digest", HttpClientRequest.head(`${base}/v2/${repo}/blobs/${singleDigest}`))

    // PATCH with a Content-Range that does not follow the offset
    const opened5 = yield* step("upload POST (range)", HttpClientRequest.post(`${base}/v2/${repo}/blobs/uploads/`))
    const ranged = yield* step(
      "upload PATCH 0-99",
      HttpClientRequest.patch(abs(opened5.location)).pipe(
        HttpClientRequest.setHeader("content-range", "0-99"),
        octet(pattern(100, 4))
      )
    )
    yield* step(
      "upload PATCH with Content-Range 0-99 again (out of order)",
      HttpClientRequest.patch(abs(ranged.location)).pipe(
        HttpClientRequest.setHeader("content-range", "0-99"),
        octet(pattern(100, 5))
      )
    )

    // blob reads
    yield* step("blob HEAD", HttpClientRequest.head(`${base}/v2/${repo}/blobs/${layerDigest}`))
    yield* step("blob GET", HttpClientRequest.get(`${base}/v2/${repo}/blobs/${layerDigest}`))
    yield* step(
      "blob GET Range bytes=2-5",
      HttpClientRequest.get(`${base}/v2/${repo}/blobs/${layerDigest}`).pipe(
        HttpClientRequest.setHeader("range", "bytes=2-5")
      )
    )
    const unknownBlob = yield* sha256(pattern(10, 9))
    yield* step("blob HEAD unknown", HttpClientRequest.head(`${base}/v2/${repo}/blobs/${unknownBlob}`))
    yield* step("blob GET unknown", HttpClientRequest.get(`${base}/v2/${repo}/blobs/${unknownBlob}`))
    yield* step("blob GET malformed digest", HttpClientRequest.get(`${base}/v2/${repo}/blobs/sha256:abc`))

    // manifests
    const manifest = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OciManifest,
      config: { mediaType: OciConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: OciLayer, digest: layerDigest, size: layer.length }]
    }))
    const manifestDigest = yield* sha256(manifest)
    const putManifest = (reference: string, bytes: Uint8Array) =>
      HttpClientRequest.put(`${base}/v2/${repo}/manifests/${reference}`).pipe(
        HttpClientRequest.bodyUint8Array(bytes, OciManifest)
      )
    const accept = HttpClientRequest.setHeader("accept", OciManifest)
    yield* step("manifest PUT by tag", putManifest("v1", manifest))
    yield* step("manifest PUT by digest", putManifest(manifestDigest, manifest))
    yield* step("manifest PUT second tag", putManifest("v2", manifest))
    yield* step(
      "manifest GET by tag, OCI Accept",
      HttpClientRequest.get(`${base}/v2/${repo}/manifests/v1`).pipe(accept)
    )
    yield* step(
      "manifest HEAD by tag, OCI Accept",
      HttpClientRequest.head(`${base}/v2/${repo}/manifests/v1`).pipe(accept)
    )
    yield* step(
      "manifest GET by digest, OCI Accept",
      HttpClientRequest.get(`${base}/v2/${repo}/manifests/${manifestDigest}`).pipe(accept)
    )
    yield* step(
      "manifest HEAD by digest, OCI Accept",
      HttpClientRequest.head(`${base}/v2/${repo}/manifests/${manifestDigest}`).pipe(accept)
    )
    yield* step("manifest GET by tag, no Accept", HttpClientRequest.get(`${base}/v2/${repo}/manifests/v1`))
    yield* step(
      "manifest GET by digest, no Accept",
      HttpClientRequest.get(`${base}/v2/${repo}/manifests/${manifestDigest}`)
    )
    yield* step("manifest GET unknown tag", HttpClientRequest.get(`${base}/v2/${repo}/manifests/nope`).pipe(accept))
    yield* step(
      "manifest GET in an unknown repo",
      HttpClientRequest.get(`${base}/v2/no/such/manifests/v1`).pipe(accept)
    )
    const missingLayer = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OciManifest,
      config: { mediaType: OciConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: OciLayer, digest: unknownBlob, size: 10 }]
    }))
    yield* step("manifest PUT with a missing layer", putManifest("broken", missingLayer))
    yield* step("manifest PUT invalid JSON", putManifest("junk", encoder.encode("{no")))

    // listings
    yield* step("tags list", HttpClientRequest.get(`${base}/v2/${repo}/tags/list`), { body: true })
    yield* step("tags list n=1", HttpClientRequest.get(`${base}/v2/${repo}/tags/list?n=1`), { body: true })
    yield* step("tags list of an unknown repo", HttpClientRequest.get(`${base}/v2/no/such/tags/list`))
    yield* step("catalog", HttpClientRequest.get(`${base}/v2/_catalog`), { body: true })

    // mounts
    yield* step(
      "mount from a repo that has the blob",
      HttpClientRequest.post(`${base}/v2/conf/other/blobs/uploads/`).pipe(
        HttpClientRequest.setUrlParam("mount", layerDigest),
        HttpClientRequest.setUrlParam("from", repo)
      )
    )
    yield* step(
      "mount from a repo without the blob",
      HttpClientRequest.post(`${base}/v2/conf/third/blobs/uploads/`).pipe(
        HttpClientRequest.setUrlParam("mount", layerDigest),
        HttpClientRequest.setUrlParam("from", "conf/nothing")
      )
    )
    yield* step("blob HEAD in the mount target", HttpClientRequest.head(`${base}/v2/conf/other/blobs/${layerDigest}`))

    // deletes
    yield* step("manifest DELETE by tag", HttpClientRequest.del(`${base}/v2/${repo}/manifests/v1`))
    yield* step("manifest DELETE by digest", HttpClientRequest.del(`${base}/v2/${repo}/manifests/${manifestDigest}`))
    yield* step(
      "manifest DELETE by digest again",
      HttpClientRequest.del(`${base}/v2/${repo}/manifests/${manifestDigest}`)
    )
    yield* step(
      "manifest GET by tag after delete",
      HttpClientRequest.get(`${base}/v2/${repo}/manifests/v2`).pipe(accept)
    )
    yield* step("blob DELETE", HttpClientRequest.del(`${base}/v2/conf/other/blobs/${layerDigest}`))
    yield* step("blob HEAD after DELETE", HttpClientRequest.head(`${base}/v2/conf/other/blobs/${layerDigest}`))
    yield* step("blob HEAD in the other repo", HttpClientRequest.head(`${base}/v2/${repo}/blobs/${layerDigest}`))

    return steps
  })

interface Divergence {
  readonly step: string
  readonly field: string
  readonly real: unknown
  readonly inMemory: unknown
  readonly why: string
}

// Deliberate differences of the in-memory registry (see its module header). Each is asserted.
const stateLocation = "<origin>/v2/conf/app/blobs/uploads/<uuid>?_state=<_state>"
const singleDigest = "sha256:755ae7738761a3ec899434e4918704a545074b8905d9c5e1691241ae9b9bd8f5"
const resumable = "upload sessions stay addressable: an older Location still answers the status (OCI resume)"
const singlePost = "a single POST ?digest= with the body stores the blob (OCI allows it; distribution opens a session)"
const rangeChecked = "Content-Range is checked: 416 RANGE_INVALID when it does not start at the offset"
const tagPages = "tags list honours n/last (distribution ignores them)"
const divergences: ReadonlyArray<Divergence> = [
  { step: "upload status, stale Location", field: "status", real: 404, inMemory: 204, why: resumable },
  { step: "upload status, stale Location", field: "codes", real: "BLOB_UPLOAD_INVALID", inMemory: "", why: resumable },
  {
    step: "upload status, stale Location",
    field: "body",
    real: { errors: [{ code: "BLOB_UPLOAD_INVALID", message: "blob upload invalid" }] },
    inMemory: undefined,
    why: resumable
  },
  {
    step: "upload status, stale Location",
    field: "content-type",
    real: "application/json; charset=utf-8",
    inMemory: undefined,
    why: resumable
  },
  { step: "upload status, stale Location", field: "range", real: undefined, inMemory: "0-999", why: resumable },
  {
    step: "upload status, stale Location",
    field: "location",
    real: undefined,
    inMemory: stateLocation,
    why: resumable
  },
  {
    step: "upload status, stale Location",
    field: "docker-upload-uuid",
    real: undefined,
    inMemory: "<present>",
    why: resumable
  },
  { step: "upload POST ?digest with the body", field: "status", real: 202, inMemory: 201, why: singlePost },
  { step: "upload POST ?digest with the body", field: "range", real: "0-0", inMemory: undefined, why: singlePost },
  {
    step: "upload POST ?digest with the body",
    field: "docker-upload-uuid",
    real: "<present>",
    inMemory: undefined,
    why: singlePost
  },
  {
    step: "upload POST ?digest with the body",
    field: "location",
    real: stateLocation,
    inMemory: `<origin>/v2/conf/app/blobs/${singleDigest}`,
    why: singlePost
  },
  {
    step: "upload POST ?digest with the body",
    field: "docker-content-digest",
    real: undefined,
    inMemory: singleDigest,
    why: singlePost
  },
  { step: "blob HEAD after POST ?digest", field: "status", real: 404, inMemory: 200, why: singlePost },
  {
    step: "blob HEAD after POST ?digest",
    field: "content-type",
    real: "application/json; charset=utf-8",
    inMemory: OctetStream,
    why: singlePost
  },
  { step: "blob HEAD after POST ?digest", field: "content-length", real: undefined, inMemory: "64", why: singlePost },
  {
    step: "blob HEAD after POST ?digest",
    field: "docker-content-digest",
    real: undefined,
    inMemory: singleDigest,
    why: singlePost
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "status",
    real: 202,
    inMemory: 416,
    why: rangeChecked
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "codes",
    real: "",
    inMemory: "RANGE_INVALID",
    why: rangeChecked
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "body",
    real: undefined,
    inMemory: { errors: [{ code: "RANGE_INVALID", message: "invalid content range" }] },
    why: rangeChecked
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "range",
    real: "0-199",
    inMemory: "0-99",
    why: rangeChecked
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "content-length",
    real: "0",
    inMemory: undefined,
    why: rangeChecked
  },
  {
    step: "upload PATCH with Content-Range 0-99 again (out of order)",
    field: "content-type",
    real: undefined,
    inMemory: "application/json; charset=utf-8",
    why: rangeChecked
  },
  {
    step: "tags list n=1",
    field: "body",
    real: { name: "conf/app", tags: ["v1", "v2"] },
    inMemory: { name: "conf/app", tags: ["v1"] },
    why: tagPages
  },
  { step: "tags list n=1", field: "content-length", real: "39", inMemory: "34", why: tagPages },
  {
    step: "tags list n=1",
    field: "link",
    real: undefined,
    inMemory: `</v2/conf/app/tags/list?last=v1&n=1>; rel="next"`,
    why: tagPages
  }
]

const diff = (
  real: ReadonlyArray<readonly [string, Observation]>,
  inMemory: ReadonlyArray<readonly [string, Observation]>
): Array<Omit<Divergence, "why">> => {
  const out: Array<Omit<Divergence, "why">> = []
  const other = new Map(inMemory)
  for (const [step, r] of real) {
    const m = other.get(step)
    if (m === undefined) {
      out.push({ step, field: "step", real: "present", inMemory: undefined })
      continue
    }
    if (r.status !== m.status) out.push({ step, field: "status", real: r.status, inMemory: m.status })
    if (r.codes.join(",") !== m.codes.join(",")) {
      out.push({ step, field: "codes", real: r.codes.join(","), inMemory: m.codes.join(",") })
    }
    for (const name of compared) {
      if (r.headers[name] !== m.headers[name]) {
        out.push({ step, field: name, real: r.headers[name], inMemory: m.headers[name] })
      }
    }
    if (JSON.stringify(r.body) !== JSON.stringify(m.body)) {
      out.push({ step, field: "body", real: r.body, inMemory: m.body })
    }
  }
  return out
}

const run = (base: string) =>
  Effect.flatMap(HttpClient.HttpClient, (http) => sequence(http, base)).pipe(Effect.provide(NodeHttp.layer()))

describe("conformance: in-memory registry vs distribution 2.8.2", () => {
  it.scopedLive(
    "the same request sequence gets the same answers, except the listed divergences",
    () =>
      Effect.gen(function*() {
        const real = yield* RealRegistry.make({ mode: "anonymous" })
        const memory = yield* InMemoryRegistry.serve()
        assert.isTrue(memory.url.startsWith("http://127.0.0.1:"))
        const realSteps = yield* run(real.url)
        const memorySteps = yield* run(memory.url)
        assert.strictEqual(memorySteps.length, realSteps.length)
        const found = diff(realSteps, memorySteps)
        const expected = divergences.map(({ why: _why, ...d }) => d)
        const key = (d: Omit<Divergence, "why">) => JSON.stringify([d.step, d.field, d.real, d.inMemory])
        assert.deepStrictEqual(found.map(key).sort(), expected.map(key).sort())
      }),
    120_000
  )
})
