/**
 * Listening on a free loopback port.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Net from "node:net"
import { describe } from "./failure.js"

/**
 * Starts `server` listening on a free port of 127.0.0.1 and returns the port; fails with `fail(message, cause)`
 * when it cannot listen, cannot tell its port, or takes more than 10 s.
 *
 * @internal
 */
export const listenLoopback = <E>(
  server: Net.Server,
  fail: (message: string, cause?: unknown) => E
): Effect.Effect<number, E> =>
  Effect.async<number, E>((resume) => {
    server.once("error", (cause) => resume(Effect.fail(fail(`cannot listen: ${describe(cause)}`, cause))))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(port > 0 ? Effect.succeed(port) : Effect.fail(fail("could not read the listening port")))
    })
  }).pipe(
    Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => fail("did not listen within 10 s") })
  )
