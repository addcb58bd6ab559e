/**
 * A Docker token server for tests (node:http + node:crypto): the `auth.token` side of a real registry.
 *
 * It issues ES256 JWTs whose `x5c` header carries a self-signed certificate generated at start (the registry
 * trusts that certificate through `rootcertbundle`), answers `GET` as in the Docker token spec and `POST` as in
 * its OAuth2 variant (password and refresh-token grants), derives each token's `access` claim from the requested
 * scopes with a policy the test chooses, and counts the tokens it issued.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import { makeSigningCertificate, requireOpenssl } from "./internal/certs.js"
import { describe, type LaunchFailure } from "./internal/failure.js"
import { scopedTempDir } from "./internal/files.js"
import { equalSecrets, signEs256 } from "./internal/jwt.js"

/**
 * A user the token server knows.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly username: string
  readonly password: string
}

/**
 * One parsed `scope` value, `type:name:actions` (for example `repository:alice/app:pull,push`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ResourceScope {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/**
 * One entry of a token's `access` claim.
 *
 * @since 0.1.0
 * @category models
 */
export interface Access {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/**
 * What a policy decides on: the authenticated user (`undefined` when anonymous) and the scopes asked for.
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyRequest {
  readonly user: string | undefined
  readonly scopes: ReadonlyArray<ResourceScope>
  readonly service: string
}

/**
 * Decides the `access` claim of a token.
 *
 * @since 0.1.0
 * @category models
 */
export type Policy = (request: PolicyRequest) => ReadonlyArray<Access>

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** users whose Basic credentials / password grants are accepted */
  readonly users?: ReadonlyArray<User> | undefined
  /** the `service` (token audience); default `effect-registry-test` */
  readonly service?: string | undefined
  /** the `iss` claim; default `effect-registry-token-server` */
  readonly issuer?: string | undefined
  /** default: {@link defaultPolicy} with `anonymousPull` */
  readonly policy?: Policy | undefined
  /** for the default policy: which repositories anonymous users may pull (default: none) */
  readonly anonymousPull?: boolean | ((repository: string) => boolean) | undefined
  /** token lifetime (`exp - iat`, `expires_in`); default 5 minutes */
  readonly tokenLifetime?: Duration.DurationInput | undefined
  /** answer `POST` (OAuth2); default true. When false, `POST` gets `refusedPostStatus` */
  readonly allowPost?: boolean | undefined
  /** status for a refused `POST`; default 405 */
  readonly refusedPostStatus?: number | undefined
  /** the realm's path; default `/token` */
  readonly path?: string | undefined
  /** the `openssl` command used to make the signing certificate; default `openssl` on `PATH` */
  readonly openssl?: string | undefined
}

/**
 * One request the server answered. Passwords and tokens are never recorded.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestLog {
  readonly method: string
  readonly path: string
  /** the authenticated user, or the username that failed to authenticate */
  readonly user: string | undefined
  readonly authenticated: boolean
  /** the raw `scope` values, split on spaces */
  readonly scopes: ReadonlyArray<string>
  readonly service: string | undefined
  readonly grantType: string | undefined
  readonly clientId: string | undefined
  readonly status: number
  /** whether a token was issued */
  readonly issued: boolean
}

/**
 * Options of {@link Running.mint}: a token made directly, bypassing the policy (not counted in `issued`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MintOptions {
  readonly subject?: string | undefined
  readonly access?: ReadonlyArray<Access> | undefined
  /** default: the server's service */
  readonly audience?: string | undefined
  /** default: the server's issuer */
  readonly issuer?: string | undefined
  /** seconds from now to `exp`; default: the server's token lifetime; negative makes an expired token */
  readonly lifetimeSeconds?: number | undefined
  /** sign with a fresh key and certificate the registry does not trust */
  readonly untrusted?: boolean | undefined
}

/**
 * A running token server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** the token endpoint, `http://127.0.0.1:<port>/token` */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** the signing certificate: what the registry's `rootcertbundle` holds */
  readonly certificatePem: string
  readonly users: ReadonlyArray<User>
  /** how many access tokens were issued through `GET`/`POST` */
  readonly issued: Effect.Effect<number>
  /** every request answered so far, oldest first */
  readonly requests: Effect.Effect<ReadonlyArray<RequestLog>>
  /** a signed token with chosen claims, bypassing the policy */
  readonly mint: (options?: MintOptions) => Effect.Effect<string, TokenServerError>
  /** forget every refresh token issued so far */
  readonly revokeRefreshTokens: Effect.Effect<void>
}

