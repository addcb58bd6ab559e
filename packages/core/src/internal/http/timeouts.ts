/**
 * The client's own timeouts: until an answer's headers arrive, and between two
 * pieces of a body (the idle watchdog).
 *
 * @since 0.1.0
 */
import * as HttpClientModule from "@effect/platform/HttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientErrorModule from "@effect/platform/HttpClientError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import * as RegistryError from "../../RegistryError.js"
import { contextFields, type ErrorContext, RequestTimeout } from "./errors.js"

/**
 * Wraps a client so that every request fails with a `RequestError` caused by a
 * {@link RequestTimeout} when its answer's headers do not arrive in time:
 * `timeout` for requests without a body, `uploadTimeout` for requests carrying one.
 * Interrupting the request aborts it. Requests without a body are left to the
 * transport when it enforces a headers timeout (`transportHeaders`) no longer than `timeout`.
 *
 * @since 0.1.0
 */
export const withTimeouts = (
  http: HttpClient.HttpClient,
  timeout: Duration.Duration,
  uploadTimeout: Duration.Duration,
  transportHeaders: Option.Option<Duration.Duration> = Option.none()
): HttpClient.HttpClient =>
  HttpClientModule.transform(http, (effect, request) => {
    const carriesBody = request.body._tag === "Stream" ||
      (request.body._tag === "Uint8Array" && request.body.body.length > 0)
    const limit = carriesBody ? uploadTimeout : timeout
    if (!Duration.isFinite(limit)) return effect
    if (!carriesBody && Option.isSome(transportHeaders) && Duration.lessThanOrEqualTo(transportHeaders.value, limit)) {
      return effect
    }
    return Effect.timeoutFail(effect, {
      duration: limit,
      onTimeout: () =>
        new HttpClientErrorModule.RequestError({
          request,
          reason: "Transport",
          cause: new RequestTimeout(Duration.toMillis(limit)),
          description: `no answer within ${Duration.format(limit)}`
        })
    })
  })

/**
 * Fails a body stream with a timeout `TransportError` when no piece arrives within `idle`.
 *
 * Cheap per piece: instead of racing every pull against its own timer (`Stream.timeoutFail` forks two
 * fibers and arms a timer per pull), one producer fiber reads the body into a one-slot queue and notes
 * when it starts waiting for the next piece; one watchdog fiber sleeps until that deadline (one timer per
 * `idle` period, on the `Clock`, so `TestClock` drives it) and fails the stream when the producer has
 * waited longer than `idle`. Time the consumer spends on a piece does not count, as before: the producer
 * reads at most one piece ahead. Both fibers end with the stream.
 *
 * @since 0.1.0
 */
export const idleTimeout =
  (idle: Duration.Duration, request: string, ctx: ErrorContext) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E | RegistryError.TransportError, R> => {
    if (!Duration.isFinite(idle)) return self
    const millis = Math.max(1, Duration.toMillis(idle))
    const timedOut = () =>
      new RegistryError.TransportError({
        ...contextFields(ctx),
        request,
        reason: "Timeout",
        detail: `the body stalled for ${Duration.format(idle)}`
      })
    return Stream.unwrapScoped(Effect.gen(function*() {
      const clock = yield* Effect.clock
      const queue = yield* Effect.acquireRelease(
        Queue.bounded<Take.Take<A, E | RegistryError.TransportError>>(1),
        Queue.shutdown
      )
      // when the producer started waiting for the next piece; -1 while it hands one over or is done
      let waitingSince = clock.unsafeCurrentTimeMillis()
      let done = false
      const producer = Stream.runForEachChunk(self, (chunk) => {
        waitingSince = -1
        return Effect.zipRight(
          Queue.offer(queue, Take.chunk(chunk)),
          Effect.sync(() => {
            waitingSince = clock.unsafeCurrentTimeMillis()
          })
        )
      }).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) => Queue.offer(queue, Take.failCause(cause)),
          onSuccess: () => Queue.offer(queue, Take.end)
        }),
        Effect.ensuring(Effect.sync(() => {
          done = true
        }))
      )
      const watchdog = Effect.suspend(function loop(): Effect.Effect<void> {
        if (done) return Effect.void
        if (waitingSince < 0) return Effect.zipRight(Effect.sleep(millis), Effect.suspend(loop))
        const left = waitingSince + millis - clock.unsafeCurrentTimeMillis()
        if (left <= 0) return Queue.offer(queue, Take.fail(timedOut()))
        return Effect.zipRight(Effect.sleep(left), Effect.suspend(loop))
      })
      yield* Effect.forkScoped(producer)
      yield* Effect.forkScoped(watchdog)
      return Stream.repeatEffectChunkOption(Effect.flatMap(Queue.take(queue), Take.done))
    }))
  }
