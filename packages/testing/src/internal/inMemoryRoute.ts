/**
 * What every route of the in-memory registry shares: the short-circuit answers, the error messages, the
 * scopes a route requires, and the environment (state and settings) the route families are made from.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Auth from "./inMemoryAuth.js"
import type { RawResponse } from "./inMemoryAuth.js"
import { errorResponse } from "./inMemoryAuth.js"
import { concatBytes, type State, utf8 } from "./inMemoryStore.js"
import type { AccessScope, Options, Request } from "./inMemoryTypes.js"

/** What the route families are made from. @internal */
export interface Env {
  readonly options: Options
  readonly state: Ref.Ref<State>
  /** the origin blob GETs are redirected to, when there is one */
  readonly blobOrigin: string | undefined
  /** an absolute (or, with `relativeLocations`, relative) Location for a path */
  readonly locationFor: (request: Request, path: string) => string
  readonly maxPageSize: number
  readonly maxManifestSize: number
  readonly referrersOn: boolean
  readonly deleteEnabled: boolean
}

/** A short-circuit answer from inside a route. @internal */
export class Reply extends Data.TaggedError("Reply")<{ readonly response: RawResponse }> {}

/** The request body could not be read: the connection is gone. @internal */
export class BodyFailed extends Data.TaggedError("BodyFailed")<{ readonly cause: unknown }> {}

/** Ends a route with this answer. @internal */
export const reply = (response: RawResponse) => Effect.fail(new Reply({ response }))

/** Ends a route with a distribution error answer. @internal */
export const fail = (
  status: number,
  code: string,
  message: string,
  detail?: unknown,
  headers?: Record<string, string>
) => reply(errorResponse(status, code, message, detail, headers))

/** The answer to a path no route knows (Go's default 404 page). @internal */
export const notFoundPage: RawResponse = {
  status: 404,
  headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  body: utf8.encode("404 page not found\n")
}

/** An answer without a body. @internal */
export const empty = (status: number, headers: Readonly<Record<string, string>> = {}): RawResponse => ({
  status,
  headers,
  body: undefined
})

/** distribution's message for each error code. @internal */
export const messages = {
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

/** The 405 distribution gives a method a route does not take. @internal */
export const unsupported = () => fail(405, "UNSUPPORTED", messages.UNSUPPORTED)

/** The whole request body (the in-memory registry keeps every blob in memory anyway). @internal */
export const readBody = (request: Request): Effect.Effect<Uint8Array, BodyFailed> =>
  request.body.pipe(
    Stream.runCollect,
    Effect.map((chunks) => concatBytes(Chunk.toReadonlyArray(chunks))),
    Effect.mapError((cause) => new BodyFailed({ cause }))
  )

/** @internal */
export interface Route {
  readonly required: Auth.Required | undefined
  readonly run: Effect.Effect<RawResponse, Reply | BodyFailed>
}

const scope = (name: string, actions: ReadonlyArray<string>): ReadonlyArray<AccessScope> => [
  { type: "repository", name, actions }
]

/** The scopes a pull needs. @internal */
export const pull = (name: string): ReadonlyArray<AccessScope> => scope(name, ["pull"])
/** The scopes a push needs. @internal */
export const push = (name: string): ReadonlyArray<AccessScope> => scope(name, ["pull", "push"])
/** The scopes a delete needs. @internal */
export const del = (name: string): ReadonlyArray<AccessScope> => scope(name, ["delete"])

/** A percent-decoded path segment, or undefined when it is malformed. @internal */
export const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}
