/**
 * Registry authentication: HTTP Basic and distribution token auth (OAuth2
 * bearer tokens), with a token cache.
 *
 * How the registry client uses it, for each request:
 *
 * 1. `authorize(request, scopes)` adds what is known for the request's origin:
 *    Basic credentials when that origin asked for Basic, a (cached or freshly
 *    fetched) token when it asked for Bearer, nothing when it never challenged.
 * 2. On a 401, `challenge(response, scopes)` learns from the
 *    `WWW-Authenticate` header (remembers the challenge for the origin, drops
 *    a rejected token, widens the scopes on `insufficient_scope`, fetches a
 *    token) or fails with `Unauthorized` when nothing better can be done.
 *    Then the client retries once with `authorize`.
 *
 * Credentials are bound to one registry: `options.registry`, else the first
 * registry that asks for them (its origin: scheme, host and port; Docker
 * Hub's host names count as one registry). They go only to that registry and
 * to the token realm its challenge names, never to another origin, never over
 * plain http when the registry is https, never into URLs, messages, logs or
 * span attributes. Requests to any other origin are treated as anonymous.
 * (With a `CredentialsProvider`, credentials are looked up per host instead.)
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Challenge from "./Challenge.js"
import * as Creds from "./Credentials.js"
import * as Auth from "./internal/auth.js"
import * as Origin from "./internal/origin.js"
import * as Token from "./internal/token.js"
import * as RegistryError from "./RegistryError.js"

export {
  /**
   * Re-exported from `Credentials`.
   *
   * @since 0.1.0
   * @category tags
   */
  CredentialsProvider
} from "./Credentials.js"

