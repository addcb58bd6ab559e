/**
 * Every answer that is not a success mapped to its `RegistryError`, in one
 * place: from the status and the registry's `errors[].code`.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ResponseError } from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import { readBounded } from "./body.js"
import type { Env } from "./env.js"
import { contextFields, describeRequest, type ErrorContext, type ErrorFields } from "./errors.js"
import * as Range from "./range.js"

/**
 * Every error an answer can be mapped to.
 *
 * @since 0.1.0
 */
export type ResponseFailure = ResponseError

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(RegistryError.ErrorBody))

/**
 * The distribution error entries of a body, when it is one.
 *
 * @since 0.1.0
 */
export const parseErrorBody = (bytes: Uint8Array): ReadonlyArray<RegistryError.ErrorEntry> | undefined => {
  if (bytes.length === 0) return undefined
  const text = new TextDecoder("utf-8").decode(bytes)
  return Option.getOrUndefined(Option.map(decodeErrorBody(text), (body) => body.errors))
}

/** @since 0.1.0 */
export const rateLimit = (headers: Headers.Headers): RegistryError.RateLimit | undefined => {
  const pick = (names: ReadonlyArray<string>) => {
    for (const name of names) {
      const v = headers[name]
      if (v !== undefined) return v
    }
    return undefined
  }
  const limit = pick(["ratelimit-limit", "x-ratelimit-limit"])
  const remaining = pick(["ratelimit-remaining", "x-ratelimit-remaining"])
  const reset = pick(["ratelimit-reset", "x-ratelimit-reset"])
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(reset !== undefined ? { reset } : {})
  }
}

/**
 * Options of the status mapping.
 *
 * @since 0.1.0
 */
export interface MapOptions {
  readonly scopes: ReadonlyArray<string>
  /** The error for a 404 with no distribution body (a HEAD, or an empty body). */
  readonly notFound?: ((fields: ErrorFields) => ResponseFailure) | undefined
}

/**
 * Maps an answer that is not a success to its `RegistryError`, from the status and
 * the registry's `errors[].code`. Reads at most `env.errorBodyLimit` bytes.
 *
 * @since 0.1.0
 */
export const toError = (
  env: Env,
  response: HttpClientResponse.HttpClientResponse,
  ctx: ErrorContext,
  options: MapOptions
): Effect.Effect<ResponseFailure> =>
  Effect.gen(function*() {
    const method = response.request.method
    const body = method === "HEAD"
      ? { bytes: new Uint8Array(0), truncated: false }
      : yield* readBounded(response, env.errorBodyLimit, env.bodyTimeout).pipe(
        Effect.orElseSucceed(() => ({ bytes: new Uint8Array(0), truncated: false }))
      )
    const entries = parseErrorBody(body.bytes)
    const now = yield* Clock.currentTimeMillis
    return classify(response, entries, body.bytes.length === 0, ctx, options, now, env)
  })

const classify = (
  response: HttpClientResponse.HttpClientResponse,
  entries: ReadonlyArray<RegistryError.ErrorEntry> | undefined,
  emptyBody: boolean,
  ctx: ErrorContext,
  options: MapOptions,
  now: number,
  env: Env
): ResponseFailure => {
  const status = response.status
  const fields: ErrorFields = {
    ...contextFields(ctx),
    request: describeRequest(response.request.method, response.request.url),
    status,
    ...(entries !== undefined && entries.length > 0 ? { errors: entries } : {})
  }
  const retryAfter = Option.getOrUndefined(Range.parseRetryAfter(response.headers["retry-after"], now))
  const codes = (entries ?? []).map((e) => e.code.toUpperCase())
  const has = (code: string) => codes.includes(code)

  if (status === 401 || has("UNAUTHORIZED")) {
    const base = env.unauthorized(response, options.scopes)
    return new RegistryError.Unauthorized({
      ...fields,
      reason: base.reason,
      ...(base.challenge !== undefined ? { challenge: base.challenge } : {}),
      ...(base.scopes !== undefined ? { scopes: base.scopes } : { scopes: options.scopes }),
      ...(base.detail !== undefined ? { detail: base.detail } : {})
    })
  }
  if (status === 429 || has("TOOMANYREQUESTS")) {
    const limits = rateLimit(response.headers)
    return new RegistryError.TooManyRequests({
      ...fields,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(limits !== undefined ? { rateLimit: limits } : {})
    })
  }
  if (has("DENIED") || status === 403) return new RegistryError.Denied(fields)
  for (const code of codes) {
    switch (code) {
      case "MANIFEST_UNKNOWN":
        return new RegistryError.ManifestUnknown(fields)
      case "BLOB_UNKNOWN":
        return new RegistryError.BlobUnknown(fields)
      case "NAME_UNKNOWN":
        return new RegistryError.NameUnknown(fields)
      case "NAME_INVALID":
        return new RegistryError.NameInvalid(fields)
      case "TAG_INVALID":
        return new RegistryError.TagInvalid(fields)
      case "DIGEST_INVALID":
        return new RegistryError.DigestInvalid(fields)
      case "MANIFEST_INVALID":
        return new RegistryError.ManifestInvalid({ ...fields, reason: "Registry" })
      case "MANIFEST_BLOB_UNKNOWN":
        return new RegistryError.ManifestBlobUnknown(fields)
      case "MANIFEST_UNVERIFIED":
        return new RegistryError.ManifestUnverified(fields)
      case "BLOB_UPLOAD_UNKNOWN":
        return new RegistryError.BlobUploadUnknown(fields)
      case "BLOB_UPLOAD_INVALID":
      case "SIZE_INVALID":
        return new RegistryError.BlobUploadInvalid(fields)
      case "RANGE_INVALID":
        return new RegistryError.RangeInvalid(fields)
      case "UNSUPPORTED":
        return new RegistryError.Unsupported(fields)
      case "PAGINATION_NUMBER_INVALID":
        return new RegistryError.PaginationNumberInvalid(fields)
    }
  }
  if (status === 416) return new RegistryError.RangeInvalid(fields)
  if (status === 405) return new RegistryError.Unsupported(fields)
  if (status >= 500) {
    return new RegistryError.RegistryUnavailable({ ...fields, ...(retryAfter !== undefined ? { retryAfter } : {}) })
  }
  if (status === 404 && entries === undefined && emptyBody && options.notFound !== undefined) {
    return options.notFound(fields)
  }
  if (status === 404 && entries === undefined) {
    return new RegistryError.UnexpectedResponse({
      ...fields,
      reason: "Status",
      detail: "404 without a distribution error body (no such route: not a registry endpoint, or not supported)"
    })
  }
  return new RegistryError.UnexpectedResponse({
    ...fields,
    reason: "Status",
    ...(codes.length > 0 ? { detail: `unexpected error code ${codes.join(", ")}` } : {})
  })
}

/**
 * Succeeds with the answer when its status is one of `ok`, fails with its mapped error otherwise.
 *
 * @since 0.1.0
 */
export const expect = (
  env: Env,
  response: HttpClientResponse.HttpClientResponse,
  ok: ReadonlyArray<number>,
  ctx: ErrorContext,
  options: MapOptions
): Effect.Effect<HttpClientResponse.HttpClientResponse, ResponseFailure> =>
  ok.includes(response.status)
    ? Effect.succeed(response)
    : Effect.flatMap(toError(env, response, ctx, options), Effect.fail)
