/**
 * Basic and bearer-token authentication of the in-memory registry, with its in-process
 * token endpoint (opaque tokens, distribution's challenges).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { base64UrlDecode, decodeUtf8, mapSet, randomId, utf8 } from "./inMemoryStore.js"
import type { AccessScope, BasicAuth, TokenAuth } from "./inMemoryTypes.js"

/** @internal */
export interface RawResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
}

/** @internal */
export const jsonResponse = (
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
  contentType = "application/json; charset=utf-8"
): RawResponse => ({
  status,
  headers: { "content-type": contentType, ...headers },
  // distribution writes JSON with Go's json.Encoder, which ends the body with a newline
  body: utf8.encode(`${JSON.stringify(value)}\n`)
})

/** @internal */
export const errorResponse = (
  status: number,
  code: string,
  message: string,
  detail?: unknown,
  headers: Readonly<Record<string, string>> = {}
): RawResponse =>
  jsonResponse(status, { errors: [detail === undefined ? { code, message } : { code, message, detail }] }, headers)

/** What a route needs: `"any"` (any authenticated caller, the ping) or a list of scopes. @internal */
export type Required = "any" | ReadonlyArray<AccessScope>

interface TokenEntry {
  readonly subject: string | undefined
  readonly access: ReadonlyArray<AccessScope>
  readonly expiresAt: number
}

/** @internal */
export interface AuthState {
  readonly tokens: Ref.Ref<ReadonlyMap<string, TokenEntry>>
  readonly refreshTokens: Ref.Ref<ReadonlyMap<string, string>>
}

/** @internal */
export const makeState: Effect.Effect<AuthState> = Effect.gen(function*() {
  return {
    tokens: yield* Ref.make<ReadonlyMap<string, TokenEntry>>(new Map()),
    refreshTokens: yield* Ref.make<ReadonlyMap<string, string>>(new Map())
  }
})

/** @internal */
export const formatScope = (scope: AccessScope): string => `${scope.type}:${scope.name}:${scope.actions.join(",")}`

/** @internal */
export const parseScope = (s: string): AccessScope | undefined => {
  const first = s.indexOf(":")
  const last = s.lastIndexOf(":")
  if (first <= 0 || last <= first) return undefined
  return {
    type: s.slice(0, first),
    name: s.slice(first + 1, last),
    actions: s.slice(last + 1).split(",").filter((a) => a.length > 0)
  }
}

const reveal = (secret: string | Redacted.Redacted<string>): string =>
  typeof secret === "string" ? secret : Redacted.value(secret)

/** Decodes `Authorization: Basic ...`; undefined when absent or malformed. @internal */
export const basicCredentials = (
  headers: Readonly<Record<string, string>>
): { readonly username: string; readonly password: string } | undefined => {
  const header = headers["authorization"]
  if (header === undefined || !/^basic /i.test(header)) return undefined
  const decoded = base64UrlDecode(header.slice(6).trim())
  const text = decoded === undefined ? undefined : decodeUtf8(decoded)
  if (text === undefined) return undefined
  const colon = text.indexOf(":")
  if (colon < 0) return undefined
  return { username: text.slice(0, colon), password: text.slice(colon + 1) }
}

const validUser = (
  users: Readonly<Record<string, string | Redacted.Redacted<string>>>,
  credentials: { readonly username: string; readonly password: string } | undefined
): credentials is { readonly username: string; readonly password: string } =>
  credentials !== undefined && Object.hasOwn(users, credentials.username) &&
  reveal(users[credentials.username]) === credentials.password

const accessDetail = (required: Required): unknown =>
  required === "any"
    ? null
    : required.flatMap((scope) =>
      scope.actions.map((action) => ({ Type: scope.type, Class: "", Name: scope.name, Action: action }))
    )

const bearer = (headers: Readonly<Record<string, string>>): string | undefined => {
  const header = headers["authorization"]
  if (header === undefined || !/^bearer /i.test(header)) return undefined
  return header.slice(7).trim()
}

const covers = (granted: ReadonlyArray<AccessScope>, wanted: AccessScope): boolean =>
  wanted.actions.every((action) =>
    granted.some((g) =>
      g.type === wanted.type && g.name === wanted.name && (g.actions.includes(action) || g.actions.includes("*"))
    )
  )

/** The token endpoint's path (default `/token`). @internal */
export const tokenPath = (auth: TokenAuth): string => auth.path ?? "/token"

/**
 * Checks a request's credentials; a 401 response when they do not suffice, undefined when they do.
 *
 * @internal
 */
