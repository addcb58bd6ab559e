/**
 * The run-time side of the error unions derived from lists of tags (the types are
 * `RegistryError.ByTag`): an operation's failure narrowed to its list.
 *
 * @since 0.1.0
 */
import * as RegistryError from "../RegistryError.js"

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
export const narrow = <T extends RegistryError.Tag>(tags: ReadonlyArray<T>) => {
  const isAllowed = RegistryError.isOneOf(tags)
  return (e: RegistryError.RegistryError): RegistryError.ByTag<T> | RegistryError.UnexpectedResponse =>
    isAllowed(e) ? e : toUnexpected(e)
}
