/**
 * An in-memory container registry that speaks the distribution API (OCI 1.1 edition), for
 * tests: as an `HttpClient` layer that answers in-process, or served over a loopback port.
 *
 * What it does, and where it differs from distribution 2.8 (see `protocol-notes.md`):
 * - OCI manifests and indexes are served only to clients that accept their media type
 *   (404 `MANIFEST_UNKNOWN` with distribution's message otherwise). A stored Docker schema2
 *   manifest is returned as is whatever the `Accept` (no conversion to schema1); a Docker
 *   manifest list fetched by tag by a client that accepts schema2 but not lists gets the
 *   linux/amd64 image, as distribution does.
 * - Upload sessions stay addressable: every PATCH returns a new `Location` (its `_state`
 *   changes), but older Locations of the same session keep working, so a client can ask for
 *   the status (`GET` → 204 + `Range`) and resume. `Content-Range` is checked (416
 *   `RANGE_INVALID` when out of order). A single `POST ?digest=` with the body is accepted
 *   (201), as OCI allows. A failed digest check ends the session (later requests to it answer
 *   404 `BLOB_UPLOAD_INVALID`, as distribution does).
 * - Tags list and catalog honour `n`/`last`; a `Link` is sent whenever a page is full (as
 *   distribution's catalog does), so the last link may lead to an empty page.
 * - The referrers API is on by default; a manifest PUT with a `subject` answers `OCI-Subject`.
 * - Schema1: signed manifests are accepted (digest of the signed payload) but signatures are
 *   not verified; unsigned ones are `MANIFEST_INVALID`. Bad `schemaVersion`s and repository
 *   names over 255 characters answer 400 (`MANIFEST_INVALID`, `NAME_INVALID`) rather than 500.
 * - A tags list of a repository that exists (blobs or manifests) but has no tags is `[]`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Client from "./internal/inMemoryClient.js"
import * as Handler from "./internal/inMemoryHandler.js"
import * as Server from "./internal/inMemoryServer.js"
import type * as Types from "./internal/inMemoryTypes.js"

/**
 * A scope of access: `{ type: "repository", name: "alice/app", actions: ["pull", "push"] }`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccessScope extends Types.AccessScope {}

/**
 * Basic authentication: every request must carry the credentials of one of `users`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BasicAuth extends Types.BasicAuth {}

/**
 * Bearer-token authentication with an in-process token endpoint on the same origin
 * (`path`, default `/token`; service default `registry.test`; tokens expire after `expiresIn`
 * seconds, default 300, measured with the `Clock`). The endpoint takes `GET ?service=&scope=`
 * with optional Basic credentials (`offline_token=true` adds a `refresh_token`) and the
 * OAuth2 `POST` form (`grant_type=password` or `refresh_token`). `access` decides which of
 * the requested actions a subject (`undefined` = anonymous) gets; by default users get all
 * they ask for and anonymous callers nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenAuth extends Types.TokenAuth {}

/**
 * A fault injected into a request:
 * - `Status`: answer `status` (with a distribution error body, `Retry-After` when given) without handling;
 * - `Reset`: drop the connection (a transport failure); with `afterHandling`, the request takes effect first
 *   and the answer is lost;
 * - `Delay`: wait before answering;
 * - `Slow`: send the body in `chunkSize` pieces (default 1024) with `delay` before each;
 * - `Truncate`: send the first `bytes` bytes of the body, then reset the connection.
 *
 * Delays use the `Clock` of the caller (the TestClock under `it.effect`).
 *
 * @since 0.1.0
 * @category models
 */
export type Fault = Types.Fault

