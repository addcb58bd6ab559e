/**
 * The in-memory registry as a pure request handler: `Request -> Effect<Response>` over Refs.
 * Runtime-neutral (web-standard globals only); the HttpClient and the HTTP server adapters
 * both call it.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Auth from "./inMemoryAuth.js"
import type { RawResponse } from "./inMemoryAuth.js"
import { errorResponse, jsonResponse } from "./inMemoryAuth.js"
import * as Manifest from "./inMemoryManifest.js"
import {
  base64Encode,
  computeDigest,
  concatBytes,
  digestShapePattern,
  emptyState,
  type ManifestEntry,
  mapDelete,
  mapSet,
  mediaTypes,
  type ParsedDigest,
  parseDigest,
  randomId,
  repositoryPattern,
  type RepositoryState,
  setAdd,
  setDelete,
  type State,
  tagPattern,
  updateRepository,
  utf8
} from "./inMemoryStore.js"
import {
  type AccessScope,
  ConnectionReset,
  type Fault,
  type FaultRule,
  type LoggedRequest,
  type Options,
  type Request,
  type RequestInfo,
  type Response
} from "./inMemoryTypes.js"

/** @internal */
export interface Handler {
  readonly options: Options
  readonly state: Ref.Ref<State>
  readonly requests: Ref.Ref<Chunk.Chunk<LoggedRequest>>
  readonly blobOriginRequests: Ref.Ref<Chunk.Chunk<LoggedRequest>>
  readonly faults: Ref.Ref<ReadonlyArray<{ readonly rule: FaultRule; readonly used: number }>>
  readonly handle: (request: Request) => Effect.Effect<Response>
}

/** A short-circuit answer from inside a route. */
class Reply extends Data.TaggedError("Reply")<{ readonly response: RawResponse }> {}

/** The request body could not be read: the connection is gone. */
class BodyFailed extends Data.TaggedError("BodyFailed")<{ readonly cause: unknown }> {}

const reply = (response: RawResponse) => Effect.fail(new Reply({ response }))

const fail = (status: number, code: string, message: string, detail?: unknown, headers?: Record<string, string>) =>
  reply(errorResponse(status, code, message, detail, headers))

const notFoundPage: RawResponse = {
  status: 404,
  headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  body: utf8.encode("404 page not found\n")
}

const empty = (status: number, headers: Readonly<Record<string, string>> = {}): RawResponse => ({
  status,
  headers,
  body: undefined
})

const messages = {
  BLOB_UNKNOWN: "blob unknown to registry",
  BLOB_UPLOAD_INVALID: "blob upload invalid",
  BLOB_UPLOAD_UNKNOWN: "blob upload unknown to registry",
  DIGEST_INVALID: "provided digest did not match uploaded content",
  MANIFEST_BLOB_UNKNOWN: "blob unknown to registry",
  MANIFEST_INVALID: "manifest invalid",
  MANIFEST_UNKNOWN: "manifest unknown",
  NAME_INVALID: "invalid repository name",
  NAME_UNKNOWN: "repository name not known to registry",
  PAGINATION_NUMBER_INVALID: "invalid number of results requested",
  RANGE_INVALID: "invalid content range",
  TOOMANYREQUESTS: "too many requests",
  UNAVAILABLE: "service unavailable",
  UNKNOWN: "unknown error",
  UNSUPPORTED: "The operation is unsupported."
} as const

const unsupported = () => fail(405, "UNSUPPORTED", messages.UNSUPPORTED)

const readBody = (request: Request): Effect.Effect<Uint8Array, BodyFailed> =>
  request.body.pipe(
    Stream.runCollect,
    Effect.map((chunks) => concatBytes(Chunk.toReadonlyArray(chunks))),
    Effect.mapError((cause) => new BodyFailed({ cause }))
  )

const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase()
    if (name === "authorization" || name === "proxy-authorization") {
      out[name] = `${value.split(" ")[0]} <redacted>`
    } else if (name === "cookie") {
      out[name] = "<redacted>"
    } else {
      out[name] = value
    }
  }
  return out
}

const matches = (rule: FaultRule, info: RequestInfo): boolean =>
  (rule.method === undefined || rule.method.toUpperCase() === info.method) &&
  (rule.origin === undefined || rule.origin === info.origin) &&
  (rule.path === undefined ||
    (typeof rule.path === "string" ? info.path.includes(rule.path) : rule.path.test(info.path)))

