/**
 * Error unions derived from lists of tags: the type (`ByTag`) and the runtime
 * narrowing come from the same list, so they cannot drift apart.
 *
 * @since 0.1.0
 */
import * as RegistryError from "../RegistryError.js"

/**
 * The tag of any registry error.
 *
 * @since 0.1.0
 */
export type Tag = RegistryError.RegistryError["_tag"]

/**
 * The registry errors whose tag is one of `T`.
 *
 * @since 0.1.0
 */
export type ByTag<T extends Tag> = Extract<RegistryError.RegistryError, { readonly _tag: T }>

/**
 * A guard for the errors whose tag is in `tags`.
 *
 * @since 0.1.0
 */
export const isOneOf = <T extends Tag>(tags: ReadonlyArray<T>) => {
  const allowed: ReadonlySet<string> = new Set(tags)
  return (e: RegistryError.RegistryError): e is ByTag<T> => allowed.has(e._tag)
}

// Keeps what the error said of the request (status, the registry's `errors[]`, the detail), the error itself as `cause`.
const toUnexpected = (e: RegistryError.RegistryError): RegistryError.UnexpectedResponse =>
  new RegistryError.UnexpectedResponse({
    ...(e.repository !== undefined ? { repository: e.repository } : {}),
    ...(e.reference !== undefined ? { reference: e.reference } : {}),
    ...(e.digest !== undefined ? { digest: e.digest } : {}),
    ...(e.request !== undefined ? { request: e.request } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.errors !== undefined ? { errors: e.errors } : {}),
    reason: "Status",
    detail: `${e._tag} is not an answer this operation expects` +
      (e.detail !== undefined && e.detail.length > 0 ? ` (${e.detail})` : ""),
    cause: e
  })

/**
 * The mapping of any registry error onto the union of `tags`: its members pass
 * unchanged, any other (an error code the registry is not expected to send on
 * that route, a status such as 405 or 416 where it means nothing) becomes
 * `UnexpectedResponse` (reason `Status`), keeping the status, the registry's
 * `errors[]` and the detail, with the original error as `cause`.
 *
 * @since 0.1.0
 */
export const narrow = <T extends Tag>(tags: ReadonlyArray<T>) => {
  const isAllowed = isOneOf(tags)
  return (e: RegistryError.RegistryError): ByTag<T> | RegistryError.UnexpectedResponse =>
    isAllowed(e) ? e : toUnexpected(e)
}