/**
 * What a fault rule or the request log sees of a request. Secrets are redacted: the
 * `authorization` header keeps only its scheme (`"Bearer <redacted>"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo extends Types.RequestInfo {}

/**
 * A fault for requests that match `method`, `path` (a substring of the path, or a RegExp) and
 * `origin`, the first `times` times (default: always).
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultRule extends Types.FaultRule {}

/**
 * A logged request with the status it got (`undefined` when the connection was reset).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRequest extends Types.LoggedRequest {}

/**
 * Options of the in-memory registry (all optional):
 * - `url`: base URL of the in-process registry (default `http://registry.test`; ignored by `serve`);
 * - `relativeLocations`: relative `Location` headers (default: absolute, built from `Host`);
 * - `deleteEnabled` (default true; false answers 405 `UNSUPPORTED`);
 * - `tagDelete`: DELETE of a manifest by tag: `"reject"` (400 `DIGEST_INVALID`, distribution's answer,
 *   the default), `"unsupported"` (405) or `"allow"` (202, removes the tag);
 * - `referrers` (default true; false: the referrers route is a plain 404 and no `OCI-Subject`);
 * - `schema1` (default true); `maxPageSize` (default 1000); `maxManifestSize` (default 4 MiB);
 * - `chunkMinLength`: sent as `OCI-Chunk-Min-Length` on upload sessions;
 * - `auth`: `basicAuth(...)` or `tokenAuth(...)`;
 * - `redirectBlobs`: blob GETs answer 307 to a second origin that serves the bytes (in-process:
 *   `http://blobs.registry.test` or the given `url`; served: a second loopback port);
 * - `faults`: rules, or a function choosing a fault per request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Types.Options {}

/**
 * A request as the handler sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request extends Types.Request {}

/**
 * The handler's answer: a response (whose body stream may fail with a connection reset) or a
 * reset connection.
 *
 * @since 0.1.0
 * @category models
 */
export type Response = Types.Response

/**
 * A manifest held by a repository.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredManifest {
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  readonly bytes: Uint8Array
  readonly tags: ReadonlyArray<string>
  readonly subject: string | undefined
}

/**
 * A blob held by the registry, with the repositories that link it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredBlob {
  readonly digest: string
  readonly size: number
  readonly repositories: ReadonlyArray<string>
}

/**
 * An open upload session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly uuid: string
  readonly repository: string
  readonly size: number
}

/**
 * The registry's handle: its URL, its handler, an in-process client, the state for
 * assertions and fault injection at run time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** origin of the registry, e.g. `http://registry.test` or `http://127.0.0.1:40123` */
  readonly url: string
  /** origin of the blob server when `redirectBlobs` is on */
  readonly blobOrigin: string | undefined
  readonly handle: (request: Request) => Effect.Effect<Response>
  /** answers in-process for `url` and `blobOrigin` (no socket, even when served) */
  readonly client: HttpClient.HttpClient
  readonly repositories: Effect.Effect<ReadonlyArray<string>>
  readonly tags: (repository: string) => Effect.Effect<ReadonlyArray<string>>
  readonly manifests: (repository: string) => Effect.Effect<ReadonlyArray<StoredManifest>>
  readonly blobs: Effect.Effect<ReadonlyArray<StoredBlob>>
  readonly blob: (digest: string) => Effect.Effect<Option.Option<Uint8Array>>
  readonly uploads: Effect.Effect<ReadonlyArray<Upload>>
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  /** requests received by the blob origin (headers redacted like `requests`) */
  readonly blobOriginRequests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: Effect.Effect<void>
  readonly addFault: (rule: FaultRule) => Effect.Effect<void>
  readonly clearFaults: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class InMemoryRegistry extends Context.Tag("@effect-registry/testing/InMemoryRegistry")<
  InMemoryRegistry,
  Service
>() {}

