/**
 * The in-memory registry's blob routes (GET, HEAD with ranges, DELETE) and the blob helpers uploads share.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { errorResponse, type RawResponse } from "./inMemoryAuth.js"
import { del, empty, type Env, fail, messages, pull, Reply, type Route, unsupported } from "./inMemoryRoute.js"
import {
  computeDigest,
  mapDelete,
  mapSet,
  type ParsedDigest,
  parseDigest,
  setAdd,
  setDelete,
  type State,
  updateRepository
} from "./inMemoryStore.js"
import type { Request } from "./inMemoryTypes.js"

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

/** @internal */
export const serveBytes = (
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
export const makeBlobs = (env: Env) => {
  const { blobOrigin, deleteEnabled, locationFor, state } = env
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

  return { blobCreated, blobRoute, commitBlob, digestParam, verified }
}

/** The blob helpers uploads share. @internal */
export type Blobs = ReturnType<typeof makeBlobs>
