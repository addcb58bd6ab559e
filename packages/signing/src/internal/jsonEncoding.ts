/**
 * The byte and text helpers of libtrust JSON signatures: base64url and base64, strict UTF-8 JSON,
 * byte joins and comparisons, RFC 3339 times, and the constructors of sign and verify errors.
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as SigningError from "../SigningError.js"

/** @internal */
export const encoder = new TextEncoder()

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export const base64url = (bytes: Uint8Array | string): string =>
  (typeof bytes === "string"
    ? Buffer.from(bytes, "utf8")
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    .toString("base64url")

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export const decodeBase64url = (s: string): Uint8Array | undefined =>
  /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 ? new Uint8Array(Buffer.from(s, "base64url")) : undefined

/** @internal */
export const decodeBase64 = (s: string): Uint8Array | undefined =>
  s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) ? new Uint8Array(Buffer.from(s, "base64")) : undefined

/** @internal */
export const utf8 = (bytes: Uint8Array): Either.Either<string, unknown> =>
  Either.try({ try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes), catch: (cause) => cause })

/** @internal */
export const parseJson = (bytes: Uint8Array): Either.Either<unknown, unknown> =>
  Either.flatMap(utf8(bytes), (text) => Either.try({ try: (): unknown => JSON.parse(text), catch: (cause) => cause }))

/** @internal */
export const isObject = (u: unknown): u is { readonly [key: string]: unknown } => Predicate.isRecord(u)

/** @internal */
export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => BlobSource.concatBytes(parts)

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d

/** @internal */
export const lastNonSpace = (bytes: Uint8Array, before: number): number => {
  let i = before - 1
  while (i >= 0 && isSpace(bytes[i])) i--
  return i
}

/**
 * Formats epoch milliseconds as RFC 3339 in UTC with whole seconds, as Go's `time.RFC3339`.
 */
export const rfc3339 = (millis: number): string | undefined => {
  const date = new Date(millis)
  if (!Number.isFinite(date.getTime())) return undefined
  const year = date.getUTCFullYear()
  if (year < 0 || year > 9999) return undefined
  const p = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${p(year, 4)}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}T${p(date.getUTCHours())}:${
    p(date.getUTCMinutes())
  }:${p(date.getUTCSeconds())}Z`
}

/** @internal */
export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** @internal */
export const signError = (reason: SigningError.SignErrorReason, detail: string, cause?: unknown) =>
  new SigningError.SignError({ reason, detail, cause })

/** @internal */
export const verifyError = (
  reason: SigningError.VerifyErrorReason,
  detail: string,
  extra?: { readonly index?: number | undefined; readonly keyId?: string | undefined; readonly cause?: unknown }
) => new SigningError.VerifyError({ reason, detail, ...extra })
