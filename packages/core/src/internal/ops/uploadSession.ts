/**
 * The requests around an upload's bytes: the blob's existence check, opening
 * a session (or a cross-repository mount), cancelling one.
 *
 * @since 0.2.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Digest from "../../Digest.js"
import * as RegistryError from "../../RegistryError.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"

/** @since 0.1.0 */
export const blobUrl = (env: Request.OpsEnv, repository: string, digest: Digest.Digest): string =>
  `${env.baseUrl}/v2/${repository}/blobs/${digest}`

/**
 * HEAD a blob: its size when present, `None` when the registry answers 404.
 *
 * @since 0.1.0
 */
export const headBlob = (
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  scopes: ReadonlyArray<string>
): Effect.Effect<
  Option.Option<HttpClientResponse.HttpClientResponse>,
  Exclude<Request.ResponseFailure, RegistryError.BlobUnknown>
> =>
  Request.call(env, {
    request: HttpClientRequest.head(blobUrl(env, repository, digest)),
    scopes,
    context: { repository, digest },
    ok: [200],
    notFound: (fields) => new RegistryError.BlobUnknown(fields)
  }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("BlobUnknown", () => Effect.succeed(Option.none()))
  )

/**
 * DELETE an upload session, ignoring any failure.
 *
 * @since 0.1.0
 */
export const cancelQuietly = (
  env: Request.OpsEnv,
  location: string,
  scopes: ReadonlyArray<string>,
  ctx: Request.ErrorContext
): Effect.Effect<void> =>
  Effect.ignore(Request.call(env, {
    request: HttpClientRequest.del(location),
    scopes,
    context: ctx,
    ok: [200, 202, 204],
    // a DELETE is idempotent: a lost or refused answer is asked again, so no session the client can
    // still address is left open
    retry: true
  }))

/** @since 0.1.0 */
export interface Session {
  readonly location: string
  readonly minChunk: number
}

/**
 * POST a new upload session (optionally a mount).
 *
 * @since 0.1.0
 */
export const startSession = (
  env: Request.OpsEnv,
  repository: string,
  scopes: ReadonlyArray<string>,
  ctx: Request.ErrorContext,
  mount?: { readonly digest: Digest.Digest; readonly from: string }
): Effect.Effect<
  { readonly mounted: true } | { readonly mounted: false; readonly session: Session },
  Request.ResponseFailure
> =>
  Effect.gen(function*() {
    const url = new URL(`${env.baseUrl}/v2/${repository}/blobs/uploads/`)
    if (mount !== undefined) {
      url.searchParams.set("mount", mount.digest)
      url.searchParams.set("from", mount.from)
    }
    const response = yield* Request.call(env, {
      request: HttpClientRequest.post(url.toString()),
      scopes,
      context: ctx,
      ok: mount !== undefined ? [201, 202] : [202],
      retry: true
    })
    if (response.status === 201) return { mounted: true } as const
    const location = yield* Request.followLocation(env, response.headers["location"], response.request.url, {
      ...ctx,
      request: Request.describeRequest("POST", url.toString()),
      status: response.status
    })
    const minChunk = Option.getOrElse(Range.parseLength(response.headers["oci-chunk-min-length"]), () => 0)
    return { mounted: false, session: { location, minChunk } } as const
  })

/** @since 0.1.0 */
export interface MountResult {
  readonly mounted: boolean
  readonly session: Session | undefined
}

/**
 * Cross-repository mount: 201 → mounted; 202 → the session the registry opened instead.
 *
 * @since 0.1.0
 */
export const mount = (
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  from: string,
  scopes: ReadonlyArray<string>
): Effect.Effect<MountResult, Request.ResponseFailure> =>
  Effect.map(
    startSession(env, repository, scopes, { repository, digest }, { digest, from }),
    (r) => r.mounted ? { mounted: true, session: undefined } : { mounted: false, session: r.session }
  )
