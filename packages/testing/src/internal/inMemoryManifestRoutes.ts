/**
 * The in-memory registry's manifest routes: GET and HEAD (with content negotiation), PUT and DELETE.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Manifest from "./inMemoryManifest.js"
import { del, empty, type Env, fail, messages, pull, push, readBody, type Route, unsupported } from "./inMemoryRoute.js"
import {
  type ManifestEntry,
  mapDelete,
  mapSet,
  mediaTypes,
  parseDigest,
  type RepositoryState,
  setAdd,
  type State,
  updateRepository
} from "./inMemoryStore.js"
import type { Request } from "./inMemoryTypes.js"

const acceptedTypes = (headers: Readonly<Record<string, string>>): ReadonlySet<string> =>
  new Set(
    (headers["accept"] ?? "").split(",").map((part) => part.split(";")[0].trim().toLowerCase()).filter((s) =>
      s.length > 0
    )
  )

/** @internal */
export const makeManifests = (env: Env) => {
  const { deleteEnabled, locationFor, maxManifestSize, options, referrersOn, state } = env
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

  return { manifestRoute }
}
