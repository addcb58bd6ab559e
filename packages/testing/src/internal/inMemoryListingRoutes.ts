/**
 * The in-memory registry's listings: the catalog, tag lists and referrers, with distribution's pagination.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { jsonResponse } from "./inMemoryAuth.js"
import { type Env, fail, messages, pull, Reply, type Route, unsupported } from "./inMemoryRoute.js"
import { mediaTypes, parseDigest } from "./inMemoryStore.js"
import type { Request } from "./inMemoryTypes.js"

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

/** @internal */
export const makeListings = (env: Env) => {
  const { maxPageSize, state } = env
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

  return { catalogRoute, referrersRoute, tagsRoute }
}
