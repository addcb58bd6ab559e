/**
 * htpasswd files with bcrypt lines.
 *
 * @since 0.1.0
 */
import * as Bcrypt from "bcryptjs"
import * as Effect from "effect/Effect"
import { LaunchFailure } from "./failure.js"

/**
 * The content of an htpasswd file, one `user:$2b$...` line per user. Names with `:` or line breaks are refused.
 *
 * @internal
 */
export const htpasswd = (
  users: ReadonlyArray<{ readonly username: string; readonly password: string }>,
  cost = 5
): Effect.Effect<string, LaunchFailure> =>
  Effect.forEach(users, (user) =>
    /[:\r\n]/.test(user.username) || user.username.length === 0
      ? Effect.fail(
        new LaunchFailure({
          reason: "FileSystem",
          message: `htpasswd user names must be non-empty without ':' or line breaks: ${JSON.stringify(user.username)}`
        })
      )
      : Effect.try({
        try: () => `${user.username}:${Bcrypt.hashSync(user.password, cost)}`,
        catch: (cause) => new LaunchFailure({ reason: "FileSystem", message: "bcrypt failed", cause })
      })).pipe(Effect.map((lines) => lines.join("\n") + "\n"))