/**
 * Why the token server could not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenServerError extends Data.TaggedError("TokenServerError")<{
  readonly reason: "OpensslMissing" | "Certificates" | "FileSystem" | "Listen"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The running token server of a suite.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenServer extends Context.Tag("@effect-registry/test-infra/TokenServer")<TokenServer, Running>() {}

/**
 * Parses one scope, `type:name:actions`; the name may contain `:` (a registry host with a port). Invalid values give
 * `undefined`.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { TokenServer } from "@effect-registry/test-infra"
 *
 * TokenServer.parseScope("repository:alice/app:pull,push")
 * // { type: "repository", name: "alice/app", actions: ["pull", "push"] }
 * ```
 */
export const parseScope = (scope: string): ResourceScope | undefined => {
  const first = scope.indexOf(":")
  const last = scope.lastIndexOf(":")
  if (first <= 0 || last === first) return undefined
  const name = scope.slice(first + 1, last)
  if (name.length === 0) return undefined
  const actions = scope.slice(last + 1).split(",").filter((action) => action.length > 0)
  return { type: scope.slice(0, first), name, actions }
}

/**
 * The default policy: an authenticated user gets every scope asked for; an anonymous user gets `pull` on the
 * repositories `anonymousPull` allows, and nothing else.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { TokenServer } from "@effect-registry/test-infra"
 *
 * const policy = TokenServer.defaultPolicy({ anonymousPull: (repository) => repository.startsWith("public/") })
 * ```
 */
export const defaultPolicy = (
  options?: { readonly anonymousPull?: boolean | ((repository: string) => boolean) | undefined }
): Policy => {
  const allow = options?.anonymousPull
  const anonymousPull = typeof allow === "function" ? allow : () => allow === true
  return ({ scopes, user }) =>
    user !== undefined
      ? scopes.map((scope) => ({ type: scope.type, name: scope.name, actions: scope.actions }))
      : scopes
        .filter((scope) => scope.type === "repository" && scope.actions.includes("pull") && anonymousPull(scope.name))
        .map((scope) => ({ type: scope.type, name: scope.name, actions: ["pull"] }))
}

const toTokenServerError = (failure: LaunchFailure): TokenServerError =>
  new TokenServerError({
    reason: failure.reason === "OpensslMissing" || failure.reason === "Certificates" ||
        failure.reason === "FileSystem"
      ? failure.reason
      : "Listen",
    message: failure.message,
    cause: failure.cause
  })

const maxBodyBytes = 64 * 1024

interface Outcome {
  readonly status: number
  readonly body: unknown
  readonly headers?: Record<string, string>
  readonly user?: string | undefined
  readonly authenticated?: boolean
  readonly issued?: boolean
}

