/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1): parsing, inspection and
 * the `Unauthorized` error a 401 answer stands for.
 *
 * Parsing never fails: a header is a list of challenges, each a scheme
 * followed by either a token68 or a comma-separated list of `name=value`
 * parameters (value a token or a quoted string with `\` escapes). Parts that
 * do not follow the grammar are dropped. Unquoted values are read up to the
 * next comma or space, so that `realm=https://auth.example/token` (seen in the
 * wild, not a valid token) still parses.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Option from "effect/Option"
import * as Auth from "./internal/auth.js"
import * as RegistryError from "./RegistryError.js"

/**
 * One challenge. The scheme and parameter names are lower-cased; parameter
 * values are kept as sent (quotes removed, escapes resolved).
 *
 * @since 0.1.0
 * @category models
 */
export interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
  readonly token68?: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Challenge } from "@effect-registry/core"
 *
 * const c = Challenge.make("Bearer", { realm: "https://auth.example/token", service: "registry.example" })
 * console.log(Challenge.format(c)) // Bearer realm="https://auth.example/token",service="registry.example"
 * ```
 */
export const make = (scheme: string, params: Readonly<Record<string, string>> = {}): Challenge => ({
  scheme: scheme.toLowerCase(),
  params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k.toLowerCase(), v]))
})

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68 = /[A-Za-z0-9\-._~+/]/
const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n"

interface Draft {
  readonly scheme: string
  readonly entries: Array<[string, string]>
  token68?: string
}

/**
 * Parse a `WWW-Authenticate` header value into its challenges. Never fails;
 * malformed parts are dropped. Several headers joined with `, ` parse as one.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Challenge } from "@effect-registry/core"
 *
 * const [bearer, basic] = Challenge.parse(`Bearer realm="https://a/token",scope="repository:x:pull,push", Basic realm="r"`)
 * console.log(bearer.params.scope) // repository:x:pull,push
 * console.log(basic.scheme) // basic
 * ```
 */
export const parse = (header: string): ReadonlyArray<Challenge> => {
  const s = String(header)
  const n = s.length
  const out: Array<Challenge> = []
  let current: Draft | undefined
  let i = 0

  const flush = () => {
    if (current !== undefined) {
      const seen = new Set<string>()
      const entries = current.entries.filter(([k]) => seen.has(k) ? false : (seen.add(k), true))
      out.push({
        scheme: current.scheme,
        params: Object.fromEntries(entries),
        ...(current.token68 !== undefined ? { token68: current.token68 } : {})
      })
    }
    current = undefined
  }
  const skipSpaces = (j: number) => {
    while (j < n && isSpace(s[j])) j++
    return j
  }
  // Reads a quoted string starting at s[j] === '"'; returns the value and the index after the closing quote.
  const quoted = (j: number): [string, number] | undefined => {
    let value = ""
    j++
    while (j < n) {
      const c = s[j]
      if (c === "\"") return [value, j + 1]
      if (c === "\\" && j + 1 < n) {
        value += s[j + 1]
        j += 2
      } else {
        value += c
        j++
      }
    }
    return undefined
  }
  // A token68 right after the scheme: its characters, then '=' padding, then the end or a comma.
  const token68At = (j: number): [string, number] | undefined => {
    const start = j
    while (j < n && TOKEN68.test(s[j])) j++
    if (j === start) return undefined
    while (j < n && s[j] === "=") j++
    const end = j
    const k = skipSpaces(j)
    return k >= n || s[k] === "," ? [s.slice(start, end), k] : undefined
  }

  while (i < n) {
    while (i < n && (isSpace(s[i]) || s[i] === ",")) i++
    if (i >= n) break
    const start = i
    while (i < n && TCHAR.test(s[i])) i++
    if (i === start) {
      // Not a token: skip a stray quoted string or one character.
      if (s[i] === "\"") {
        const q = quoted(i)
        i = q === undefined ? n : q[1]
      } else {
        i++
      }
      continue
    }
    const name = s.slice(start, i)
    const j = skipSpaces(i)
    if (s[j] === "=") {
      // An auth-param: name BWS "=" BWS ( token / quoted-string ).
      let k = skipSpaces(j + 1)
      let value: string | undefined
      if (s[k] === "\"") {
        const q = quoted(k)
        if (q === undefined) {
          i = n
          continue
        }
        value = q[0]
        k = q[1]
      } else {
        const vs = k
        while (k < n && !isSpace(s[k]) && s[k] !== "," && s[k] !== "\"") k++
        value = k > vs ? s.slice(vs, k) : undefined
      }
      if (current !== undefined && value !== undefined) current.entries.push([name.toLowerCase(), value])
      i = k
      continue
    }
    // A new challenge.
    flush()
    current = { scheme: name.toLowerCase(), entries: [] }
    if (j > i) {
      const t = token68At(j)
      if (t !== undefined) {
        current.token68 = t[0]
        i = t[1]
        continue
      }
    }
    i = j
  }
  flush()
  return out
}

/**
 * The challenges of a response's `WWW-Authenticate` header (empty when there is none).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Challenge } from "@effect-registry/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
 *
 * const response = HttpClientResponse.fromWeb(
 *   HttpClientRequest.get("https://registry.example/v2/"),
 *   new Response(null, { status: 401, headers: { "www-authenticate": `Basic realm="r"` } })
 * )
 * console.log(Challenge.fromResponse(response)[0].scheme) // basic
 * ```
 */
export const fromResponse = (response: HttpClientResponse.HttpClientResponse): ReadonlyArray<Challenge> =>
  fromHeaders(response.headers)

