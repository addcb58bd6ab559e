/**
 * Free loopback ports.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import { describe, LaunchFailure } from "./failure.js"

/**
 * A port that was free a moment ago on 127.0.0.1: listen on port 0, read the port the kernel chose, close.
 *
 * @internal
 */
export const freePort: Effect.Effect<number, LaunchFailure> = Effect.async<number, LaunchFailure>((resume) => {
  const server = Net.createServer()
  server.unref()
  server.once(
    "error",
    (cause) =>
      resume(Effect.fail(new LaunchFailure({ reason: "Port", message: `no free port: ${describe(cause)}`, cause })))
  )
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() =>
      resume(
        port > 0
          ? Effect.succeed(port)
          : Effect.fail(new LaunchFailure({ reason: "Port", message: "could not read the port of a listening socket" }))
      )
    )
  })
  return Effect.sync(() => {
    server.close()
  })
}).pipe(
  Effect.timeoutFail({
    duration: Duration.seconds(5),
    onTimeout: () => new LaunchFailure({ reason: "Port", message: "timed out looking for a free port" })
  })
)