const faultResponse = (fault: Extract<Fault, { readonly _tag: "Status" }>): RawResponse => {
  const code = fault.code ??
    (fault.status === 429 ? "TOOMANYREQUESTS" : fault.status === 503 ? "UNAVAILABLE" : "UNKNOWN")
  const message = fault.message ?? (code in messages ? messages[code as keyof typeof messages] : "injected fault")
  return errorResponse(
    fault.status,
    code,
    message,
    undefined,
    fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) }
  )
}

/** Splits a body into a slow stream, or cuts it and resets the connection. */
const shapeBody = (
  body: Uint8Array,
  fault: Fault | undefined
): Uint8Array | Stream.Stream<Uint8Array, ConnectionReset> => {
  if (fault?._tag === "Slow") {
    const size = Math.max(1, fault.chunkSize ?? 1024)
    const pieces: Array<Uint8Array> = []
    for (let offset = 0; offset < body.length; offset += size) pieces.push(body.subarray(offset, offset + size))
    return Stream.fromIterable(pieces).pipe(Stream.tap(() => Effect.sleep(fault.delay)))
  }
  if (fault?._tag === "Truncate") {
    return Stream.make(body.subarray(0, Math.max(0, Math.min(fault.bytes, body.length)))).pipe(
      Stream.concat(Stream.fail(new ConnectionReset()))
    )
  }
  return body
}

interface Route {
  readonly required: Auth.Required | undefined
  readonly run: Effect.Effect<RawResponse, Reply | BodyFailed>
}

const pull = (name: string): ReadonlyArray<AccessScope> => [{ type: "repository", name, actions: ["pull"] }]
const push = (name: string): ReadonlyArray<AccessScope> => [{ type: "repository", name, actions: ["pull", "push"] }]
const del = (name: string): ReadonlyArray<AccessScope> => [{ type: "repository", name, actions: ["delete"] }]

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

const rangeHeader = (size: number): string => size === 0 ? "0-0" : `0-${size - 1}`

const parseContentRange = (
  header: string | undefined
): { readonly start: number; readonly end: number } | undefined => {
  if (header === undefined) return undefined
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim())
  if (match === null) return { start: -1, end: -1 }
  return { start: Number(match[1]), end: Number(match[2]) }
}

const parsePageSize = (
  url: URL,
  max: number
): Effect.Effect<number | undefined, Reply> => {
  const raw = url.searchParams.get("n")
  if (raw === null || !/^\d+$/.test(raw)) return Effect.succeed(undefined)
  const n = Number(raw)
  if (n > max) return fail(400, "PAGINATION_NUMBER_INVALID", messages.PAGINATION_NUMBER_INVALID, { n })
  return Effect.succeed(n)
}

const paginate = (
  all: ReadonlyArray<string>,
  url: URL,
  n: number | undefined,
  path: string
): { readonly page: ReadonlyArray<string>; readonly link: Record<string, string> } => {
  const last = url.searchParams.get("last")
  const after = last === null || last === "" ? all : all.filter((item) => item > last)
  if (n === undefined) return { page: after, link: {} }
  const page = after.slice(0, n)
  if (n === 0 || page.length < n) return { page, link: {} }
  const next = `${path}?last=${encodeURIComponent(page[page.length - 1])}&n=${n}`
  return { page, link: { link: `<${next}>; rel="next"` } }
}

const acceptedTypes = (headers: Readonly<Record<string, string>>): ReadonlySet<string> =>
  new Set(
    (headers["accept"] ?? "").split(",").map((part) => part.split(";")[0].trim().toLowerCase()).filter((s) =>
      s.length > 0
    )
  )

const parseRange = (
  header: string | undefined,
  size: number
): { readonly start: number; readonly end: number } | "unsatisfiable" | undefined => {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null || (match[1] === "" && match[2] === "")) return undefined
  if (match[1] === "") {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return "unsatisfiable"
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(match[1])
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size || start > end) return "unsatisfiable"
  return { start, end }
}

const serveBytes = (
  method: string,
  bytes: Uint8Array,
  digest: string,
  range: string | undefined
): RawResponse => {
  const base = {
    "accept-ranges": "bytes",
    "cache-control": "max-age=31536000",
    "content-type": "application/octet-stream",
    "docker-content-digest": digest,
    etag: `"${digest}"`
  }
  const parsed = parseRange(range, bytes.length)
  if (parsed === "unsatisfiable") {
    return errorResponse(416, "RANGE_INVALID", messages.RANGE_INVALID, undefined, {
      "content-range": `bytes */${bytes.length}`
    })
  }
  if (parsed === undefined) {
    return {
      status: 200,
      headers: { ...base, "content-length": String(bytes.length) },
      body: method === "HEAD" ? undefined : bytes
    }
  }
  const slice = bytes.subarray(parsed.start, parsed.end + 1)
  return {
    status: 206,
    headers: {
      ...base,
      "content-length": String(slice.length),
      "content-range": `bytes ${parsed.start}-${parsed.end}/${bytes.length}`
    },
    body: method === "HEAD" ? undefined : slice
  }
}

