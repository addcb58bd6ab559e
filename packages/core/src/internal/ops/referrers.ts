/**
 * The OCI 1.1 referrers API and its tag-schema fallback (`<alg>-<hex>` index).
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AuthService from "../../AuthService.js"
import type * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import * as Manifest from "../../Manifest.js"
import * as MediaType from "../../MediaType.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { ManifestError } from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"
import * as LinkHeader from "../http/linkHeader.js"
import * as Pagination from "../http/pagination.js"
import * as ManifestOps from "./manifests.js"
import { validBlob } from "./validate.js"

const scopes = AuthService.scopes
const toReferrersError = ErrorUnion.narrow(RegistryClientError.ReferrersErrorTags)

/**
 * The fallback tag of a subject: `sha256-<hex>`.
 *
 * @since 0.1.0
 */
export const fallbackTag = (subject: Digest.Digest): string => `${Digest.algorithm(subject)}-${Digest.encoded(subject)}`

const decodeIndex = (
  bytes: Uint8Array,
  contentType: string | undefined,
  maxSize: number,
  fields: Request.ErrorFields
): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, RegistryError.UnexpectedResponse> =>
  Manifest.decode(bytes, { contentType: contentType ?? MediaType.OciIndex, maxSize }).pipe(
    Effect.flatMap((m) =>
      m.kind === "index" || m.kind === "list"
        ? Effect.succeed<ReadonlyArray<Descriptor.Descriptor>>(m.manifest.manifests)
        : Effect.fail(new RegistryError.UnexpectedResponse({ ...fields, reason: "Body", detail: "not an image index" }))
    ),
    Effect.catchTag("ManifestInvalid", (e) =>
      Effect.fail(
        new RegistryError.UnexpectedResponse({
          ...fields,
          reason: "Body",
          detail: `the referrers answer is not an OCI index (${e.reason})`
        })
      ))
  )

const matches = (artifactType: string | undefined) => (d: Descriptor.Descriptor): boolean =>
  artifactType === undefined || d.artifactType === artifactType

/**
 * What the referrers API and its fallback index can fail with.
 *
 * @since 0.1.0
 */
export type ReferrersError = ManifestError

/**
 * The referrers of `subject`: the referrers API, or the fallback index when the
 * registry answers 404.
 *
 * @since 0.1.0
 */
export const referrers = (
  env: Request.OpsEnv,
  repository: string,
  subject: Digest.Digest,
  artifactType: string | undefined,
  scopes: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, ReferrersError> => {
  const ctx: Request.ErrorContext = { repository, digest: subject }
  const first = new URL(`${env.baseUrl}/v2/${repository}/referrers/${subject}`)
  if (artifactType !== undefined) first.searchParams.set("artifactType", artifactType)
  const fetchPage = (url: string) =>
    Effect.gen(function*() {
      const response = yield* Request.call(env, {
        request: HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("accept", MediaType.OciIndex)),
        scopes,
        context: ctx,
        ok: [200]
      })
      const fields: Request.ErrorFields = {
        ...ctx,
        request: Request.describeRequest("GET", url),
        status: response.status
      }
      const body = yield* Request.readBody(response, env.maxManifestSize, env.bodyTimeout, ctx)
      if (body.truncated) {
        return yield* new RegistryError.UnexpectedResponse({ ...fields, reason: "TooLarge" })
      }
      const items = yield* decodeIndex(body.bytes, response.headers["content-type"], env.maxManifestSize, fields)
      const applied = (response.headers["oci-filters-applied"] ?? "").split(",").map((s) => s.trim())
      const filtered = applied.includes("artifactType") ? items : items.filter(matches(artifactType))
      // an empty page ends pagination, so keep a marker when filtering emptied a non-empty page
      return {
        items: filtered.length === 0 && items.length > 0 ? [Option.none()] : filtered.map(Option.some),
        next: LinkHeader.nextLink(response.headers["link"], url)
      }
    })
  const api = Pagination.paginate({
    registry: env.registry,
    first: first.toString(),
    fetchPage,
    maxPages: env.maxPages,
    context: ctx
  }).pipe(
    Stream.filterMap((x) => x),
    Stream.runCollect,
    Effect.map((c): ReadonlyArray<Descriptor.Descriptor> => Array.from(c))
  )
  return api.pipe(
    Effect.catchIf(
      (e): e is Request.ResponseFailure => "status" in e && e.status === 404,
      () => fallback(env, repository, subject, scopes).pipe(Effect.map((items) => items.filter(matches(artifactType))))
    )
  )
}

/**
 * The descriptors of the fallback index (empty when there is none).
 *
 * @since 0.1.0
 */
export const fallback = (
  env: Request.OpsEnv,
  repository: string,
  subject: Digest.Digest,
  scopes: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, ReferrersError> =>
  ManifestOps.getManifest(env, repository, { _tag: "Tag", tag: fallbackTag(subject) }, [MediaType.OciIndex], scopes)
    .pipe(
      Effect.map((m): ReadonlyArray<Descriptor.Descriptor> =>
        m.kind === "index" || m.kind === "list" ? m.manifest.manifests : []
      ),
      Effect.catchTag("ManifestUnknown", () => Effect.succeed([]))
    )

/**
 * Adds `descriptor` to the fallback index of `subject` (creating it), unless present.
 *
 * @since 0.1.0
 */
export const addToFallback = (
  env: Request.OpsEnv,
  repository: string,
  subject: Digest.Digest,
  descriptor: Descriptor.Descriptor,
  scopes: ReadonlyArray<string>
): Effect.Effect<void, ReferrersError> =>
  Effect.gen(function*() {
    const tag = fallbackTag(subject)
    const existing = yield* ManifestOps.getManifest(env, repository, { _tag: "Tag", tag }, [MediaType.OciIndex], scopes)
      .pipe(
        Effect.map(Option.some),
        Effect.catchTag("ManifestUnknown", () => Effect.succeed(Option.none()))
      )
    const current = Option.flatMap(existing, (m) => m.kind === "index" ? Option.some(m.manifest) : Option.none())
    const entries: ReadonlyArray<Descriptor.Descriptor> = Option.match(current, {
      onNone: () => [],
      onSome: (m) => m.manifests
    })
    if (entries.some((d) => d.digest === descriptor.digest)) return
    const index = Option.match(current, {
      onNone: () => ({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [descriptor] }),
      onSome: (m) => ({ ...m, manifests: [...m.manifests, descriptor] })
    })
    const bytes = new TextEncoder().encode(JSON.stringify(index))
    const digest = yield* Digest.sha256(bytes)
    yield* ManifestOps.putManifest(
      env,
      repository,
      { _tag: "Tag", tag },
      {
        bytes,
        mediaType: MediaType.OciIndex
      },
      digest,
      scopes
    )
  })

/**
 * The `referrers` operation of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  const referrersOp = Effect.fn("RegistryClient.referrers")(
    function*(repository: string, digest: string, options?: { readonly artifactType?: string | undefined }) {
      yield* Effect.annotateCurrentSpan({ repository, digest })
      const { d, repo } = yield* validBlob(repository, digest)
      return yield* referrers(env, repo, d, options?.artifactType, [scopes.pull(repo)])
    },
    (effect) => Effect.mapError(effect, toReferrersError)
  )
  return { referrers: referrersOp }
}
