/**
 * Bounded body reads: at most so many bytes, within a deadline for the whole body.
 *
 * @since 0.1.0
 */
import * as HttpClientErrorModule from "@effect/platform/HttpClientError"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { RequestTimeout } from "./errors.js"

/** @since 0.1.0 */
export const DefaultErrorBodyLimit = 64 * 1024

/**
 * How long reading a whole bounded body (a manifest, a listing page, an error body) may take by default.
 *
 * @since 0.1.0
 */
export const DefaultBodyTimeout: Duration.Duration = Duration.minutes(2)

/**
 * Reads at most `max` bytes of a body, within `deadline` for the whole body: a body that trickles fails
 * with a `ResponseError` caused by a {@link RequestTimeout} (a `TransportError` with reason `Timeout` once
 * mapped by {@link fromHttpClientError}), and its reading is interrupted.
 *
 * @since 0.1.0
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  deadline: Duration.Duration = DefaultBodyTimeout
): Effect.Effect<{ readonly bytes: Uint8Array; readonly truncated: boolean }, HttpClientError.ResponseError> => {
  const read = Stream.runFoldWhile(
    response.stream,
    { chunks: [] as Array<Uint8Array>, size: 0 },
    (s) => s.size <= max,
    (s, chunk) => {
      s.chunks.push(chunk)
      s.size += chunk.length
      return s
    }
  ).pipe(Effect.map((s) => {
    const size = Math.min(s.size, max)
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of s.chunks) {
      if (offset >= size) break
      const n = Math.min(chunk.length, size - offset)
      bytes.set(chunk.subarray(0, n), offset)
      offset += n
    }
    return { bytes, truncated: s.size > max }
  }))
  if (!Duration.isFinite(deadline)) return read
  return Effect.timeoutFail(read, {
    duration: deadline,
    onTimeout: () =>
      new HttpClientErrorModule.ResponseError({
        request: response.request,
        response,
        reason: "Decode",
        cause: new RequestTimeout(Duration.toMillis(deadline)),
        description: `the body did not arrive within ${Duration.format(deadline)}`
      })
  })
}
