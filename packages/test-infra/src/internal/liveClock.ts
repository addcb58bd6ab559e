import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

const live = Clock.make()

/**
 * Runs an effect on the real clock. The launchers wait for real processes and sockets, and the
 * token server signs tokens that a real registry checks against the wall clock, so they must not
 * follow a `TestClock` that a test (`it.effect`) provides.
 *
 * @internal
 */
export const withLiveClock = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withClock(self, live)