/**
 * Re-exported from `Credentials`.
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials = Creds.Credentials

/**
 * What `authorize` and `challenge` may fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthError = RegistryError.Unauthorized | RegistryError.TransportError | RegistryError.UnexpectedResponse

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Add credentials to a request that needs `scopes`, from what is known of
   * the request's origin (cached challenge; cached or freshly fetched token).
   * Never sends credentials to an origin other than the one that challenged.
   * Without a known challenge the request goes out unchanged (anonymous).
   */
  readonly authorize: (
    request: HttpClientRequest.HttpClientRequest,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<HttpClientRequest.HttpClientRequest, AuthError>
  /**
   * Learn from a 401: record the challenge for the origin, drop an invalid
   * token, widen scopes on `insufficient_scope`, fetch a token if Bearer.
   * Fails with `Unauthorized` when nothing better can be done (no
   * credentials, credentials or token already refused, unsupported scheme).
   * An anonymous client whose token lacks a scope the registry asks for
   * (`insufficient_scope`) fails with `MissingCredentials`, the challenge
   * attached and the message saying that a wider scope was asked for.
   * After success the caller retries once with `authorize`.
   */
  readonly challenge: (
    response: HttpClientResponse.HttpClientResponse,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<void, AuthError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuthService extends Context.Tag("@effect-registry/core/AuthService")<AuthService, Service>() {}

/**
 * Options of the service (besides the credentials).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Allow a plain-http token realm for an https registry (the credentials and
   * the token would then cross the network in clear). Default `false`: such a
   * challenge fails with `Unauthorized` reason `InsecureRealm`.
   */
  readonly allowInsecureRealm?: boolean | undefined
  /**
   * Fetch tokens with Basic credentials through the OAuth2 password grant
   * (`POST realm` with `grant_type=password`), falling back to GET when the
   * token server answers 404 or 405. Default `false` (GET with Basic auth).
   *
   * Identity tokens always use the OAuth2 refresh-token grant, with no
   * fallback: a token server that refuses the POST (404/405) fails with
   * `Unauthorized` (`UnsupportedChallenge`, "does not support OAuth2 refresh
   * tokens"), because the GET flow has no standard way to carry a refresh
   * token and Docker's client sends it only by POST.
   */
  readonly oauth2?: boolean | undefined
  /** The OAuth2 `client_id`. Default `"effect-registry"`. */
  readonly clientId?: string | undefined
  /** How long a token request may take. Default 30 seconds. */
  readonly tokenTimeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions extends Options {
  /**
   * The credentials, for the `registry`. Default anonymous. Ignored when `provider` is given.
   */
  readonly credentials?: Creds.Credentials | undefined
  /**
   * The registry the `credentials` are for: its URL (`https://registry.example`)
   * or `host[:port]` (https). They are sent to this origin only (and to the
   * token realm its challenge names); every other origin is anonymous. Default:
   * the first registry that asks for credentials (a `RegistryClient` asks for
   * its own first). `NodeRegistry.layer` sets it to its `url`.
   */
  readonly registry?: string | undefined
  /** Look credentials up per registry host. */
  readonly provider?: Context.Tag.Service<Creds.CredentialsProvider> | undefined
}

/**
 * The scopes the distribution token server understands, per operation.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { AuthService } from "@effect-registry/core"
 *
 * AuthService.scopes.pull("alice/app") // "repository:alice/app:pull"
 * AuthService.scopes.mount("alice/app", "alice/src") // ["repository:alice/app:pull,push", "repository:alice/src:pull"]
 * ```
 */
export const scopes = {
  /** `repository:<repo>:pull`: read manifests, tags and blobs. */
  pull: (repository: string): string => `repository:${repository}:pull`,
  /** `repository:<repo>:pull,push`: upload blobs and manifests. */
  push: (repository: string): string => `repository:${repository}:pull,push`,
  /** `repository:<repo>:delete`: delete manifests and blobs. */
  delete: (repository: string): string => `repository:${repository}:delete`,
  /** `registry:catalog:*`: list repositories. */
  catalog: "registry:catalog:*",
  /** A cross-repository mount: push on the target, pull on the source. */
  mount: (repository: string, from: string): ReadonlyArray<string> => [
    `repository:${repository}:pull,push`,
    `repository:${from}:pull`
  ]
} as const

/**
 * Merge scope lists into the canonical list effect-registry asks tokens for:
 * space-separated scopes split, actions on one resource united, sorted.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { AuthService } from "@effect-registry/core"
 *
 * AuthService.mergeScopes(["repository:a:pull"], ["repository:a:push repository:b:pull"])
 * // ["repository:a:pull,push", "repository:b:pull"]
 * ```
 */
export const mergeScopes: (...lists: ReadonlyArray<Iterable<string>>) => ReadonlyArray<string> = Auth.mergeScopes

const ensureAuthorization = (names: ReadonlyArray<string | RegExp>): ReadonlyArray<string | RegExp> =>
  names.some((name) => typeof name === "string" ? name.toLowerCase() === "authorization" : name.test("authorization"))
    ? names
    : [...names, "authorization"]

/**
 * Make sure `authorization` is in `Headers.currentRedactedNames` for the rest
 * of the scope (so that HttpClient spans and printed requests show
 * `<redacted>`). Use it in a `Layer.scoped` constructor, as `make` does.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { AuthService } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const make = Effect.gen(function*() {
 *   yield* AuthService.redactAuthorization
 *   // ... build the client
 * })
 * ```
 */
export const redactAuthorization: Effect.Effect<void, never, Scope.Scope> = Effect.locallyScopedWith(
  Headers.currentRedactedNames,
  ensureAuthorization
)

/**
 * Run an effect with `authorization` in `Headers.currentRedactedNames`.
 *
 * @since 0.1.0
 * @category utils
 */
export const withRedactedAuthorization = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(self, Headers.currentRedactedNames, ensureAuthorization)

type Known =
  | { readonly _tag: "Basic" }
  | { readonly _tag: "Bearer"; readonly realm: URL; readonly service: string | undefined }

const identityOf = (credentials: Creds.Credentials): string => {
  switch (credentials._tag) {
    case "Basic":
      return `basic:${credentials.username}`
    case "IdentityToken":
      return `identity:${credentials.username ?? ""}`
    case "Bearer":
      return "bearer"
    case "Anonymous":
      return "anonymous"
  }
}

const updateMap = <K, V>(ref: Ref.Ref<ReadonlyMap<K, V>>, key: K, value: V | undefined) =>
  Ref.update(ref, (map) => {
    const next = new Map(map)
    if (value === undefined) next.delete(key)
    else next.set(key, value)
    return next
  })

/**
 * Build the service. Tokens are cached (Effect's `Cache`) until shortly
 * before they expire; token fetches run in the given scope, shared by all
 * callers waiting for the same token. A service used after that scope closed
 * still works: fetches then run in the callers' own fibers (a fetch the
 * closing scope interrupted is run again by those waiting for it).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { AuthService, Credentials } from "@effect-registry/core"
 * import * as Layer from "effect/Layer"
 *
 * const layer = Layer.scoped(AuthService.AuthService, AuthService.make({ credentials: Credentials.basic("alice", "s3cret") }))
 * ```
 */
export const make = Effect.fnUntraced(function*(options: MakeOptions = {}) {
  const http = yield* HttpClient.HttpClient
  yield* redactAuthorization
  const cache = yield* Token.makeCache
  const clientId = options.clientId ?? "effect-registry"
  const timeout = Duration.decode(options.tokenTimeout ?? "30 seconds")
  const allowInsecureRealm = options.allowInsecureRealm ?? false
  const oauth2 = options.oauth2 ?? false

  const challenges = yield* Ref.make<ReadonlyMap<string, Known>>(new Map())
  const widened = yield* Ref.make<ReadonlyMap<string, ReadonlyArray<string>>>(new Map())
  const refreshTokens = yield* Ref.make<ReadonlyMap<string, Redacted.Redacted<string>>>(new Map())
  const known = yield* Ref.make<ReadonlyMap<string, Creds.Credentials>>(new Map())

  const provider = options.provider
  const staticCredentials = options.credentials ?? Creds.anonymous
  // The registry the static credentials belong to: configured, else the first one that asks.
  const bound = yield* Ref.make(options.registry === undefined ? undefined : Origin.registryOf(options.registry))
  const boundRegistry = (url: URL): Effect.Effect<string | undefined> =>
    Ref.modify(bound, (current) => {
      const registry = current ?? (options.registry === undefined ? Origin.registryOf(url) : undefined)
      return [registry, registry]
    })
  const credentialsFor = (url: URL): Effect.Effect<Creds.Credentials, RegistryError.Unauthorized> => {
    if (provider === undefined) {
      if (staticCredentials._tag === "Anonymous") return Effect.succeed(staticCredentials)
      return Effect.map(
        boundRegistry(url),
        (registry) =>
          registry !== undefined && registry === Origin.registryOf(url) ? staticCredentials : Creds.anonymous
      )
    }
    const host = url.host
    return Ref.get(known).pipe(
      Effect.flatMap((map) => {
        const cached = map.get(host)
        return cached !== undefined
          ? Effect.succeed(cached)
          : provider.get(host).pipe(Effect.tap((credentials) => updateMap(known, host, credentials)))
      })
    )
  }
  // Why a registry gets no credentials although some are configured (another origin than theirs).
  const notBound = (url: URL): Effect.Effect<string | undefined> =>
    provider !== undefined || staticCredentials._tag === "Anonymous" ? Effect.succeed(undefined) : Effect.map(
      Ref.get(bound),
      (registry) =>
        registry !== undefined && registry !== Origin.registryOf(url)
          ? `credentials are configured for ${registry} only, and ${url.origin} is another origin, so none are sent ` +
            `to it; give this registry its own credentials (a CredentialsProvider, or another AuthService)`
          : undefined
    )
  // Whether anything of this service's registry started on https: then no token realm may be plain http.
  const httpsRegistry = (url: URL): Effect.Effect<boolean> =>
    url.protocol === "https:"
      ? Effect.succeed(true)
      : Effect.map(Ref.get(bound), (registry) => registry !== undefined && Origin.isHttps(registry))

  const widenKey = (origin: string, wanted: ReadonlyArray<string>) => `${origin} ${wanted.join(" ")}`

  const wantedScopes = (origin: string, requested: ReadonlyArray<string>) =>
    Effect.map(Ref.get(widened), (map) => {
      const canonical = Auth.mergeScopes(requested)
      return map.get(widenKey(origin, canonical)) ?? canonical
    })

  const tokenKey = (
    bearer: Extract<Known, { _tag: "Bearer" }>,
    wanted: ReadonlyArray<string>,
    credentials: Creds.Credentials
  ) => [bearer.realm.href, bearer.service ?? "", wanted.join(" "), identityOf(credentials)].join("\u0000")

  const fetchToken = (
    bearer: Extract<Known, { _tag: "Bearer" }>,
    wanted: ReadonlyArray<string>,
    credentials: Creds.Credentials
  ): Effect.Effect<Token.Token, AuthError> => {
    const refreshKey = [bearer.realm.href, bearer.service ?? "", identityOf(credentials)].join("\u0000")
    const configured = credentials._tag === "IdentityToken" ? credentials.token : undefined
    const usesOAuth2 = credentials._tag === "IdentityToken" || (credentials._tag === "Basic" && oauth2)
    const attempt = (refreshToken: Redacted.Redacted<string> | undefined) =>
      Token.fetchToken(http, {
        realm: bearer.realm,
        service: bearer.service,
        scopes: wanted,
        credentials,
        refreshToken,
        oauth2,
        clientId,
        timeout
      })
    return Effect.gen(function*() {
      const learned = (yield* Ref.get(refreshTokens)).get(refreshKey)
      const token = learned === undefined ? yield* attempt(configured) : yield* attempt(learned).pipe(
        // A refresh token the server gave earlier may have been revoked: start over from the configured credentials.
        Effect.catchTag(
          "Unauthorized",
          () => updateMap(refreshTokens, refreshKey, undefined).pipe(Effect.zipRight(attempt(configured)))
        )
      )
      if (usesOAuth2 && token.refreshToken !== undefined) {
        yield* updateMap(refreshTokens, refreshKey, token.refreshToken)
      }
      return token
    }).pipe(
      withRedactedAuthorization,
      Effect.withSpan("AuthService.fetchToken", {
        captureStackTrace: false,
        attributes: {
          "registry.auth.realm": `${bearer.realm.origin}${bearer.realm.pathname}`,
          "registry.auth.service": bearer.service ?? "",
          "registry.auth.scopes": wanted.join(" ")
        }
      })
    )
  }

  const tokenFor = (
    bearer: Extract<Known, { _tag: "Bearer" }>,
    wanted: ReadonlyArray<string>,
    credentials: Creds.Credentials
  ) => cache.get(tokenKey(bearer, wanted, credentials), fetchToken(bearer, wanted, credentials))

  // The `Authorization` value for a request, if any. Its span's exit holds the value as `Redacted`, never the
  // request carrying it in clear. It runs for every request: its span is made with its attributes and without
  // the call-site stack trace `Effect.fn` would capture (an `Error` per request).
  const authorization = (
    request: HttpClientRequest.HttpClientRequest,
    requested: ReadonlyArray<string>
  ): Effect.Effect<Redacted.Redacted<string> | undefined, AuthError> => {
    const url = Option.getOrUndefined(HttpClientRequest.toUrl(request))
    return Effect.withSpan(
      url === undefined ? Effect.succeed(undefined) : authorizationFor(url, requested),
      "AuthService.authorize",
      {
        captureStackTrace: false,
        attributes: url === undefined
          ? {}
          : { "registry.origin": url.origin, "registry.auth.scopes": requested.join(" ") }
      }
    )
  }

  const authorizationFor = (url: URL, requested: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const challenge = (yield* Ref.get(challenges)).get(url.origin)
      if (challenge === undefined) return undefined
      const credentials = yield* credentialsFor(url)
      if (challenge._tag === "Basic") {
        return credentials._tag === "Basic"
          ? Redacted.make(Auth.basicHeader(credentials.username, credentials.password))
          : undefined
      }
      if (credentials._tag === "Bearer") {
        return Redacted.make(`Bearer ${Redacted.value(credentials.token)}`)
      }
      const wanted = yield* wantedScopes(url.origin, requested)
      const token = yield* tokenFor(challenge, wanted, credentials)
      return Redacted.make(`Bearer ${Redacted.value(token.token)}`)
    })

  const authorize = (request: HttpClientRequest.HttpClientRequest, requested: ReadonlyArray<string>) =>
    Effect.map(
      authorization(request, requested),
      (value) => value === undefined ? request : Auth.withAuthorization(request, Redacted.value(value))
    )

  const challenge = Effect.fn("AuthService.challenge")(function*(
    response: HttpClientResponse.HttpClientResponse,
    requested: ReadonlyArray<string>
  ) {
    const request = response.request
    const description = Auth.describeRequest(request)
    const url = Option.getOrUndefined(HttpClientRequest.toUrl(request))
    if (url === undefined) {
      return yield* new RegistryError.TransportError({ reason: "InvalidUrl", request: description })
    }
    yield* Effect.annotateCurrentSpan({
      "registry.origin": url.origin,
      "registry.auth.scopes": requested.join(" "),
      "http.response.status_code": response.status
    })
    const failure = Challenge.unauthorized(response, requested)
    const fail = (reason: RegistryError.UnauthorizedReason, detail?: string) =>
      new RegistryError.Unauthorized({
        reason,
        status: failure.status,
        request: failure.request,
        challenge: failure.challenge,
        scopes: failure.scopes,
        detail: detail ?? failure.detail
      })
    const chosen = Challenge.select(Challenge.fromResponse(response))
    if (chosen === undefined) return yield* failure
    const credentials = yield* credentialsFor(url)
    const sent = Auth.authorizationScheme(request)

    if (Challenge.isBasic(chosen)) {
      if (credentials._tag !== "Basic") {
        return yield* fail(
          "MissingCredentials",
          (yield* notBound(url)) ?? "the registry asks for a username and password"
        )
      }
      if (sent === "basic") return yield* fail("RejectedCredentials")
      yield* updateMap(challenges, url.origin, { _tag: "Basic" } as const)
      return
    }

    // Bearer
    const realmText = Challenge.realm(chosen)
    const realm = realmText === undefined ? undefined : parseUrl(realmText, url)
    if (realm === undefined) {
      return yield* new RegistryError.UnexpectedResponse({
        reason: "Header",
        request: description,
        status: response.status,
        detail: realmText === undefined ? "Bearer challenge without realm" : "Bearer challenge with an invalid realm"
      })
    }
    // A realm may be on another origin (the token spec allows it), never on plain http for an https registry.
    if (
      (realm.protocol !== "https:" && realm.protocol !== "http:") ||
      (realm.protocol === "http:" && (yield* httpsRegistry(url)) && !allowInsecureRealm)
    ) {
      return yield* fail("InsecureRealm", `token realm ${realm.protocol}//${realm.host}`)
    }
    const bearer = { _tag: "Bearer", realm, service: Challenge.service(chosen) } as const
    const canonical = Auth.mergeScopes(requested)
    const previous = yield* wantedScopes(url.origin, requested)
    const wanted = Auth.mergeScopes(previous, Challenge.scopes(chosen))
    const error = Challenge.error(chosen)
    const sentToken = Auth.bearerOf(request)

    if (credentials._tag === "Bearer") {
      if (sentToken !== undefined && sentToken === Redacted.value(credentials.token)) {
        return yield* fail(error === "insufficient_scope" ? "InsufficientScope" : "InvalidToken")
      }
      yield* updateMap(challenges, url.origin, bearer)
      return
    }

    if (sentToken !== undefined) {
      const cached = yield* cache.peek(tokenKey(bearer, wanted, credentials))
      if (
        error === "insufficient_scope" && cached !== undefined && Redacted.value(cached.token) === sentToken
      ) {
        // We already asked for every scope the registry names: the token server granted less.
        // Anonymous: still MissingCredentials (logging in is the fix), saying why.
        return yield* credentials._tag === "Anonymous"
          ? fail(
            "MissingCredentials",
            "no credentials are configured, and the registry asked for a wider scope (insufficient_scope) " +
              "than the token server grants anonymously; log in to get it"
          )
          : fail("InsufficientScope")
      }
      if (error !== "insufficient_scope") yield* cache.invalidate(sentToken)
    }
    yield* updateMap(challenges, url.origin, bearer)
    if (wanted.join(" ") !== canonical.join(" ")) {
      yield* updateMap(widened, widenKey(url.origin, canonical), wanted)
    }
    yield* tokenFor(bearer, wanted, credentials)
  })

  return AuthService.of({ authorize, challenge })
})

const parseUrl = (text: string, base: URL): URL | undefined => {
  try {
    const url = new URL(text, base)
    url.username = ""
    url.password = ""
    url.hash = ""
    return url
  } catch {
    return undefined
  }
}

/**
 * The service with fixed credentials (default anonymous).
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { AuthService, Credentials } from "@effect-registry/core"
 *
 * const AuthLive = AuthService.layer({ credentials: Credentials.basic("alice", "s3cret") })
 * ```
 */
export const layer = (options: MakeOptions = {}): Layer.Layer<AuthService, never, HttpClient.HttpClient> =>
  Layer.scoped(AuthService, make(options))

/**
 * The service for anonymous access (anonymous tokens where the token server grants them).
 *
 * @since 0.1.0
 * @category layers
 */
export const anonymous: Layer.Layer<AuthService, never, HttpClient.HttpClient> = layer()

/**
 * The service with credentials looked up per registry host by the
 * `CredentialsProvider` in context, with `options`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { AuthService, Credentials } from "@effect-registry/core"
 * import * as Layer from "effect/Layer"
 *
 * const AuthLive = AuthService.layerProviderWith({ oauth2: true }).pipe(
 *   Layer.provide(Credentials.layerHosts({ "registry.example": Credentials.basic("alice", "s3cret") }))
 * )
 * ```
 */
export const layerProviderWith = (
  options: Options = {}
): Layer.Layer<AuthService, never, HttpClient.HttpClient | Creds.CredentialsProvider> =>
  Layer.scoped(
    AuthService,
    Effect.flatMap(Creds.CredentialsProvider, (provider) => make({ ...options, provider }))
  )

/**
 * The service with credentials looked up per registry host by the
 * `CredentialsProvider` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerProvider: Layer.Layer<
  AuthService,
  never,
  HttpClient.HttpClient | Creds.CredentialsProvider
> = layerProviderWith()

/**
 * Where `layerConfig` reads its settings. Each is optional; the defaults read
 * the environment variables named below.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  /** Default `REGISTRY_USERNAME`. */
  readonly username?: Config.Config<string | undefined> | undefined
  /** Default `REGISTRY_PASSWORD`. */
  readonly password?: Config.Config<Redacted.Redacted<string> | undefined> | undefined
  /** An OAuth2 refresh token. Default `REGISTRY_IDENTITY_TOKEN`. */
  readonly identityToken?: Config.Config<Redacted.Redacted<string> | undefined> | undefined
  /** A static registry token. Default `REGISTRY_TOKEN`. */
  readonly registryToken?: Config.Config<Redacted.Redacted<string> | undefined> | undefined
  /** Default `REGISTRY_ALLOW_INSECURE_REALM` (false). */
  readonly allowInsecureRealm?: Config.Config<boolean | undefined> | undefined
  /** Default `REGISTRY_OAUTH2` (false). */
  readonly oauth2?: Config.Config<boolean | undefined> | undefined
}

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