/**
 * Starts a token server on a free port of 127.0.0.1; it stops when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { TokenServer } from "@effect-registry/test-infra"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* TokenServer.make({ users: [{ username: "alice", password: "secret" }] })
 *   return server.realm
 * }).pipe(Effect.scoped)
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<Running, TokenServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const service = options.service ?? "effect-registry-test"
    const issuer = options.issuer ?? "effect-registry-token-server"
    const users = options.users ?? []
    const policy = options.policy ?? defaultPolicy({ anonymousPull: options.anonymousPull })
    const lifetimeSeconds = Math.round(Duration.toSeconds(Duration.decode(options.tokenLifetime ?? "5 minutes")))
    const path = options.path ?? "/token"
    const openssl = yield* requireOpenssl(options.openssl).pipe(Effect.mapError(toTokenServerError))

    const makeCertificate = Effect.scoped(
      Effect.flatMap(scopedTempDir("effect-registry-token-"), (dir) => makeSigningCertificate(openssl, dir, issuer))
    ).pipe(Effect.mapError(toTokenServerError))
    const signing = yield* makeCertificate

    let issuedCount = 0
    const log: Array<RequestLog> = []
    const refreshTokens = new Map<string, string>()

    const sign = (
      claims: { subject: string; access: ReadonlyArray<Access>; audience: string; issuer: string; lifetime: number },
      key = signing
    ) => {
      const now = Math.floor(Date.now() / 1000)
      return signEs256(key.privateKey, [key.certificateDer], {
        iss: claims.issuer,
        sub: claims.subject,
        aud: claims.audience,
        exp: now + claims.lifetime,
        nbf: now - 1,
        iat: now,
        jti: Crypto.randomBytes(16).toString("hex"),
        access: claims.access
      })
    }

    const checkUser = (username: string, password: string): boolean => {
      let ok = false
      for (const user of users) {
        // compare against every user so that timing does not tell which names exist
        if (equalSecrets(user.username, username) && equalSecrets(user.password, password)) ok = true
      }
      return ok
    }

    const splitScopes = (values: ReadonlyArray<string>) =>
      values.flatMap((value) => value.split(" ")).filter((scope) => scope.length > 0)

    const issueToken = (user: string | undefined, scopes: ReadonlyArray<string>) => {
      const parsed = scopes.map(parseScope).filter((scope): scope is ResourceScope => scope !== undefined)
      const access = policy({ user, scopes: parsed, service })
      issuedCount++
      return {
        token: sign({ subject: user ?? "", access, audience: service, issuer, lifetime: lifetimeSeconds }),
        issuedAt: new Date().toISOString()
      }
    }

    const unauthorized = (message: string, user: string | undefined): Outcome => ({
      status: 401,
      headers: { "www-authenticate": `Basic realm=${JSON.stringify(`${issuer} token server`)}` },
      body: {
        errors: [{ code: "UNAUTHORIZED", message, detail: null }],
        error: "invalid_grant",
        error_description: message
      },
      user,
      authenticated: false
    })

    const badRequest = (message: string): Outcome => ({
      status: 400,
      body: {
        errors: [{ code: "INVALID_REQUEST", message, detail: null }],
        error: "invalid_request",
        error_description: message
      }
    })

    const handleGet = (url: URL, authorization: string | undefined): Outcome => {
      let user: string | undefined
      if (authorization !== undefined) {
        const match = /^basic\s+(\S+)\s*$/i.exec(authorization)
        if (match === null) return unauthorized("unsupported authorization scheme", undefined)
        const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8")
        const colon = decoded.indexOf(":")
        const username = colon < 0 ? decoded : decoded.slice(0, colon)
        if (colon < 0 || !checkUser(username, decoded.slice(colon + 1))) {
          return unauthorized("invalid username or password", username)
        }
        user = username
      }
      const requested = url.searchParams.get("service")
      if (requested !== null && requested !== service) return badRequest(`unknown service ${requested}`)
      const { issuedAt, token } = issueToken(user, splitScopes(url.searchParams.getAll("scope")))
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: lifetimeSeconds,
        issued_at: issuedAt
      }
      if (user !== undefined && url.searchParams.get("offline_token") === "true") {
        const refresh = Crypto.randomBytes(32).toString("base64url")
        refreshTokens.set(refresh, user)
        body.refresh_token = refresh
      }
      return { status: 200, body, user, authenticated: user !== undefined, issued: true }
    }

    const handlePost = (form: URLSearchParams): Outcome => {
      const requested = form.get("service")
      if (requested !== null && requested !== service) return badRequest(`unknown service ${requested}`)
      const grantType = form.get("grant_type")
      const scopes = splitScopes(form.getAll("scope"))
      if (grantType === "password") {
        const username = form.get("username") ?? ""
        if (!checkUser(username, form.get("password") ?? "")) {
          return unauthorized("invalid username or password", username)
        }
        const { issuedAt, token } = issueToken(username, scopes)
        const refresh = Crypto.randomBytes(32).toString("base64url")
        refreshTokens.set(refresh, username)
        return {
          status: 200,
          body: {
            access_token: token,
            token,
            expires_in: lifetimeSeconds,
            issued_at: issuedAt,
            refresh_token: refresh
          },
          user: username,
          authenticated: true,
          issued: true
        }
      }
      if (grantType === "refresh_token") {
        const user = refreshTokens.get(form.get("refresh_token") ?? "")
        if (user === undefined) return unauthorized("unknown or revoked refresh token", undefined)
        const { issuedAt, token } = issueToken(user, scopes)
        return {
          status: 200,
          body: { access_token: token, token, expires_in: lifetimeSeconds, issued_at: issuedAt },
          user,
          authenticated: true,
          issued: true
        }
      }
      return {
        status: 400,
        body: { error: "unsupported_grant_type", error_description: `unsupported grant_type ${grantType ?? ""}` }
      }
    }

    const respond = (
      req: Http.IncomingMessage,
      res: Http.ServerResponse,
      url: URL,
      outcome: Outcome,
      scopes: ReadonlyArray<string>,
      form?: URLSearchParams
    ) => {
      log.push({
        method: req.method ?? "",
        path: url.pathname,
        user: outcome.user,
        authenticated: outcome.authenticated ?? false,
        scopes,
        service: (form ?? url.searchParams).get("service") ?? undefined,
        grantType: form?.get("grant_type") ?? undefined,
        clientId: (form ?? url.searchParams).get("client_id") ?? undefined,
        status: outcome.status,
        issued: outcome.issued ?? false
      })
      const payload = JSON.stringify(outcome.body)
      res.writeHead(outcome.status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        "content-length": Buffer.byteLength(payload),
        ...outcome.headers
      })
      res.end(payload)
    }

    const handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      let url: URL
      try {
        url = new URL(req.url ?? "/", "http://127.0.0.1")
      } catch {
        res.writeHead(400).end()
        return
      }
      try {
        if (url.pathname !== path) {
          respond(req, res, url, { status: 404, body: { error: "not_found" } }, [])
          return
        }
        if (req.method === "GET") {
          const scopes = splitScopes(url.searchParams.getAll("scope"))
          respond(req, res, url, handleGet(url, req.headers.authorization), scopes)
          return
        }
        if (req.method === "POST") {
          if (options.allowPost === false) {
            respond(req, res, url, {
              status: options.refusedPostStatus ?? 405,
              headers: { allow: "GET" },
              body: { error: "unsupported", error_description: "POST is refused by this token server" }
            }, [])
            req.resume()
            return
          }
          const chunks: Array<Buffer> = []
          let size = 0
          let tooLarge = false
          req.on("data", (chunk: Buffer) => {
            size += chunk.length
            if (size > maxBodyBytes) tooLarge = true
            else chunks.push(chunk)
          })
          req.on("end", () => {
            try {
              const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
              if (tooLarge) {
                respond(req, res, url, badRequest("request body too large"), [])
              } else if (contentType !== "application/x-www-form-urlencoded") {
                respond(req, res, url, badRequest("expected application/x-www-form-urlencoded"), [])
              } else {
                const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
                respond(req, res, url, handlePost(form), splitScopes(form.getAll("scope")), form)
              }
            } catch (cause) {
              res.writeHead(500, { "content-type": "text/plain" }).end(describe(cause))
            }
          })
          return
        }
        respond(req, res, url, { status: 405, headers: { allow: "GET, POST" }, body: { error: "method" } }, [])
      } catch (cause) {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
        res.end(describe(cause))
      }
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server, TokenServerError>((resume) => {
        const server = Http.createServer(handler)
        server.once("error", (cause) =>
          resume(
            Effect.fail(
              new TokenServerError({
                reason: "Listen",
                message: `token server cannot listen: ${describe(cause)}`,
                cause
              })
            )
          ))
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(10),
          onTimeout: () =>
            new TokenServerError({ reason: "Listen", message: "token server did not listen within 10 s" })
        })
      ),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        }).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore)
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const url = `http://127.0.0.1:${port}`

    const mint = (mintOptions: MintOptions = {}): Effect.Effect<string, TokenServerError> =>
      Effect.gen(function*() {
        const key = mintOptions.untrusted === true ?
          yield* Effect.scoped(
            Effect.flatMap(scopedTempDir("effect-registry-mint-"), (dir) =>
              makeSigningCertificate(openssl, dir, "untrusted"))
          ).pipe(Effect.mapError(toTokenServerError))
          : signing
        return sign({
          subject: mintOptions.subject ?? "",
          access: mintOptions.access ?? [],
          audience: mintOptions.audience ?? service,
          issuer: mintOptions.issuer ?? issuer,
          lifetime: mintOptions.lifetimeSeconds ?? lifetimeSeconds
        }, key)
      })

    return {
      url,
      realm: `${url}${path}`,
      service,
      issuer,
      certificatePem: signing.certificatePem,
      users,
      issued: Effect.sync(() => issuedCount),
      requests: Effect.sync(() => [...log]),
      mint,
      revokeRefreshTokens: Effect.sync(() => refreshTokens.clear())
    } satisfies Running
  })

/**
 * A layer with a running token server, stopped when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { TokenServer } from "@effect-registry/test-infra"
 *
 * const TokenServerLive = TokenServer.layer({ users: [{ username: "alice", password: "secret" }] })
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<TokenServer, TokenServerError> =>
  Layer.scoped(TokenServer, make(options))
