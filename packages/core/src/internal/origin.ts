/**
 * Which registry a URL belongs to, for binding credentials and for the
 * follow-up URLs (`Link`, `Location`, redirects) a registry sends.
 *
 * A registry is its origin (scheme, host, port), except that Docker Hub's
 * host names are one registry.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/** Docker Hub's host names: one registry for credentials and follow-ups. */
const hubAliases: ReadonlySet<string> = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com"
])

const schemeRe = /^[a-z][a-z0-9+.-]*:\/\//i

// registryOf's answers for the last strings it was asked about (see there)
const memoSize = 64
const memoLength = 2048
const memo = new Map<string, string | undefined>()

/**
 * The registry a URL (or a `host[:port]`, taken as https) belongs to, as
 * `scheme://host[:port]` with Docker Hub's aliases as `https://docker.io`.
 * `undefined` when it does not parse or is not http(s).
 *
 * @since 0.1.0
 */
export const registryOf = (url: string | URL): string | undefined => {
  if (typeof url !== "string") return registryOfUrl(url)
  // every request asks this of its URL and of the client's registry URL: the answers for the last few strings
  // are kept (a pure function of the string; at most `memoSize` strings of at most `memoLength` characters)
  const known = memo.get(url)
  if (known !== undefined || memo.has(url)) return known
  const registry = registryOfUrl(
    Either.getOrUndefined(Either.try(() => new URL(schemeRe.test(url) ? url : `https://${url}`)))
  )
  if (url.length <= memoLength) {
    if (memo.size >= memoSize) memo.clear()
    memo.set(url, registry)
  }
  return registry
}

const registryOfUrl = (parsed: URL | undefined): string | undefined => {
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) return undefined
  const hostname = parsed.hostname.toLowerCase().replace(/\.$/, "")
  if (hubAliases.has(hostname) && parsed.port === "") return `${parsed.protocol}//docker.io`
  return parsed.origin
}

/**
 * Whether two URLs belong to the same registry: same scheme, host and port
 * (Docker Hub's aliases counting as one host). Anything unparsable is never the same.
 *
 * @since 0.1.0
 */
export const sameRegistry = (a: string | URL, b: string | URL): boolean => {
  const x = registryOf(a)
  return x !== undefined && x === registryOf(b)
}

/**
 * Whether a URL is https.
 *
 * @since 0.1.0
 */
export const isHttps = (url: string | URL): boolean => registryOf(url)?.startsWith("https:") === true
