/**
 * One layer for Node users: a `RegistryClient` for one registry with its
 * `AuthService`, an undici `HttpClient` (keep-alive pool, timeouts, TLS
 * settings) and the `node:crypto` `Hash`.
 *
 * Credentials come from the options (`credentials`, or `username` and
 * `password`), else from Docker / podman configuration when `dockerConfig`
 * is set, else the client is anonymous.
 *
 * @since 0.1.0
 */
import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import type * as Hash from "@effect-registry/core/Hash"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as RegistryError from "@effect-registry/core/RegistryError"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as DockerConfig from "./DockerConfig.js"
import * as NodeHash from "./NodeHash.js"
import * as NodeHttp from "./NodeHttp.js"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The registry: `host[:port]` (https, or http with `plainHttp`) or a full
   * URL (`https://registry.example/prefix`), whose scheme is used as written.
   */
  readonly url: string
  /** Basic credentials (with `password`). */
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted<string> | undefined
  /** Any credentials; wins over `username` / `password`. */
  readonly credentials?: Credentials.Credentials | undefined
  /**
   * Without credentials in the options, read them from Docker / podman
   * configuration (`config.json`, `auth.json`, credential helpers). `true`
   * uses the default locations; an object gives {@link DockerConfig.Options}.
   */
  readonly dockerConfig?: boolean | DockerConfig.Options | undefined
  /** TLS for the registry: a CA to trust (PEM or path), a client certificate, a server name. */
  readonly tls?: NodeHttp.TlsOptions | undefined
  /** Speak plain http to a `host[:port]`. Never assumed. */
  readonly plainHttp?: boolean | undefined
  /** Skip verification of the registry's certificate. Never assumed. */
  readonly insecure?: boolean | undefined
  /** Connect, first-byte, body-idle and keep-alive timeouts. */
  readonly timeouts?: NodeHttp.Timeouts | undefined
  /** Connections per origin. Default 32. */
  readonly connections?: number | undefined
  /** Options of the `AuthService` (OAuth2, token timeout...). */
  readonly auth?: AuthService.Options | undefined
  /** Options of the `RegistryClient` (retries, limits...). */
  readonly client?: Omit<RegistryClient.Options, "url"> | undefined
}

/**
 * @since 0.1.0
 * @category errors
 */
export type Error = RegistryClient.ResponseError | NodeHttp.NodeHttpError

const schemeRe = /^[a-z][a-z0-9+.-]*:\/\//i

/**
 * The base URL {@link layer} uses for `url`: a full URL as written, else
 * `https://host[:port]` (`http://` with `plainHttp`).
 *
 * @example
 * ```ts
 * import { NodeRegistry } from "@effect-registry/node"
 *
 * NodeRegistry.baseUrl({ url: "127.0.0.1:5000", plainHttp: true }) // "http://127.0.0.1:5000"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const baseUrl = (options: Pick<Options, "url" | "plainHttp">): string =>
  schemeRe.test(options.url) ? options.url : NodeHttp.registryUrl(options.url, { plainHttp: options.plainHttp })

const hostOf = (url: string): string | undefined =>
  Either.getOrUndefined(Either.try(() => new URL(url).host.toLowerCase()))

const credentialsOf = (
  options: Options
): Either.Either<Credentials.Credentials | undefined, RegistryError.Unauthorized> => {
  if (options.credentials !== undefined) return Either.right(options.credentials)
  if (options.username !== undefined) return Either.right(Credentials.basic(options.username, options.password ?? ""))
  if (options.password !== undefined) {
    return Either.left(
      new RegistryError.Unauthorized({
        reason: "MissingCredentials",
        detail: "a password was given without a username"
      })
    )
  }
  return Either.right(undefined)
}

/**
 * A `RegistryClient` for one registry, with everything it needs on Node.
 * Building it pings the registry (`GET /v2/`).
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { NodeRegistry } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const tags = Effect.flatMap(RegistryClient.RegistryClient, (client) => client.tags("team/app")).pipe(
 *   Effect.provide(NodeRegistry.layer({ url: "registry.example:5000", username: "alice", password: "s3cret" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  RegistryClient.RegistryClient | AuthService.AuthService | HttpClient.HttpClient | Hash.Hash,
  Error
> => {
  const url = baseUrl(options)
  const host = hostOf(url)
  const { ca, ...perHost } = options.tls ?? {}
  const http = NodeHttp.layer({
    timeouts: options.timeouts,
    connections: options.connections,
    // A CA is added to the trusted roots for every origin (the token server often shares it).
    tls: ca !== undefined ? { ca } : undefined,
    registries: host !== undefined
      ? { [host]: { ...perHost, ...(options.insecure !== undefined ? { insecure: options.insecure } : {}) } }
      : undefined
  })
  const credentials = credentialsOf(options)
  if (Either.isLeft(credentials)) return Layer.fail(credentials.left)
  const authOptions = options.auth ?? {}
  const auth = credentials.right === undefined && options.dockerConfig !== undefined && options.dockerConfig !== false
    ? AuthService.layerProviderWith(authOptions).pipe(
      Layer.provide(DockerConfig.layer(options.dockerConfig === true ? {} : options.dockerConfig))
    )
    // the credentials are bound to this registry's origin: never sent anywhere else
    : AuthService.layer({ ...authOptions, credentials: credentials.right, registry: url })
  const client = RegistryClient.layer({ ...options.client, url })
  return client.pipe(
    Layer.provideMerge(Layer.merge(auth, NodeHash.layer)),
    Layer.provideMerge(http)
  )
}
