/**
 * Retry schedules of the registry client.
 *
 * Reads (`GET`/`HEAD`) are retried on transient failures (a broken connection,
 * a timeout, a 5xx answer, a `429`) with {@link transient}; blob uploads retry
 * their steps with {@link upload}. Both honour a registry's `Retry-After` (up to
 * a cap) through {@link honourRetryAfter}. Pass your own schedule in the client
 * options (`retrySchedule`, `uploadRetrySchedule`) to change them.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as RegistryError from "./RegistryError.js"

/**
 * A retry schedule fed with the error of each failed attempt.
 *
 * @since 0.1.0
 * @category models
 */
export type Policy = Schedule.Schedule<unknown, RegistryError.RegistryError>

// Jittered pauses rounded to whole milliseconds: a fractional one is no use on a real clock, and Effect's
// TestClock cannot turn a fractional instant into nanoseconds (a span opened at that instant would die).
const wholeMillis = (_: unknown, delay: Duration.Duration): Duration.Duration =>
  Duration.millis(Math.round(Duration.toMillis(delay)))

/**
 * Default for reads: exponential backoff from 200 ms (factor 2) with jitter, at
 * most 4 retries.
 *
 * @since 0.1.0
 * @category schedules
 */
export const transient: Policy = Schedule.exponential("200 millis", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay(wholeMillis),
  Schedule.intersect(Schedule.recurs(4))
)

/**
 * Default for upload steps (a `PATCH`, the closing `PUT`, a restart): exponential
 * backoff from 500 ms (factor 2) with jitter, at most 5 retries.
 *
 * @since 0.1.0
 * @category schedules
 */
export const upload: Policy = Schedule.exponential("500 millis", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay(wholeMillis),
  Schedule.intersect(Schedule.recurs(5))
)

/**
 * The longest `Retry-After` the client waits for by default; a registry asking
 * for a longer pause gets the error passed on instead.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxRetryAfter: Duration.Duration = Duration.minutes(2)

const transientStatus = new Set([408, 429, 500, 502, 503, 504])

/**
 * Whether an error is worth retrying: a broken connection or timeout, a 5xx
 * answer, a `429`, a `408`. TLS failures (an untrusted, expired or misnamed
 * certificate) and a protocol mismatch (plain http on a TLS connection or the
 * reverse) are not.
 *
 * @example
 * ```ts
 * import { RegistryError, RetryPolicy } from "@effect-registry/core"
 *
 * RetryPolicy.isTransient(new RegistryError.RegistryUnavailable({ status: 503 })) // true
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (error: RegistryError.RegistryError): boolean => {
  switch (error._tag) {
    case "TransportError":
      // a certificate or a protocol mismatch does not change by asking again
      return (error.reason === "Transport" || error.reason === "Timeout") &&
        !(error.kind !== undefined && (error.kind.startsWith("Tls") || error.kind === "PlainHttpOnTls"))
    case "TooManyRequests":
      return true
    case "RegistryUnavailable":
      return error.status === undefined || transientStatus.has(error.status)
    case "UnexpectedResponse":
      return error.reason === "Status" && error.status === 408
    default:
      return false
  }
}

/**
 * The pause a registry asked for with `Retry-After`, when the error carries one.
 *
 * @since 0.1.0
 * @category getters
 */
export const retryAfter = (error: RegistryError.RegistryError): Option.Option<Duration.Duration> => {
  if (error._tag === "TooManyRequests" || error._tag === "RegistryUnavailable") {
    return Option.fromNullable(error.retryAfter)
  }
  return Option.none()
}

/**
 * Wraps a schedule so that it only retries transient errors, waits at least the
 * registry's `Retry-After`, and stops when the registry asks for a pause longer
 * than `maxRetryAfter`.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-registry/core"
 * import * as Schedule from "effect/Schedule"
 *
 * const policy = RetryPolicy.honourRetryAfter(Schedule.spaced("1 second").pipe(Schedule.compose(Schedule.recurs(3))))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const honourRetryAfter = (
  schedule: Policy,
  maxRetryAfter: Duration.DurationInput = DefaultMaxRetryAfter
): Policy =>
  withRetryAfter(schedule, maxRetryAfter).pipe(
    Schedule.whileInput((error: RegistryError.RegistryError) => isTransient(error))
  )

/**
 * Like {@link honourRetryAfter} but without the transient filter: waits at least
 * the registry's `Retry-After` and stops when it is longer than `maxRetryAfter`,
 * whatever the error. The upload state machine classifies errors itself.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-registry/core"
 *
 * const policy = RetryPolicy.withRetryAfter(RetryPolicy.upload)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRetryAfter = (
  schedule: Policy,
  maxRetryAfter: Duration.DurationInput = DefaultMaxRetryAfter
): Policy => {
  const max = Duration.decode(maxRetryAfter)
  return schedule.pipe(
    Schedule.intersect(Schedule.identity<RegistryError.RegistryError>()),
    Schedule.whileInput((error: RegistryError.RegistryError) =>
      Option.match(retryAfter(error), { onNone: () => true, onSome: (d) => Duration.lessThanOrEqualTo(d, max) })
    ),
    Schedule.modifyDelay(([, error], delay) =>
      Option.match(retryAfter(error), {
        onNone: () => delay,
        onSome: (wait) => Duration.max(delay, wait)
      })
    )
  )
}
