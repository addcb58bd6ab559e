/**
 * Registry credentials, with every secret kept `Redacted`, and the
 * `CredentialsProvider` port that looks them up per registry host (the node
 * package plugs Docker's config file and credential helpers into it).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as RegistryError from "./RegistryError.js"

/**
 * No credentials: only anonymous tokens are fetched.
 *
 * @since 0.1.0
 * @category models
 */
export interface Anonymous {
  readonly _tag: "Anonymous"
}

/**
 * A username and password: sent as HTTP Basic to a registry that asks for
 * Basic, and to the token server of a registry that asks for Bearer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Basic {
  readonly _tag: "Basic"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * An OAuth2 refresh token (Docker's `identitytoken`): exchanged at the token
 * server with `grant_type=refresh_token`.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdentityToken {
  readonly _tag: "IdentityToken"
  readonly username?: string | undefined
  readonly token: Redacted.Redacted<string>
}

/**
 * A static registry token, sent as `Authorization: Bearer` to the registry
 * that asks for Bearer (Docker's `registrytoken`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Bearer {
  readonly _tag: "Bearer"
  readonly token: Redacted.Redacted<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Credentials = Anonymous | Basic | IdentityToken | Bearer

const secret = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/**
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 *
 * const none = Credentials.anonymous
 * ```
 */
export const anonymous: Credentials = { _tag: "Anonymous" }

/**
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const alice = Credentials.basic("alice", Redacted.make("s3cret"))
 * console.log(String(alice.password)) // <redacted>
 * ```
 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Credentials => ({
  _tag: "Basic",
  username,
  password: secret(password)
})

/**
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 *
 * const refresh = Credentials.identityToken("eyJhbGciOi...", "alice")
 * ```
 */
export const identityToken = (token: string | Redacted.Redacted<string>, username?: string | undefined): Credentials =>
  username === undefined ?
    { _tag: "IdentityToken", token: secret(token) } :
    { _tag: "IdentityToken", username, token: secret(token) }

/**
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 *
 * const token = Credentials.bearer("registry-token")
 * ```
 */
export const bearer = (token: string | Redacted.Redacted<string>): Credentials => ({
  _tag: "Bearer",
  token: secret(token)
})

/**
 * @since 0.1.0
 * @category guards
 */
export const isAnonymous = (self: Credentials): self is Anonymous => self._tag === "Anonymous"

/**
 * Looks up the credentials for a registry host (`host[:port]`, as in the
 * request URL). The `AuthService` asks once per host and keeps the answer for
 * its lifetime, so a provider may be slow (a credential helper process).
 *
 * @since 0.1.0
 * @category tags
 */
export class CredentialsProvider extends Context.Tag("@effect-registry/core/CredentialsProvider")<
  CredentialsProvider,
  {
    readonly get: (registryHost: string) => Effect.Effect<Credentials, RegistryError.Unauthorized>
  }
>() {}

/**
 * A provider that answers the same credentials for every host.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 *
 * const provider = Credentials.layerStatic(Credentials.basic("alice", "s3cret"))
 * ```
 */
export const layerStatic = (credentials: Credentials): Layer.Layer<CredentialsProvider> =>
  Layer.succeed(CredentialsProvider, { get: () => Effect.succeed(credentials) })

/**
 * A provider from a table `host[:port] → credentials`; other hosts are anonymous.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 *
 * const provider = Credentials.layerHosts({ "127.0.0.1:5000": Credentials.basic("alice", "s3cret") })
 * ```
 */
export const layerHosts = (hosts: Readonly<Record<string, Credentials>>): Layer.Layer<CredentialsProvider> => {
  const table = new Map(Object.entries(hosts).map(([host, credentials]) => [host.toLowerCase(), credentials]))
  return Layer.succeed(CredentialsProvider, {
    get: (host) => Effect.succeed(table.get(host.toLowerCase()) ?? anonymous)
  })
}
