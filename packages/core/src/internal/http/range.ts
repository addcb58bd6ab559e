/**
 * Parsing of `Range`, `Content-Range` and `Retry-After` headers.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const digits = /^\d{1,15}$/

/**
 * An upload session's `Range` header (`0-999`, or `bytes=0-999`): the inclusive
 * byte range the registry holds. Returns the number of bytes it holds. `0-0` is
 * ambiguous (an empty session or one byte); `confirmed` (the offset the client
 * last saw confirmed) decides: `0-0` means 0 unless the client knew of at least one byte.
 *
 * @since 0.1.0
 */
export const uploadedBytes = (header: string | undefined, confirmed = 0): Option.Option<number> => {
  if (header === undefined) return Option.none()
  let value = header.trim()
  if (value.toLowerCase().startsWith("bytes=")) value = value.slice(6).trim()
  else if (value.toLowerCase().startsWith("bytes ")) value = value.slice(6).trim()
  const dash = value.indexOf("-")
  if (dash < 0) return Option.none()
  const startText = value.slice(0, dash).trim()
  const endText = value.slice(dash + 1).trim()
  if (!digits.test(startText) || !digits.test(endText)) return Option.none()
  const start = Number(startText)
  const end = Number(endText)
  if (start !== 0 || end < start) return Option.none()
  if (end === 0) return Option.some(confirmed >= 1 ? 1 : 0)
  return Option.some(end + 1)
}

/**
 * A parsed `Content-Range: bytes <start>-<end>/<total|*>`.
 *
 * @since 0.1.0
 */
export interface ContentRange {
  readonly start: number
  readonly end: number
  readonly total: number | undefined
}

/** @since 0.1.0 */
export const parseContentRange = (header: string | undefined): Option.Option<ContentRange> => {
  if (header === undefined) return Option.none()
  const m = /^\s*bytes\s+(\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)\s*$/i.exec(header)
  if (m === null) return Option.none()
  const start = Number(m[1])
  const end = Number(m[2])
  if (end < start) return Option.none()
  const total = m[3] === "*" ? undefined : Number(m[3])
  if (total !== undefined && end >= total) return Option.none()
  return Option.some({ start, end, total })
}

/**
 * `Retry-After` as delta-seconds or an HTTP-date, relative to `nowMillis`.
 * Dates in the past give zero. Garbage gives `None`.
 *
 * @since 0.1.0
 */
export const parseRetryAfter = (header: string | undefined, nowMillis: number): Option.Option<Duration.Duration> => {
  if (header === undefined) return Option.none()
  const value = header.trim()
  if (value.length === 0) return Option.none()
  if (digits.test(value)) return Option.some(Duration.seconds(Number(value)))
  if (!/[a-z]/i.test(value)) return Option.none()
  const at = Date.parse(value)
  if (!Number.isFinite(at)) return Option.none()
  return Option.some(Duration.millis(Math.max(0, at - nowMillis)))
}

/**
 * A non-negative integer header such as `Content-Length` or `OCI-Chunk-Min-Length`.
 *
 * @since 0.1.0
 */
export const parseLength = (header: string | undefined): Option.Option<number> => {
  if (header === undefined) return Option.none()
  const value = header.trim()
  return digits.test(value) ? Option.some(Number(value)) : Option.none()
}
