/* eslint-disable @typescript-eslint/no-non-null-assertion -- test fixtures: lookups that must exist */
// A small fake registry as an HttpClient handler, for RegistryClient unit tests.
import { AuthService, RegistryClient } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"

export const Base = "https://registry.test"
export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`
export const asBody = (bytes: Uint8Array): BodyInit => new Uint8Array(bytes) as Uint8Array<ArrayBuffer>
export const text = (s: string): Uint8Array => new TextEncoder().encode(s)

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly bodySize: number
}

export type Hook = (request: Recorded, body: Uint8Array) => Response | "transport" | undefined

interface Upload {
  repo: string
  chunks: Array<Uint8Array>
  state: number
}

export interface FakeOptions {
  /** distribution: a stale `_state` gets 404 BLOB_UPLOAD_INVALID. */
  readonly strictState?: boolean
  readonly relativeLocations?: boolean
  readonly referrersApi?: boolean
  readonly chunkMin?: number
  readonly omitManifestDigest?: boolean
}

export class FakeRegistry {
  readonly blobs = new Map<string, Uint8Array>()
  readonly manifests = new Map<string, { bytes: Uint8Array; mediaType: string; digest: string }>()
  readonly uploads = new Map<string, Upload>()
  readonly requests: Array<Recorded> = []
  hooks: Array<Hook> = []
  private nextId = 0
  constructor(readonly options: FakeOptions = {}) {}

  size(upload: Upload): number {
    return upload.chunks.reduce((n, c) => n + c.length, 0)
  }
  join(upload: Upload): Uint8Array {
    const out = new Uint8Array(this.size(upload))
    let o = 0
    for (const c of upload.chunks) {
      out.set(c, o)
      o += c.length
    }
    return out
  }
  location(id: string, state: number, repo: string): string {
    const path = `/v2/${repo}/blobs/uploads/${id}?_state=${state}`
    return this.options.relativeLocations ? path : `${Base}${path}`
  }
  putBlob(repo: string, bytes: Uint8Array): string {
    const d = sha256(bytes)
    this.blobs.set(`${repo}@${d}`, bytes)
    return d
  }
  putManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string): string {
    const digest = sha256(bytes)
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType, digest })
    if (ref !== digest) this.manifests.set(`${repo}@${ref}`, { bytes, mediaType, digest })
    return digest
  }

  /** Lets the registry process a request (no hooks, not recorded): to lose its answer afterwards. */
  process(recorded: Recorded, body: Uint8Array): Response | "transport" {
    const hooks = this.hooks
    this.hooks = []
    try {
      return this.handle(recorded, body, false)
    } finally {
      this.hooks = hooks
    }
  }

  handle(recorded: Recorded, body: Uint8Array, record = true): Response | "transport" {
    if (record) this.requests.push(recorded)
    for (const hook of this.hooks) {
      const r = hook(recorded, body)
      if (r !== undefined) return r
    }
    const url = new URL(recorded.url)
    const path = url.pathname
    const m = recorded.method
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      new Response(m === "HEAD" ? null : JSON.stringify(value), {
        status,
        headers: { "content-type": "application/json; charset=utf-8", ...headers }
      })
    const err = (status: number, code: string, headers: Record<string, string> = {}) =>
      json(status, { errors: [{ code, message: code.toLowerCase(), detail: null }] }, headers)
    if (path === "/v2/") return json(200, {})
    let match = /^\/v2\/(.+)\/tags\/list$/.exec(path)
    if (match !== null && m === "GET") {
      const repo = match[1]
      const tags = [...this.manifests.keys()].filter((k) => k.startsWith(`${repo}@`) && !k.includes(":"))
        .map((k) => k.slice(repo.length + 1))
      if (tags.length === 0) return err(404, "NAME_UNKNOWN")
      return json(200, { name: repo, tags })
    }
    match = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path)
    if (match !== null) {
      const repo = match[1]
      const id = match[2]
      if (m === "POST") {
        const mount = url.searchParams.get("mount")
        const from = url.searchParams.get("from")
        if (mount !== null && from !== null && this.blobs.has(`${from}@${mount}`)) {
          this.blobs.set(`${repo}@${mount}`, this.blobs.get(`${from}@${mount}`)!)
          return new Response(null, { status: 201, headers: { "docker-content-digest": mount } })
        }
        const newId = `u${this.nextId++}`
        this.uploads.set(newId, { repo, chunks: [], state: 0 })
        const headers: Record<string, string> = { location: this.location(newId, 0, repo), range: "0-0" }
        if (this.options.chunkMin !== undefined) headers["oci-chunk-min-length"] = String(this.options.chunkMin)
        return new Response(null, { status: 202, headers })
      }
      const upload = this.uploads.get(id)
      if (upload === undefined) return err(404, "BLOB_UPLOAD_UNKNOWN")
      const state = Number(url.searchParams.get("_state"))
      if (this.options.strictState && state !== upload.state) {
        this.uploads.delete(id)
        return err(404, "BLOB_UPLOAD_INVALID")
      }
      const range = () => `0-${Math.max(0, this.size(upload) - 1)}`
      if (m === "GET") {
        return new Response(null, {
          status: 204,
          headers: { location: this.location(id, upload.state, repo), range: range() }
        })
      }
      if (m === "DELETE") {
        this.uploads.delete(id)
        return new Response(null, { status: 204 })
      }
      if (m === "PATCH") {
        if (
          recorded.headers["content-type"] !== undefined &&
          recorded.headers["content-type"] !== "application/octet-stream"
        ) {
          return err(500, "UNKNOWN")
        }
        const cr = recorded.headers["content-range"]
        if (cr !== undefined && Number(cr.split("-")[0]) !== this.size(upload)) {
          return err(416, "RANGE_INVALID")
        }
        upload.chunks.push(body)
        upload.state++
        return new Response(null, {
          status: 202,
          headers: { location: this.location(id, upload.state, repo), range: range() }
        })
      }
      if (m === "PUT") {
        upload.chunks.push(body)
        const all = this.join(upload)
        const digest = url.searchParams.get("digest")
        if (digest !== sha256(all)) {
          this.uploads.delete(id)
          return err(400, "DIGEST_INVALID")
        }
        this.uploads.delete(id)
        this.blobs.set(`${repo}@${digest}`, all)
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest } })
      }
    }
    match = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path)
    if (match !== null) {
      const key = `${match[1]}@${match[2]}`
      const blob = this.blobs.get(key)
      if (m === "DELETE") {
        if (blob === undefined) return err(404, "BLOB_UNKNOWN")
        this.blobs.delete(key)
        return new Response(null, { status: 202 })
      }
      if (blob === undefined) return err(404, "BLOB_UNKNOWN")
      const headers = {
        "content-type": "application/octet-stream",
        "docker-content-digest": match[2],
        "content-length": String(blob.length)
      }
      const rh = recorded.headers["range"]
      if (rh !== undefined && m === "GET") {
        const [s, e] = rh.slice(6).split("-")
        const start = Number(s)
        const end = e === "" ? blob.length - 1 : Number(e)
        return new Response(asBody(blob.slice(start, end + 1)), {
          status: 206,
          headers: {
            ...headers,
            "content-length": String(end - start + 1),
            "content-range": `bytes ${start}-${end}/${blob.length}`
          }
        })
      }
      return new Response(m === "HEAD" ? null : asBody(blob), { status: 200, headers })
    }
    match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)
    if (match !== null) {
      const key = `${match[1]}@${match[2]}`
      if (m === "PUT") {
        const mediaType = recorded.headers["content-type"] ?? ""
        const digest = this.putManifest(match[1], match[2], body, mediaType)
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest } })
      }
      const stored = this.manifests.get(key)
      if (m === "DELETE") {
        if (stored === undefined) return err(404, "MANIFEST_UNKNOWN")
        this.manifests.delete(key)
        return new Response(null, { status: 202 })
      }
      if (stored === undefined) return err(404, "MANIFEST_UNKNOWN")
      const headers: Record<string, string> = {
        "content-type": stored.mediaType,
        "content-length": String(stored.bytes.length)
      }
      if (!this.options.omitManifestDigest) headers["docker-content-digest"] = stored.digest
      return new Response(m === "HEAD" ? null : asBody(stored.bytes), { status: 200, headers })
    }
    match = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path)
    if (match !== null && this.options.referrersApi) {
      const repo = match[1]
      const subject = match[2]
      const manifests: Array<unknown> = []
      for (const [k, v] of this.manifests) {
        if (!k.startsWith(`${repo}@sha256:`)) continue
        const doc = JSON.parse(new TextDecoder().decode(v.bytes))
        if (doc.subject?.digest === subject) {
          manifests.push({
            mediaType: v.mediaType,
            digest: v.digest,
            size: v.bytes.length,
            artifactType: doc.artifactType
          })
        }
      }
      return json(200, { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }, {
        "content-type": "application/vnd.oci.image.index.v1+json"
      })
    }
    return new Response("404 page not found\n", {
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8" }
    })
  }

  readonly client: HttpClient.HttpClient = HttpClient.make((request, url) =>
    Effect.gen(this, function*() {
      const body = yield* requestBody(request)
      const headers: Record<string, string> = { ...request.headers }
      const recorded: Recorded = { method: request.method, url: url.toString(), headers, bodySize: body.length }
      const r = this.handle(recorded, body)
      if (r === "transport") {
        return yield* new HttpClientError.RequestError({ request, reason: "Transport", description: "reset" })
      }
      return HttpClientResponse.fromWeb(request, r)
    })
  )
}

const requestBody = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const body = request.body
    if (body._tag === "Uint8Array") return body.body
    if (body._tag === "Stream") {
      const parts = yield* Stream.runCollect(body.stream).pipe(
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause }))
      )
      const all = [...parts]
      const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
      let o = 0
      for (const c of all) {
        out.set(c, o)
        o += c.length
      }
      return out
    }
    return new Uint8Array(0)
  })

/** Adds a bearer token for the registry's origin only (so tests can see where credentials go). */
export const fakeAuth = AuthService.AuthService.of({
  authorize: (request) =>
    Effect.succeed(
      request.url.startsWith(Base) ? HttpClientRequest.setHeader(request, "authorization", "Bearer secret") : request
    ),
  challenge: () => Effect.void
})

export const fastRetry = Schedule.recurs(3)

export const layerFor = (fake: FakeRegistry, options: Partial<RegistryClient.Options> = {}) =>
  RegistryClient.layer({
    url: Base,
    retrySchedule: fastRetry,
    uploadRetrySchedule: fastRetry,
    ...options
  }).pipe(
    Layer.provide([
      Layer.succeed(HttpClient.HttpClient, fake.client),
      Layer.succeed(AuthService.AuthService, fakeAuth),
      PortableHash.layer
    ])
  )

export const clientFor = (fake: FakeRegistry, options: Partial<RegistryClient.Options> = {}) =>
  Effect.provide(RegistryClient.RegistryClient, layerFor(fake, options))