/**
 * Basic authentication options.
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 *
 * const layer = InMemoryRegistry.layer({ auth: InMemoryRegistry.basicAuth({ alice: "secret" }) })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const basicAuth = (
  users: Readonly<Record<string, string | Redacted.Redacted<string>>>,
  realm?: string
): BasicAuth => ({ _tag: "Basic", users, ...(realm === undefined ? {} : { realm }) })

/**
 * Token authentication options.
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 *
 * const auth = InMemoryRegistry.tokenAuth({
 *   users: { alice: "secret" },
 *   access: (subject, scope) => subject === undefined ? ["pull"] : scope.actions
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenAuth = (options: Omit<TokenAuth, "_tag">): TokenAuth => ({ _tag: "Token", ...options })

const originOf = (url: string): string => URL.canParse(url) ? new URL(url).origin : url

const build = (options: Options, url: string, blobOrigin: string | undefined) =>
  Effect.gen(function*() {
    const handler = yield* Handler.make(options, blobOrigin)
    const origins = [originOf(url), ...(blobOrigin === undefined ? [] : [originOf(blobOrigin)])]
    const state = Ref.get(handler.state)
    const service: Service = {
      url: originOf(url),
      blobOrigin,
      handle: handler.handle,
      client: Client.make(handler.handle, () => origins),
      repositories: Effect.map(state, (s) => [...s.repositories.keys()].sort()),
      tags: (repository) => Effect.map(state, (s) => [...(s.repositories.get(repository)?.tags.keys() ?? [])].sort()),
      manifests: (repository) =>
        Effect.map(state, (s) => {
          const r = s.repositories.get(repository)
          if (r === undefined) return []
          return [...r.manifests.values()].map((m) => ({
            digest: m.digest,
            mediaType: m.mediaType,
            size: m.bytes.length,
            bytes: m.bytes,
            tags: [...r.tags].filter(([, d]) => d === m.digest).map(([t]) => t).sort(),
            subject: m.subject
          }))
        }),
      blobs: Effect.map(state, (s) =>
        [...s.blobs].map(([digest, bytes]) => ({
          digest,
          size: bytes.length,
          repositories: [...s.repositories].filter(([, r]) => r.blobs.has(digest)).map(([name]) => name).sort()
        }))),
      blob: (digest) => Effect.map(state, (s) => Option.fromNullable(s.blobs.get(digest))),
      uploads: Effect.map(state, (s) =>
        [...s.uploads.values()].map((u) => ({ uuid: u.uuid, repository: u.repository, size: u.size }))),
      requests: Effect.map(Ref.get(handler.requests), Chunk.toReadonlyArray),
      blobOriginRequests: Effect.map(Ref.get(handler.blobOriginRequests), Chunk.toReadonlyArray),
      clearRequests: Effect.zipRight(
        Ref.set(handler.requests, Chunk.empty()),
        Ref.set(handler.blobOriginRequests, Chunk.empty())
      ),
      addFault: (rule) =>
        Ref.update(handler.faults, (rules) => [...rules, { rule, used: 0 }]),
      clearFaults: Ref.set(handler.faults, [])
    }
    return service
  })

const defaultBlobOrigin = (options: Options): string | undefined =>
  options.redirectBlobs === undefined || options.redirectBlobs === false
    ? undefined
    : options.redirectBlobs === true
    ? "http://blobs.registry.test"
    : options.redirectBlobs.url ?? "http://blobs.registry.test"

/**
 * An in-process registry (no socket).
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* InMemoryRegistry.make({ url: "http://registry.test" })
 *   const response = yield* registry.client.get(`${registry.url}/v2/`)
 *   return response.status // 200
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  build(options, options.url ?? "http://registry.test", defaultBlobOrigin(options))

/**
 * The in-process registry as a layer: an `HttpClient` that answers in-process, and the
 * `InMemoryRegistry` handle for assertions.
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 * import * as HttpClient from "@effect/platform/HttpClient"
 * import * as Effect from "effect/Effect"
 *
 * const status = HttpClient.get("http://registry.test/v2/").pipe(
 *   Effect.map((response) => response.status),
 *   Effect.provide(InMemoryRegistry.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient | InMemoryRegistry> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      (service) => Context.make(InMemoryRegistry, service).pipe(Context.add(HttpClient.HttpClient, service.client))
    )
  )

/**
 * Serves a fresh registry on a loopback port (`http://127.0.0.1:<port>`) for the scope's
 * lifetime; with `redirectBlobs`, a second loopback port serves the blob bytes.
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const registry = yield* InMemoryRegistry.serve()
 *   return registry.url
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  options: Options = {}
): Effect.Effect<Service, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const main = yield* Server.listen
    const blobs = defaultBlobOrigin(options) === undefined ? undefined : yield* Server.listen
    const service = yield* build(options, main.origin, blobs?.origin)
    yield* Server.serve(main.server, service.handle)
    if (blobs !== undefined) yield* Server.serve(blobs.server, service.handle)
    return service
  })

/**
 * `serve` as a layer.
 *
 * @example
 * ```ts
 * import { InMemoryRegistry } from "@effect-registry/testing"
 *
 * const RegistryLive = InMemoryRegistry.layerServer({ referrers: false })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (options: Options = {}): Layer.Layer<InMemoryRegistry, HttpServerError.ServeError> =>
  Layer.scoped(InMemoryRegistry, serve(options))