export const check = (
  auth: BasicAuth | TokenAuth,
  state: AuthState,
  headers: Readonly<Record<string, string>>,
  origin: string,
  required: Required
): Effect.Effect<RawResponse | undefined> =>
  Effect.gen(function*() {
    if (auth._tag === "Basic") {
      if (validUser(auth.users, basicCredentials(headers))) return undefined
      return errorResponse(401, "UNAUTHORIZED", "authentication required", accessDetail(required), {
        "www-authenticate": `Basic realm="${auth.realm ?? "registry"}"`
      })
    }
    const challenge = (error: string | undefined) => {
      let value = `Bearer realm="${origin}${tokenPath(auth)}",service="${auth.service ?? "registry.test"}"`
      if (required !== "any" && required.length > 0) value += `,scope="${required.map(formatScope).join(" ")}"`
      if (error !== undefined) value += `,error="${error}"`
      return errorResponse(401, "UNAUTHORIZED", "authentication required", accessDetail(required), {
        "www-authenticate": value
      })
    }
    const token = bearer(headers)
    if (token === undefined) return challenge(undefined)
    const entry = (yield* Ref.get(state.tokens)).get(token)
    const now = yield* Clock.currentTimeMillis
    if (entry === undefined || entry.expiresAt <= now) return challenge("invalid_token")
    if (required === "any") return undefined
    return required.every((scope) => covers(entry.access, scope)) ? undefined : challenge("insufficient_scope")
  })

const defaultAccess = (subject: string | undefined, scope: AccessScope): ReadonlyArray<string> =>
  subject === undefined ? [] : scope.actions

const issue = (
  auth: TokenAuth,
  state: AuthState,
  subject: string | undefined,
  scopes: ReadonlyArray<AccessScope>
) =>
  Effect.gen(function*() {
    const policy = auth.access ?? defaultAccess
    const access = scopes.map((scope) => {
      const allowed = policy(subject, scope)
      return { ...scope, actions: scope.actions.filter((a) => allowed.includes(a) || allowed.includes("*")) }
    }).filter((scope) => scope.actions.length > 0)
    const expiresIn = auth.expiresIn ?? 300
    const now = yield* Clock.currentTimeMillis
    const token = randomId()
    yield* Ref.update(state.tokens, (tokens) =>
      mapSet(tokens, token, { subject, access, expiresAt: now + expiresIn * 1000 }))
    return { token, expiresIn, issuedAt: new Date(now).toISOString(), access }
  })

const refreshFor = (state: AuthState, subject: string) =>
  Effect.gen(function*() {
    const refresh = randomId()
    yield* Ref.update(state.refreshTokens, (tokens) => mapSet(tokens, refresh, subject))
    return refresh
  })

const oauthError = (status: number, error: string, description: string): RawResponse =>
  jsonResponse(status, { error, error_description: description })

/**
 * The token endpoint: `GET` (docker token protocol, Basic credentials optional) and `POST`
 * (OAuth2 form: `grant_type=password` or `refresh_token`).
 *
 * @internal
 */
export const tokenEndpoint = (
  auth: TokenAuth,
  state: AuthState,
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array
): Effect.Effect<RawResponse> =>
  Effect.gen(function*() {
    const service = auth.service ?? "registry.test"
    if (method === "GET") {
      const credentials = basicCredentials(headers)
      if (headers["authorization"] !== undefined && !validUser(auth.users, credentials)) {
        return errorResponse(401, "UNAUTHORIZED", "authentication required", undefined, {
          "www-authenticate": `Basic realm="${service}"`
        })
      }
      const wantedService = url.searchParams.get("service")
      if (wantedService !== null && wantedService !== service) {
        return oauthError(400, "invalid_request", "unknown service")
      }
      const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).map(parseScope)
        .filter((s): s is AccessScope => s !== undefined)
      const subject = credentials?.username
      const issued = yield* issue(auth, state, subject, scopes)
      const refresh = subject !== undefined && url.searchParams.get("offline_token") === "true"
        ? { refresh_token: yield* refreshFor(state, subject) }
        : {}
      return jsonResponse(200, {
        token: issued.token,
        access_token: issued.token,
        expires_in: issued.expiresIn,
        issued_at: issued.issuedAt,
        ...refresh
      })
    }
    if (method === "POST") {
      const form = new URLSearchParams(decodeUtf8(body) ?? "")
      const scopes = (form.get("scope") ?? "").split(" ").filter((s) => s.length > 0).map(parseScope)
        .filter((s): s is AccessScope => s !== undefined)
      const grant = form.get("grant_type")
      let subject: string
      if (grant === "password") {
        const credentials = { username: form.get("username") ?? "", password: form.get("password") ?? "" }
        if (!validUser(auth.users, credentials)) return oauthError(401, "invalid_grant", "invalid credentials")
        subject = credentials.username
      } else if (grant === "refresh_token") {
        const known = (yield* Ref.get(state.refreshTokens)).get(form.get("refresh_token") ?? "")
        if (known === undefined) return oauthError(401, "invalid_grant", "invalid refresh token")
        subject = known
      } else {
        return oauthError(400, "unsupported_grant_type", "unsupported grant_type")
      }
      const issued = yield* issue(auth, state, subject, scopes)
      const refresh = grant === "password" && form.get("access_type") === "offline"
        ? { refresh_token: yield* refreshFor(state, subject) }
        : {}
      return jsonResponse(200, {
        access_token: issued.token,
        expires_in: issued.expiresIn,
        issued_at: issued.issuedAt,
        scope: issued.access.map(formatScope).join(" "),
        ...refresh
      })
    }
    return errorResponse(405, "UNSUPPORTED", "The operation is unsupported.")
  })