/**
 * The challenges of a `WWW-Authenticate` header in a set of headers.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Challenge } from "@effect-registry/core"
 * import * as Headers from "@effect/platform/Headers"
 *
 * Challenge.fromHeaders(Headers.fromInput({ "www-authenticate": `Basic realm="r"` }))
 * ```
 */
export const fromHeaders = (headers: Headers.Headers): ReadonlyArray<Challenge> =>
  Option.match(Headers.get(headers, "www-authenticate"), { onNone: () => [], onSome: parse })

/**
 * A parameter of a challenge (names are case-insensitive).
 *
 * @since 0.1.0
 * @category getters
 */
export const param = (self: Challenge, name: string): string | undefined => {
  const key = name.toLowerCase()
  return Object.prototype.hasOwnProperty.call(self.params, key) ? self.params[key] : undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isBasic = (self: Challenge): boolean => self.scheme === "basic"

/**
 * @since 0.1.0
 * @category guards
 */
export const isBearer = (self: Challenge): boolean => self.scheme === "bearer"

/**
 * The `realm` parameter.
 *
 * @since 0.1.0
 * @category getters
 */
export const realm = (self: Challenge): string | undefined => param(self, "realm")

/**
 * The `service` parameter.
 *
 * @since 0.1.0
 * @category getters
 */
export const service = (self: Challenge): string | undefined => param(self, "service")

/**
 * The `error` parameter (`invalid_token`, `insufficient_scope`, ...).
 *
 * @since 0.1.0
 * @category getters
 */
export const error = (self: Challenge): string | undefined => param(self, "error")

/**
 * The scopes a challenge names: its `scope` parameter split on spaces
 * (distribution puts several scopes in one parameter).
 *
 * @since 0.1.0
 * @category getters
 */
export const scopes = (self: Challenge): ReadonlyArray<string> =>
  (param(self, "scope") ?? "").split(/\s+/).filter((scope) => scope.length > 0)

/**
 * The challenge effect-registry answers: the first `Bearer`, else the first
 * `Basic`, else none.
 *
 * @since 0.1.0
 * @category utils
 */
export const select = (challenges: ReadonlyArray<Challenge>): Challenge | undefined =>
  challenges.find(isBearer) ?? challenges.find(isBasic)

const quote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
const displayScheme = (scheme: string) =>
  scheme === "basic" ? "Basic" : scheme === "bearer" ? "Bearer" : scheme.length > 0 ? scheme : "?"

/**
 * Print challenges back as a header value (parameters quoted).
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (self: Challenge | ReadonlyArray<Challenge>): string => {
  const list: ReadonlyArray<Challenge> = Array.isArray(self) ? self : [self as Challenge]
  return list.map((c) => {
    const params = Object.entries(c.params).map(([k, v]) => `${k}=${quote(v)}`).join(",")
    const rest = c.token68 !== undefined ? c.token68 : params
    return rest.length > 0 ? `${displayScheme(c.scheme)} ${rest}` : displayScheme(c.scheme)
  }).join(", ")
}

const MaxChallengeText = 512
const MaxDetail = 200

const clip = (s: string, max: number) => s.length > max ? `${s.slice(0, max)}…` : s

/**
 * The `Unauthorized` error a 401 answer stands for, with the reason read from
 * the challenge and the request:
 *
 * - `error="insufficient_scope"` → `InsufficientScope`; `error="invalid_token"` → `InvalidToken`;
 * - no `Basic`/`Bearer` challenge → `UnsupportedChallenge`;
 * - otherwise `RejectedCredentials` when the request carried an `Authorization`
 *   header (`InvalidToken` for a bearer token), `MissingCredentials` when not.
 *
 * The scopes are the given ones plus those the challenge names. Nothing of the
 * request's `Authorization` header is kept.
 *
 * @since 0.1.0
 * @category errors
 * @example
 * ```ts
 * import { Challenge } from "@effect-registry/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
 *
 * const response = HttpClientResponse.fromWeb(
 *   HttpClientRequest.get("https://registry.example/v2/a/tags/list"),
 *   new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="https://a/t",error="insufficient_scope"` } })
 * )
 * console.log(Challenge.unauthorized(response, ["repository:a:pull"]).reason) // InsufficientScope
 * ```
 */
export const unauthorized = (
  response: HttpClientResponse.HttpClientResponse,
  scopes_: ReadonlyArray<string>
): RegistryError.Unauthorized => {
  const challenges = fromResponse(response)
  const chosen = select(challenges)
  const sent = Auth.authorizationScheme(response.request)
  const err = chosen !== undefined ? error(chosen) : undefined
  const reason: RegistryError.UnauthorizedReason = chosen === undefined
    ? "UnsupportedChallenge"
    : err === "insufficient_scope"
    ? "InsufficientScope"
    : err === "invalid_token"
    ? "InvalidToken"
    : sent === "bearer"
    ? "InvalidToken"
    : sent !== undefined
    ? "RejectedCredentials"
    : "MissingCredentials"
  const description = chosen !== undefined ? param(chosen, "error_description") : undefined
  const detail = chosen === undefined
    ? challenges.length === 0 ? "no WWW-Authenticate challenge" : undefined
    : description !== undefined
    ? clip(description, MaxDetail)
    : undefined
  return new RegistryError.Unauthorized({
    reason,
    status: response.status,
    request: Auth.describeRequest(response.request),
    scopes: Auth.mergeScopes(scopes_, chosen !== undefined ? scopes(chosen) : []),
    ...(challenges.length > 0 ? { challenge: clip(format(challenges), MaxChallengeText) } : {}),
    ...(detail !== undefined ? { detail } : {})
  })
}
