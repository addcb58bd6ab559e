/**
 * Rate-limit headers of a registry's answers: Docker Hub's `ratelimit-limit`,
 * `ratelimit-remaining` (`100;w=21600`: 100 pulls per 21600 seconds) and
 * `docker-ratelimit-source` (what the limit is counted against), and the
 * `x-ratelimit-*` spellings other registries use. Every successful manifest
 * GET (`getManifest`) and HEAD (`manifestHead`) carries them when the registry
 * sent any; {@link check} asks with a HEAD, which Docker Hub does not count as
 * a pull.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Digest from "./Digest.js"

/**
 * The rate-limit headers of one answer, as the registry sent them (each at most
 * 256 characters), with the counts and window parsed when they have Docker
 * Hub's `count;w=seconds` form.
 *
 * @since 0.2.0
 * @category models
 */
export interface RateLimit {
  readonly limit?: string | undefined
  readonly remaining?: string | undefined
  readonly reset?: string | undefined
  /** `docker-ratelimit-source`: the address or account the limit is counted against. */
  readonly source?: string | undefined
  /** The number of requests allowed in the window. */
  readonly limitCount?: number | undefined
  /** The number of requests left in the window. */
  readonly remainingCount?: number | undefined
  /** The window in seconds (`w=`). */
  readonly windowSeconds?: number | undefined
}

/**
 * What a manifest HEAD told: the digest (and, when sent, media type and size)
 * and the rate-limit headers.
 *
 * @since 0.2.0
 * @category models
 */
export interface ManifestHead {
  readonly digest: Digest.Digest
  readonly mediaType: string | undefined
  readonly size: number | undefined
  readonly rateLimit: RateLimit | undefined
}

const MaxValue = 256

const pick = (
  headers: Readonly<Record<string, string | undefined>>,
  names: ReadonlyArray<string>
): string | undefined => {
  for (const name of names) {
    const v = headers[name]
    if (v !== undefined && v.trim().length > 0) return v.trim().slice(0, MaxValue)
  }
  return undefined
}

const count = (s: string): number | undefined => {
  const m = /^\s*(\d{1,15})\s*(?:[;,]|$)/.exec(s)
  return m === null ? undefined : Number(m[1])
}

const windowOf = (s: string): number | undefined => {
  const m = /;\s*w\s*=\s*(\d{1,15})\s*(?:;|$)/.exec(s)
  return m === null ? undefined : Number(m[1])
}

/**
 * The rate-limit headers among `headers` (names in lower case, as
 * `@effect/platform` gives them); `undefined` when there are none.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-registry/core"
 *
 * const rl = RateLimit.fromHeaders({ "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600" })
 * // rl?.remainingCount === 76, rl?.windowSeconds === 21600
 * ```
 *
 * @since 0.2.0
 * @category parsing
 */
export const fromHeaders = (headers: Readonly<Record<string, string | undefined>>): RateLimit | undefined => {
  const limit = pick(headers, ["ratelimit-limit", "x-ratelimit-limit"])
  const remaining = pick(headers, ["ratelimit-remaining", "x-ratelimit-remaining"])
  const reset = pick(headers, ["ratelimit-reset", "x-ratelimit-reset"])
  const source = pick(headers, ["docker-ratelimit-source"])
  if (limit === undefined && remaining === undefined && reset === undefined && source === undefined) return undefined
  const limitCount = limit === undefined ? undefined : count(limit)
  const remainingCount = remaining === undefined ? undefined : count(remaining)
  const windowSeconds = (limit === undefined ? undefined : windowOf(limit)) ??
    (remaining === undefined ? undefined : windowOf(remaining))
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(reset !== undefined ? { reset } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(limitCount !== undefined ? { limitCount } : {}),
    ...(remainingCount !== undefined ? { remainingCount } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {})
  }
}

/**
 * The rate limit a registry reports for pulling `reference` of `repository`,
 * asked with a manifest HEAD (no pull counted on Docker Hub). The result's
 * `rateLimit` is `undefined` when the registry sends no such headers (most
 * registries other than Docker Hub).
 *
 * @example
 * ```ts
 * import { RateLimit, RegistryClient } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 *
 * const left = Effect.flatMap(RegistryClient.RegistryClient, (client) =>
 *   RateLimit.check(client, "library/alpine", "latest")
 * )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const check = <E>(
  // what it needs of a `RegistryClient.Service` (named structurally: the client's module imports this one)
  client: {
    readonly manifestHead: (repository: string, reference: string) => Effect.Effect<ManifestHead, E>
  },
  repository: string,
  reference: string
): Effect.Effect<ManifestHead, E> =>
  client.manifestHead(repository, reference).pipe(
    Effect.withSpan("RateLimit.check", { attributes: { repository, reference } })
  )
