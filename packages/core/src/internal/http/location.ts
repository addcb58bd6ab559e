/**
 * URLs the registry sends (`Location`, `Link`): resolved, and held to the
 * registry's origin.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as RegistryError from "../../RegistryError.js"
import * as Origin from "../origin.js"
import type { Env } from "./env.js"
import type { ErrorContext, ErrorFields } from "./errors.js"

/**
 * Resolves a `Location` header (relative or absolute) against the URL of the request.
 *
 * @since 0.1.0
 */
export const resolveLocation = (
  location: string | undefined,
  base: string,
  fields: ErrorFields | ErrorContext
): Effect.Effect<string, RegistryError.UnexpectedResponse> => {
  if (location === undefined || location.length === 0) {
    return Effect.fail(
      new RegistryError.UnexpectedResponse({ ...fields, reason: "Header", detail: "missing Location header" })
    )
  }
  const url = Either.try(() => new URL(location, base))
  if (Either.isLeft(url) || (url.right.protocol !== "http:" && url.right.protocol !== "https:")) {
    return Effect.fail(
      new RegistryError.UnexpectedResponse({ ...fields, reason: "Header", detail: "malformed Location header" })
    )
  }
  return Effect.succeed(url.right.toString())
}

/**
 * Checks that a URL the registry sent (`what`: a `Link`, an upload
 * `Location`) stays on the registry's origin: another origin, or plain http
 * after https, fails with `UnexpectedResponse` (reason `ForeignOrigin`) before
 * anything is sent there. Only the target's origin is named in the error.
 *
 * @since 0.1.0
 */
export const sameRegistry = (
  env: Pick<Env, "registry">,
  url: string,
  fields: ErrorFields | ErrorContext,
  what: string
): Effect.Effect<string, RegistryError.UnexpectedResponse> => {
  if (Origin.sameRegistry(url, env.registry)) return Effect.succeed(url)
  const target = Origin.registryOf(url) ?? "<invalid url>"
  const registry = Origin.registryOf(env.registry) ?? env.registry
  return Effect.fail(
    new RegistryError.UnexpectedResponse({
      ...fields,
      reason: "ForeignOrigin",
      detail: `the registry's ${what} points at ${target}, not at the registry (${registry}); it is not followed, ` +
        `so that neither credentials nor data leave the registry. Behind a proxy, make the registry build its ` +
        `URLs from its public address (distribution: http.host, or the proxy's X-Forwarded-Proto and -Host)`
    })
  )
}

/**
 * {@link resolveLocation}, then {@link sameRegistry}: the `Location` of an
 * upload session, which must stay on the registry's origin.
 *
 * @since 0.1.0
 */
export const followLocation = (
  env: Pick<Env, "registry">,
  location: string | undefined,
  base: string,
  fields: ErrorFields | ErrorContext
): Effect.Effect<string, RegistryError.UnexpectedResponse> =>
  Effect.flatMap(resolveLocation(location, base, fields), (url) => sameRegistry(env, url, fields, "Location"))