/** @internal */
export const make = (
  options: Options,
  blobOrigin: string | undefined
): Effect.Effect<Handler> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>(emptyState)
    const requests = yield* Ref.make(Chunk.empty<LoggedRequest>())
    const blobOriginRequests = yield* Ref.make(Chunk.empty<LoggedRequest>())
    const faults = yield* Ref.make<ReadonlyArray<{ readonly rule: FaultRule; readonly used: number }>>(
      Array.isArray(options.faults) ? options.faults.map((rule) => ({ rule, used: 0 })) : []
    )
    const faultFunction = typeof options.faults === "function" ? options.faults : undefined
    const authState = yield* Auth.makeState
    const maxPageSize = options.maxPageSize ?? 1000
    const maxManifestSize = options.maxManifestSize ?? 4 * 1024 * 1024
    const referrersOn = options.referrers ?? true
    const deleteEnabled = options.deleteEnabled ?? true

    const pickFault = (info: RequestInfo): Effect.Effect<Fault | undefined> =>
      Ref.modify(faults, (rules) => {
        const index = rules.findIndex(({ rule, used }) => used < (rule.times ?? Infinity) && matches(rule, info))
        if (index < 0) return [faultFunction?.(info), rules]
        const updated = rules.slice()
        updated[index] = { rule: rules[index].rule, used: rules[index].used + 1 }
        return [rules[index].rule.fault, updated]
      })

    // -- origin and Locations ------------------------------------------------

    const originOf = (request: Request): string => {
      const proto = request.headers["x-forwarded-proto"]
      const forwardedHost = request.headers["x-forwarded-host"]
      const host = forwardedHost ?? request.headers["host"] ?? request.url.host
      return `${proto ?? request.url.protocol.replace(/:$/, "")}://${host}`
    }

    const locationFor = (request: Request, path: string): string =>
      options.relativeLocations === true ? path : `${originOf(request)}${path}`

    const uploadPath = (name: string, uuid: string, offset: number, generation: number): string =>
      `/v2/${name}/blobs/uploads/${uuid}?_state=${
        encodeURIComponent(base64Encode(JSON.stringify({ name, uuid, offset, generation })))
      }`

    const uploadHeaders = (request: Request, name: string, uuid: string, size: number, generation: number) => ({
      location: locationFor(request, uploadPath(name, uuid, size, generation)),
      range: rangeHeader(size),
      "docker-upload-uuid": uuid,
      ...(options.chunkMinLength === undefined ? {} : { "oci-chunk-min-length": String(options.chunkMinLength) })
    })

    // -- blobs -----------------------------------------------------------------

    const validBlobDigest = (raw: string): Effect.Effect<ParsedDigest, Reply> => {
      const parsed = parseDigest(raw)
      return parsed === undefined ? fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID, {}) : Effect.succeed(parsed)
    }

    const blobRoute = (request: Request, name: string, raw: string): Route => {
      const method = request.method
      if (method === "GET" || method === "HEAD") {
        return {
          required: pull(name),
          run: Effect.gen(function*() {
            const digest = (yield* validBlobDigest(raw)).digest
            const current = yield* Ref.get(state)
            const bytes = current.repositories.get(name)?.blobs.has(digest) ? current.blobs.get(digest) : undefined
            // HEAD gets the headers of the GET answer (JSON type, length of the error body), no body
            if (bytes === undefined) return yield* fail(404, "BLOB_UNKNOWN", messages.BLOB_UNKNOWN, digest)
            if (method === "GET" && blobOrigin !== undefined) {
              return empty(307, { location: `${blobOrigin}/blobs/${digest}` })
            }
            return serveBytes(method, bytes, digest, request.headers["range"])
          })
        }
      }
      if (method === "DELETE") {
        return {
          required: del(name),
          run: Effect.gen(function*() {
            if (!deleteEnabled) return yield* unsupported()
            const digest = (yield* validBlobDigest(raw)).digest
            const removed = yield* Ref.modify(state, (s): [boolean, State] => {
              const repository = s.repositories.get(name)
              if (repository === undefined || !repository.blobs.has(digest)) return [false, s]
              return [true, updateRepository(s, name, (r) => ({ ...r, blobs: setDelete(r.blobs, digest) }))]
            })
            if (!removed) return yield* fail(404, "BLOB_UNKNOWN", messages.BLOB_UNKNOWN, digest)
            return empty(202)
          })
        }
      }
      return { required: undefined, run: unsupported() }
    }

    /** Stores verified bytes and links them in the repository. */
    const commitBlob = (name: string, digest: string, bytes: Uint8Array, uuid?: string) =>
      Ref.update(state, (s) => {
        const next = updateRepository(
          { ...s, blobs: s.blobs.has(digest) ? s.blobs : mapSet(s.blobs, digest, bytes) },
          name,
          (r) => ({ ...r, blobs: setAdd(r.blobs, digest) })
        )
        return uuid === undefined ? next : { ...next, uploads: mapDelete(next.uploads, uuid) }
      })

    const blobCreated = (request: Request, name: string, digest: string): RawResponse =>
      empty(201, {
        location: locationFor(request, `/v2/${name}/blobs/${digest}`),
        "docker-content-digest": digest
      })

    const digestParam = (url: URL): Effect.Effect<ParsedDigest, Reply> => {
      const raw = url.searchParams.get("digest")
      if (raw === null) return fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID, "digest missing")
      const parsed = parseDigest(raw)
      return parsed === undefined
        ? fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID, "digest parsing failed")
        : Effect.succeed(parsed)
    }

    const verified = (expected: ParsedDigest, bytes: Uint8Array) =>
      computeDigest(expected.algorithm, bytes).pipe(
        Effect.catchTag("DigestFailure", () => fail(500, "UNKNOWN", messages.UNKNOWN)),
        Effect.flatMap((actual) =>
          actual === expected.digest
            ? Effect.void
            : fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID, { Digest: expected.digest, Reason: {} })
        )
      )

    const startUpload = (request: Request, name: string): Route => {
      const mount = request.url.searchParams.get("mount")
      const from = request.url.searchParams.get("from")
      const required = mount !== null && from !== null && repositoryPattern.test(from)
        ? [...push(name), ...pull(from)]
        : push(name)
      return {
        required,
        run: Effect.gen(function*() {
          if (mount !== null && from !== null) {
            const digest = parseDigest(mount)
            const mounted = digest !== undefined && (yield* Ref.modify(state, (s): [boolean, State] => {
              if (!s.repositories.get(from)?.blobs.has(digest.digest)) return [false, s]
              return [true, updateRepository(s, name, (r) => ({ ...r, blobs: setAdd(r.blobs, digest.digest) }))]
            }))
            if (mounted) return blobCreated(request, name, digest.digest)
          }
          if (request.url.searchParams.has("digest")) {
            const digest = yield* digestParam(request.url)
            const bytes = yield* readBody(request)
            yield* verified(digest, bytes)
            yield* commitBlob(name, digest.digest, bytes)
            return blobCreated(request, name, digest.digest)
          }
          const uuid = randomId()
          yield* Ref.update(state, (s) => ({
            ...s,
            uploads: mapSet(s.uploads, uuid, { uuid, repository: name, chunks: [], size: 0, generation: 0 })
          }))
          return empty(202, uploadHeaders(request, name, uuid, 0, 0))
        })
      }
    }

    /** Sessions ended by a failed digest check: distribution answers BLOB_UPLOAD_INVALID for them. */
    const failedUploads = yield* Ref.make<ReadonlySet<string>>(new Set())

    const uploadUnknown = (uuid: string) =>
      Effect.flatMap(
        Ref.get(failedUploads),
        (failed) =>
          failed.has(uuid)
            ? fail(404, "BLOB_UPLOAD_INVALID", messages.BLOB_UPLOAD_INVALID)
            : fail(404, "BLOB_UPLOAD_UNKNOWN", messages.BLOB_UPLOAD_UNKNOWN, {})
      )

    /** Appends a chunk after checking its Content-Range against the session's offset. */
    const append = (request: Request, name: string, uuid: string, bytes: Uint8Array) =>
      Effect.gen(function*() {
        const range = parseContentRange(request.headers["content-range"])
        type Outcome =
          | { readonly _tag: "Unknown" }
          | { readonly _tag: "OutOfOrder" | "Ok"; readonly size: number; readonly generation: number }
        const result = yield* Ref.modify(state, (s): [Outcome, State] => {
          const upload = s.uploads.get(uuid)
          if (upload === undefined || upload.repository !== name) return [{ _tag: "Unknown" }, s]
          if (
            range !== undefined && bytes.length > 0 &&
            (range.start !== upload.size || range.end - range.start + 1 !== bytes.length)
          ) {
            return [{ _tag: "OutOfOrder", size: upload.size, generation: upload.generation }, s]
          }
          if (bytes.length === 0) return [{ _tag: "Ok", size: upload.size, generation: upload.generation }, s]
          const updated = {
            ...upload,
            chunks: [...upload.chunks, bytes],
            size: upload.size + bytes.length,
            generation: upload.generation + 1
          }
          return [
            { _tag: "Ok", size: updated.size, generation: updated.generation },
            { ...s, uploads: mapSet(s.uploads, uuid, updated) }
          ]
        })
        if (result._tag === "Unknown") return yield* uploadUnknown(uuid)
        if (result._tag === "OutOfOrder") {
          return yield* fail(
            416,
            "RANGE_INVALID",
            messages.RANGE_INVALID,
            undefined,
            uploadHeaders(request, name, uuid, result.size, result.generation)
          )
        }
        return result
      })

    const uploadRoute = (request: Request, name: string, uuid: string): Route => {
      const method = request.method
      const required = push(name)
      if (method === "GET") {
        return {
          required,
          run: Effect.gen(function*() {
            const upload = (yield* Ref.get(state)).uploads.get(uuid)
            if (upload === undefined || upload.repository !== name) return yield* uploadUnknown(uuid)
            return empty(204, uploadHeaders(request, name, uuid, upload.size, upload.generation))
          })
        }
      }
      if (method === "PATCH") {
        return {
          required,
          run: Effect.gen(function*() {
            const bytes = yield* readBody(request)
            const result = yield* append(request, name, uuid, bytes)
            return empty(202, uploadHeaders(request, name, uuid, result.size, result.generation))
          })
        }
      }
      if (method === "PUT") {
        return {
          required,
          run: Effect.gen(function*() {
            const digest = yield* digestParam(request.url)
            const bytes = yield* readBody(request)
            yield* append(request, name, uuid, bytes)
            const upload = (yield* Ref.get(state)).uploads.get(uuid)
            if (upload === undefined) return yield* uploadUnknown(uuid)
            const content = concatBytes(upload.chunks)
            yield* verified(digest, content).pipe(
              Effect.tapError(() =>
                Effect.zipRight(
                  Ref.update(state, (s) => ({ ...s, uploads: mapDelete(s.uploads, uuid) })),
                  Ref.update(failedUploads, (failed) => new Set([...failed, uuid]))
                )
              )
            )
            yield* commitBlob(name, digest.digest, content, uuid)
            return blobCreated(request, name, digest.digest)
          })
        }
      }
      if (method === "DELETE") {
        return {
          required,
          run: Effect.gen(function*() {
            const existed = yield* Ref.modify(state, (s): [boolean, State] => {
              const upload = s.uploads.get(uuid)
              if (upload === undefined || upload.repository !== name) return [false, s]
              return [true, { ...s, uploads: mapDelete(s.uploads, uuid) }]
            })
            return existed ? empty(204, { "docker-upload-uuid": uuid }) : yield* uploadUnknown(uuid)
          })
        }
      }
      return { required: undefined, run: unsupported() }
    }

    // -- manifests ---------------------------------------------------------------

    const resolve = (repository: RepositoryState | undefined, reference: string): ManifestEntry | undefined => {
      if (repository === undefined) return undefined
      const digest = Manifest.isDigestReference(reference) ? reference : repository.tags.get(reference)
      return digest === undefined ? undefined : repository.manifests.get(digest)
    }

    const manifestUnknown = (name: string, reference: string) =>
      fail(
        404,
        "MANIFEST_UNKNOWN",
        messages.MANIFEST_UNKNOWN,
        Manifest.isDigestReference(reference) ? { Name: name, Revision: reference } : { Tag: reference }
      )

    const getManifest = (request: Request, name: string, reference: string) =>
      Effect.gen(function*() {
        const repository = (yield* Ref.get(state)).repositories.get(name)
        let entry = resolve(repository, reference)
        if (entry === undefined) return yield* manifestUnknown(name, reference)
        const accept = acceptedTypes(request.headers)
        if (entry.mediaType === mediaTypes.ociManifest && !accept.has(mediaTypes.ociManifest)) {
          return yield* fail(
            404,
            "MANIFEST_UNKNOWN",
            "OCI manifest found, but accept header does not support OCI manifests"
          )
        }
        if (entry.mediaType === mediaTypes.ociIndex && !accept.has(mediaTypes.ociIndex)) {
          return yield* fail(404, "MANIFEST_UNKNOWN", "OCI index found, but accept header does not support OCI indexes")
        }
        if (
          entry.mediaType === mediaTypes.list && !Manifest.isDigestReference(reference) &&
          !accept.has(mediaTypes.list) && accept.has(mediaTypes.schema2)
        ) {
          // distribution serves the linux/amd64 image to clients that only know schema2
          const child = entry.children.find((c) => c.os === "linux" && c.architecture === "amd64")
          const resolved = child === undefined ? undefined : repository?.manifests.get(child.digest)
          if (resolved !== undefined) entry = resolved
        }
        return {
          status: 200,
          headers: {
            "content-type": entry.mediaType,
            "content-length": String(entry.bytes.length),
            "docker-content-digest": entry.digest,
            etag: `"${entry.digest}"`
          },
          body: request.method === "HEAD" ? undefined : entry.bytes
        }
      })

    const putManifest = (request: Request, name: string, reference: string) =>
      Effect.gen(function*() {
        const isDigest = Manifest.isDigestReference(reference)
        const digestRef = isDigest ? parseDigest(reference) : undefined
        if (isDigest && digestRef === undefined) {
          return yield* fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID)
        }
        const bytes = yield* readBody(request)
        if (bytes.length > maxManifestSize) {
          return yield* fail(400, "MANIFEST_INVALID", messages.MANIFEST_INVALID, "http: request body too large")
        }
        const checked = yield* Manifest.check({
          bytes,
          contentType: request.headers["content-type"],
          digestRef,
          schema1: options.schema1 ?? true
        }).pipe(
          Effect.catchAll((e) =>
            e._tag === "Invalid"
              ? fail(400, "MANIFEST_INVALID", messages.MANIFEST_INVALID, e.detail)
              : e._tag === "DigestMismatch"
              ? fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID)
              : fail(500, "UNKNOWN", messages.UNKNOWN)
          )
        )
        const entry = checked.entry
        const missing = yield* Ref.modify(state, (s): [string | undefined, State] => {
          const repository = s.repositories.get(name)
          const missingBlob = checked.blobs.find((d) => !repository?.blobs.has(d))
          const missingManifest = checked.manifests.find((d) => !repository?.manifests.has(d))
          const absent = missingBlob ?? missingManifest
          if (absent !== undefined) return [absent, s]
          const next = updateRepository(
            { ...s, blobs: s.blobs.has(entry.digest) ? s.blobs : mapSet(s.blobs, entry.digest, entry.bytes) },
            name,
            (r) => ({
              manifests: mapSet(r.manifests, entry.digest, entry),
              tags: isDigest ? r.tags : mapSet(r.tags, reference, entry.digest),
              blobs: setAdd(r.blobs, entry.digest)
            })
          )
          return [undefined, next]
        })
        if (missing !== undefined) {
          return yield* fail(400, "MANIFEST_BLOB_UNKNOWN", messages.MANIFEST_BLOB_UNKNOWN, missing)
        }
        return empty(201, {
          location: locationFor(request, `/v2/${name}/manifests/${entry.digest}`),
          "docker-content-digest": entry.digest,
          ...(entry.subject !== undefined && referrersOn ? { "oci-subject": entry.subject } : {})
        })
      })

    const deleteManifest = (name: string, reference: string) =>
      Effect.gen(function*() {
        if (!deleteEnabled) return yield* unsupported()
        if (!Manifest.isDigestReference(reference)) {
          const mode = options.tagDelete ?? "reject"
          if (mode === "reject") return yield* fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID)
          if (mode === "unsupported") return yield* unsupported()
          const removed = yield* Ref.modify(state, (s): [boolean, State] => {
            const repository = s.repositories.get(name)
            if (repository === undefined || !repository.tags.has(reference)) return [false, s]
            return [true, updateRepository(s, name, (r) => ({ ...r, tags: mapDelete(r.tags, reference) }))]
          })
          return removed ? empty(202) : yield* manifestUnknown(name, reference)
        }
        if (parseDigest(reference) === undefined) return yield* fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID)
        const removed = yield* Ref.modify(state, (s): [boolean, State] => {
          const repository = s.repositories.get(name)
          if (repository === undefined || !repository.manifests.has(reference)) return [false, s]
          return [
            true,
            updateRepository(s, name, (r) => ({
              ...r,
              manifests: mapDelete(r.manifests, reference),
              tags: new Map([...r.tags].filter(([, digest]) => digest !== reference))
            }))
          ]
        })
        return removed ? empty(202) : yield* fail(404, "MANIFEST_UNKNOWN", messages.MANIFEST_UNKNOWN)
      })

    const manifestRoute = (request: Request, name: string, reference: string): Route => {
      switch (request.method) {
        case "GET":
        case "HEAD":
          return { required: pull(name), run: getManifest(request, name, reference) }
        case "PUT":
          return { required: push(name), run: putManifest(request, name, reference) }
        case "DELETE":
          return { required: del(name), run: deleteManifest(name, reference) }
        default:
          return { required: undefined, run: unsupported() }
      }
    }

    // -- listings ----------------------------------------------------------------

    const catalogRoute = (request: Request): Route => ({
      required: [{ type: "registry", name: "catalog", actions: ["*"] }],
      run: Effect.gen(function*() {
        if (request.method !== "GET") return yield* unsupported()
        const n = yield* parsePageSize(request.url, maxPageSize)
        const names = [...(yield* Ref.get(state)).repositories.keys()].sort()
        const { link, page } = paginate(names, request.url, n, "/v2/_catalog")
        return jsonResponse(200, { repositories: page }, link)
      })
    })

    const tagsRoute = (request: Request, name: string): Route => ({
      required: pull(name),
      run: Effect.gen(function*() {
        if (request.method !== "GET") return yield* unsupported()
        const repository = (yield* Ref.get(state)).repositories.get(name)
        if (repository === undefined) {
          return yield* fail(404, "NAME_UNKNOWN", messages.NAME_UNKNOWN, { name })
        }
        const n = yield* parsePageSize(request.url, maxPageSize)
        const tags = [...repository.tags.keys()].sort()
        const { link, page } = paginate(tags, request.url, n, `/v2/${name}/tags/list`)
        return jsonResponse(200, { name, tags: page }, link)
      })
    })

    const referrersRoute = (request: Request, name: string, raw: string): Route => ({
      required: pull(name),
      run: Effect.gen(function*() {
        if (request.method !== "GET") return yield* unsupported()
        const digest = parseDigest(raw)
        if (digest === undefined) return yield* fail(400, "DIGEST_INVALID", messages.DIGEST_INVALID, {})
        const repository = (yield* Ref.get(state)).repositories.get(name)
        const filter = request.url.searchParams.get("artifactType")
        const referrers = [...(repository?.manifests.values() ?? [])]
          .filter((m) => m.subject === digest.digest)
          .filter((m) => filter === null || m.artifactType === filter)
          .sort((a, b) => a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)
          .map((m) => ({
            mediaType: m.mediaType,
            digest: m.digest,
            size: m.bytes.length,
            ...(m.artifactType === undefined ? {} : { artifactType: m.artifactType }),
            ...(m.annotations === undefined ? {} : { annotations: m.annotations })
          }))
        return jsonResponse(
          200,
          { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: referrers },
          filter === null ? {} : { "oci-filters-applied": "artifactType" },
          mediaTypes.ociIndex
        )
      })
    })

    // -- routing -----------------------------------------------------------------

    const routePattern =
      /^\/v2\/(.+?)\/(?:(tags\/list)|manifests\/([^/]+)|blobs\/uploads\/([^/]*)|blobs\/([^/]+)|referrers\/([^/]+))$/

    const route = (request: Request): Route | RawResponse => {
      const path = request.url.pathname
      if (path === "/v2") return empty(301, { location: "/v2/" })
      if (path === "/v2/") {
        if (request.method !== "GET" && request.method !== "HEAD") return { required: undefined, run: unsupported() }
        // distribution writes the ping's `{}` without a newline
        return {
          required: "any",
          run: Effect.succeed({ ...jsonResponse(200, {}), body: utf8.encode("{}") })
        }
      }
      if (path === "/v2/_catalog") return catalogRoute(request)
      const match = routePattern.exec(path)
      if (match === null) return notFoundPage
      const name = match[1]
      if (!repositoryPattern.test(name)) return notFoundPage
      if (name.length > 255) {
        return { required: undefined, run: fail(400, "NAME_INVALID", messages.NAME_INVALID, { Name: name }) }
      }
      if (match[2] !== undefined) return tagsRoute(request, name)
      if (match[3] !== undefined) {
        const reference = decode(match[3])
        if (reference === undefined) return notFoundPage
        if (!tagPattern.test(reference) && !digestShapePattern.test(reference)) return notFoundPage
        return manifestRoute(request, name, reference)
      }
      if (match[4] !== undefined) {
        if (match[4] === "") {
          return request.method === "POST" ? startUpload(request, name) : { required: undefined, run: unsupported() }
        }
        return uploadRoute(request, name, match[4])
      }
      if (match[5] !== undefined) {
        const digest = decode(match[5])
        if (digest === undefined || !digestShapePattern.test(digest)) return notFoundPage
        return blobRoute(request, name, digest)
      }
      if (!referrersOn) return notFoundPage
      const digest = decode(match[6])
      if (digest === undefined || !digestShapePattern.test(digest)) return notFoundPage
      return referrersRoute(request, name, digest)
    }

    const registryAnswer = (request: Request): Effect.Effect<RawResponse, BodyFailed> =>
      Effect.gen(function*() {
        const auth = options.auth
        if (auth?._tag === "Token" && request.url.pathname === Auth.tokenPath(auth)) {
          const body = request.method === "POST" ? yield* readBody(request) : new Uint8Array(0)
          return yield* Auth.tokenEndpoint(auth, authState, request.method, request.url, request.headers, body)
        }
        const routed = route(request)
        if (!("run" in routed)) return routed
        if (auth !== undefined && routed.required !== undefined) {
          const denied = yield* Auth.check(auth, authState, request.headers, originOf(request), routed.required)
          if (denied !== undefined) return denied
        }
        return yield* routed.run.pipe(Effect.catchTag("Reply", (e) => Effect.succeed(e.response)))
      })

    const blobOriginAnswer = (request: Request): Effect.Effect<RawResponse> =>
      Effect.gen(function*() {
        const match = /^\/blobs\/([^/]+)$/.exec(request.url.pathname)
        const digest = match === null ? undefined : decode(match[1])
        const bytes = digest === undefined ? undefined : (yield* Ref.get(state)).blobs.get(digest)
        if (digest === undefined || bytes === undefined || (request.method !== "GET" && request.method !== "HEAD")) {
          return notFoundPage
        }
        const served = serveBytes(request.method, bytes, digest, request.headers["range"])
        // a storage backend, not the registry: no distribution headers
        const { "docker-content-digest": _digest, ...headers } = served.headers
        return { ...served, headers }
      })

    const finish = (request: Request, raw: RawResponse): RawResponse => {
      const headers: Record<string, string> = { ...raw.headers }
      // a 204 has no Content-Length (as distribution answers); every other answer has one
      if (raw.status === 204) delete headers["content-length"]
      else if (headers["content-length"] === undefined) headers["content-length"] = String(raw.body?.length ?? 0)
      return {
        status: raw.status,
        headers,
        body: request.method === "HEAD" || raw.status === 204 || raw.status === 304 ? undefined : raw.body
      }
    }

    const handle = (request: Request): Effect.Effect<Response> =>
      Effect.gen(function*() {
        const isBlobOrigin = blobOrigin !== undefined && request.url.origin === new URL(blobOrigin).origin
        const info: RequestInfo = {
          origin: isBlobOrigin ? "blobs" : "registry",
          method: request.method.toUpperCase(),
          path: request.url.pathname,
          url: request.url.pathname + request.url.search,
          headers: redactHeaders(request.headers)
        }
        const log = (status: number | undefined) =>
          Ref.update(isBlobOrigin ? blobOriginRequests : requests, Chunk.append({ ...info, status }))
        const fault = yield* pickFault(info)
        if (fault?._tag === "Reset" && fault.afterHandling !== true) {
          yield* log(undefined)
          return { _tag: "Reset" } as const
        }
        if (fault?._tag === "Status") {
          yield* log(fault.status)
          const response = finish(request, faultResponse(fault))
          return { _tag: "Response", ...response } as const
        }
        if (fault?._tag === "Delay") yield* Effect.sleep(fault.delay)
        const normalized: Request = { ...request, method: info.method }
        const answer = isBlobOrigin
          ? yield* blobOriginAnswer(normalized)
          : yield* registryAnswer(normalized).pipe(
            Effect.catchTag("BodyFailed", () => Effect.succeed(undefined))
          )
        if (answer === undefined || fault?._tag === "Reset") {
          yield* log(undefined)
          return { _tag: "Reset" } as const
        }
        const response = finish(normalized, answer)
        yield* log(response.status)
        const withVersion = isBlobOrigin
          ? response.headers
          : { ...response.headers, "docker-distribution-api-version": "registry/2.0" }
        return {
          _tag: "Response",
          status: response.status,
          headers: withVersion,
          body: response.body === undefined ? undefined : shapeBody(response.body, fault)
        } as const
      })

    return { options, state, requests, blobOriginRequests, faults, handle }
  })
