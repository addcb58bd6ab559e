/**
 * One bounded `GET` over a real socket, for readiness checks.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import * as Https from "node:https"

/**
 * The status of `GET url`, or `undefined` when no answer came within `timeoutMs`.
 *
 * @internal
 */
export const probeStatus = (
  url: string,
  options: { readonly ca?: string | undefined; readonly timeoutMs?: number | undefined } = {}
): Effect.Effect<number | undefined> =>
  Effect.async<number | undefined>((resume) => {
    let done = false
    const finish = (status: number | undefined) => {
      if (done) return
      done = true
      resume(Effect.succeed(status))
    }
    let request: Http.ClientRequest
    try {
      const https = url.startsWith("https:")
      const requestOptions: Https.RequestOptions = {
        method: "GET",
        agent: false,
        timeout: options.timeoutMs ?? 1000,
        ...(https && options.ca !== undefined ? { ca: options.ca } : {})
      }
      request = (https ? Https : Http).request(url, requestOptions, (response) => {
        response.resume()
        finish(response.statusCode)
      })
    } catch {
      finish(undefined)
      return
    }
    request.once("timeout", () => {
      request.destroy()
      finish(undefined)
    })
    request.once("error", () => finish(undefined))
    request.end()
    return Effect.sync(() => {
      request.destroy()
    })
  })
