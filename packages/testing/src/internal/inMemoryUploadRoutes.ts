/**
 * The in-memory registry's upload routes: POST (sessions, monolithic uploads, cross-repository mounts), GET, PATCH,
 * PUT and DELETE of an upload session.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { Blobs } from "./inMemoryBlobRoutes.js"
import { empty, type Env, fail, messages, pull, push, readBody, type Route, unsupported } from "./inMemoryRoute.js"
import {
  base64Encode,
  concatBytes,
  mapDelete,
  mapSet,
  parseDigest,
  randomId,
  repositoryPattern,
  setAdd,
  type State,
  updateRepository
} from "./inMemoryStore.js"
import type { Request } from "./inMemoryTypes.js"

const rangeHeader = (size: number): string => size === 0 ? "0-0" : `0-${size - 1}`

const parseContentRange = (
  header: string | undefined
): { readonly start: number; readonly end: number } | undefined => {
  if (header === undefined) return undefined
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim())
  if (match === null) return { start: -1, end: -1 }
  return { start: Number(match[1]), end: Number(match[2]) }
}

/** @internal */
export const makeUploads = (env: Env, blobs: Blobs) =>
  Effect.gen(function*() {
    const { locationFor, options, state } = env
    const { blobCreated, commitBlob, digestParam, verified } = blobs
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

    return { startUpload, uploadRoute }
  })
