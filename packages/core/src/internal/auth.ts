/**
 * Helpers shared by `Challenge` and `AuthService`: scope arithmetic, request
 * descriptions without secrets, the Basic header.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Encoding from "effect/Encoding"
import * as Redacted from "effect/Redacted"
import * as Request from "./http/errors.js"

/**
 * Canonical, merged scope list: every argument may hold several
 * space-separated scopes; `type:name:actions` scopes for the same resource are
 * merged (actions united and sorted); resources sorted; anything else kept
 * verbatim, de-duplicated and sorted.
 *
 * @internal
 */
export const mergeScopes = (...lists: ReadonlyArray<Iterable<string>>): ReadonlyArray<string> => {
  const resources = new Map<string, Set<string>>()
  const raw = new Set<string>()
  for (const list of lists) {
    for (const entry of list) {
      for (const scope of entry.split(/\s+/)) {
        if (scope.length === 0) continue
        const first = scope.indexOf(":")
        const last = scope.lastIndexOf(":")
        const actions = first > 0 && last > first
          ? scope.slice(last + 1).split(",").filter((a) => a.length > 0)
          : []
        if (actions.length === 0) {
          raw.add(scope)
          continue
        }
        const resource = scope.slice(0, last)
        const set = resources.get(resource) ?? new Set<string>()
        for (const action of actions) set.add(action)
        resources.set(resource, set)
      }
    }
  }
  const merged = [...resources].map(([resource, actions]) => `${resource}:${[...actions].sort().join(",")}`)
  return [...new Set([...merged, ...raw])].sort()
}

/**
 * The lower-cased scheme of a request's `Authorization` header, if any.
 *
 * @internal
 */
export const authorizationScheme = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const value = request.headers["authorization"]
  if (value === undefined) return undefined
  const match = /^\s*(\S+)/.exec(value)
  return match === null ? "" : match[1].toLowerCase()
}

/**
 * The bearer token a request carried, if any.
 *
 * @internal
 */
export const bearerOf = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const value = request.headers["authorization"]
  if (value === undefined) return undefined
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value)
  return match === null ? undefined : match[1]
}

/**
 * `METHOD origin/path` of a request, without query string, fragment or user info
 * (`Request.describeRequest`).
 *
 * @internal
 */
export const describeRequest = (request: HttpClientRequest.HttpClientRequest): string =>
  Request.describeRequest(request.method, request.url)

/**
 * `Basic base64(utf8(username:password))`; unlike `btoa`, never throws on
 * characters outside Latin-1.
 *
 * @internal
 */
export const basicHeader = (username: string, password: Redacted.Redacted<string>): string =>
  `Basic ${Encoding.encodeBase64(new TextEncoder().encode(`${username}:${Redacted.value(password)}`))}`

/**
 * Set `Authorization` on a request.
 *
 * @internal
 */
export const withAuthorization = (
  request: HttpClientRequest.HttpClientRequest,
  value: string
): HttpClientRequest.HttpClientRequest => HttpClientRequest.setHeader(request, "authorization", value)