/**
 * Credentials from `Config`: a registry token wins, then an identity token
 * (with the optional username), then username and password (both needed).
 * Nothing configured means anonymous.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { AuthService } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const credentials = yield* AuthService.credentialsConfig()
 *   return credentials._tag
 * })
 * ```
 */
export const credentialsConfig = (
  options: ConfigOptions = {}
): Effect.Effect<Creds.Credentials, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const c = yield* Config.all({
      username: options.username ?? optional(Config.string("REGISTRY_USERNAME")),
      password: options.password ?? optional(Config.redacted("REGISTRY_PASSWORD")),
      identityToken: options.identityToken ?? optional(Config.redacted("REGISTRY_IDENTITY_TOKEN")),
      registryToken: options.registryToken ?? optional(Config.redacted("REGISTRY_TOKEN"))
    })
    if (c.registryToken !== undefined) return Creds.bearer(c.registryToken)
    if (c.identityToken !== undefined) return Creds.identityToken(c.identityToken, c.username)
    if (c.username !== undefined && c.password !== undefined) return Creds.basic(c.username, c.password)
    if (c.username !== undefined) {
      return yield* Effect.fail(ConfigError.MissingData([], "a registry username is configured without a password"))
    }
    if (c.password !== undefined) {
      return yield* Effect.fail(ConfigError.MissingData([], "a registry password is configured without a username"))
    }
    return Creds.anonymous
  })

/**
 * The service configured from `Config` (see `credentialsConfig`).
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { AuthService } from "@effect-registry/core"
 * import * as Config from "effect/Config"
 *
 * // REGISTRY_USERNAME / REGISTRY_PASSWORD by default
 * const AuthLive = AuthService.layerConfig()
 * const Custom = AuthService.layerConfig({
 *   username: Config.string("MY_USER"),
 *   password: Config.redacted("MY_PASSWORD")
 * })
 * ```
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<AuthService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.scoped(
    AuthService,
    Effect.gen(function*() {
      const credentials = yield* credentialsConfig(options)
      const flags = yield* Config.all({
        allowInsecureRealm: options.allowInsecureRealm ?? optional(Config.boolean("REGISTRY_ALLOW_INSECURE_REALM")),
        oauth2: options.oauth2 ?? optional(Config.boolean("REGISTRY_OAUTH2"))
      })
      return yield* make({ credentials, allowInsecureRealm: flags.allowInsecureRealm, oauth2: flags.oauth2 })
    })
  )
