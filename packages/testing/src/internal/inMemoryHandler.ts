/**
 * The in-memory registry as a pure request handler: `Request -> Effect<Response>` over Refs.
 * Runtime-neutral (web-standard globals only); the HttpClient and the HTTP server adapters
 * both call it.
 *
 * This file holds the dispatch: faults, the ping, routing, authorization and the finishing of answers.
 * The routes live one family to a file: `inMemoryBlobRoutes`, `inMemoryUploadRoutes`,
 * `inMemoryManifestRoutes` and `inMemoryListingRoutes` (catalog, tags, referrers), all made from
 * the `Env` of `inMemoryRoute`.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Auth from "./inMemoryAuth.js"
import { errorResponse, jsonResponse, type RawResponse } from "./inMemoryAuth.js"
import { makeBlobs, serveBytes } from "./inMemoryBlobRoutes.js"
import { makeListings } from "./inMemoryListingRoutes.js"
import { makeManifests } from "./inMemoryManifestRoutes.js"
import {
  BodyFailed,
  decode,
  empty,
  type Env,
  fail,
  messages,
  notFoundPage,
  readBody,
  type Route,
  unsupported
} from "./inMemoryRoute.js"
import { digestShapePattern, emptyState, repositoryPattern, type State, tagPattern, utf8 } from "./inMemoryStore.js"
import {
  ConnectionReset,
  type Fault,
  type FaultRule,
  type LoggedRequest,
  type Options,
  type Request,
  type RequestInfo,
  type Response
} from "./inMemoryTypes.js"
import { makeUploads } from "./inMemoryUploadRoutes.js"

/** @internal */
export interface Handler {
  readonly options: Options
  readonly state: Ref.Ref<State>
  readonly requests: Ref.Ref<Chunk.Chunk<LoggedRequest>>
  readonly blobOriginRequests: Ref.Ref<Chunk.Chunk<LoggedRequest>>
  readonly faults: Ref.Ref<ReadonlyArray<{ readonly rule: FaultRule; readonly used: number }>>
  readonly handle: (request: Request) => Effect.Effect<Response>
}

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
    const referrersOn = options.referrers ?? true

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

    // -- the route families ------------------------------------------------------

    const env: Env = {
      options,
      state,
      blobOrigin,
      locationFor,
      maxPageSize: options.maxPageSize ?? 1000,
      maxManifestSize: options.maxManifestSize ?? 4 * 1024 * 1024,
      referrersOn,
      deleteEnabled: options.deleteEnabled ?? true
    }
    const blobs = makeBlobs(env)
    const { blobRoute } = blobs
    const { startUpload, uploadRoute } = yield* makeUploads(env, blobs)
    const { manifestRoute } = makeManifests(env)
    const { catalogRoute, referrersRoute, tagsRoute } = makeListings(env)

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
