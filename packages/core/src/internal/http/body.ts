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
import type * as RegistryError from "../../RegistryError.js"
import { type ErrorContext, fromHttpClientError, RequestTimeout } from "./errors.js"

/** @since 0.1.0 */
export const DefaultErrorBodyLimit = 64 * 1024

/**
 * How long reading a whole bounded body (a manifest, a listing page, an error body) may take by default.
 *
 * @since 0.1.0
 */
export const DefaultBodyTimeout: Duration.Duration = Duration.minutes(2)

// The one bounded fold: the bytes up to `max`, and whether more came. Pulls at most one piece past `max`
// (the stream is then abandoned, its reader cancelled).
const collect = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  max: number
): Effect.Effect<{ readonly bytes: Uint8Array; readonly truncated: boolean }, E, R> =>
  Stream.runFoldWhile(
    stream,
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
  const read = collect(response.stream, max)
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

/**
 * {@link readBounded} with its failures mapped to a `TransportError` naming `ctx`.
 *
 * @since 0.1.0
 */
export const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  deadline: Duration.Duration | undefined,
  ctx: ErrorContext
): Effect.Effect<{ readonly bytes: Uint8Array; readonly truncated: boolean }, RegistryError.TransportError> =>
  Effect.mapError(readBounded(response, max, deadline), (e) => fromHttpClientError(e, ctx))

/**
 * A whole body of at most `max` bytes, or the failure `onOverflow` makes as soon as more arrived (at most
 * one piece past `max` is pulled). An absent body reads as empty; a body that fails is mapped by
 * `onError`. No deadline of its own: the caller bounds the whole exchange.
 *
 * @since 0.1.0
 */
export const readAtMost = <E>(
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  onError: (error: HttpClientError.ResponseError) => E,
  onOverflow: () => E
): Effect.Effect<Uint8Array, E> =>
  collect(
    Stream.catchAll(response.stream, (e) => e.reason === "EmptyBody" ? Stream.empty : Stream.fail(onError(e))),
    max
  ).pipe(Effect.flatMap(({ bytes, truncated }) => truncated ? Effect.fail(onOverflow()) : Effect.succeed(bytes)))
