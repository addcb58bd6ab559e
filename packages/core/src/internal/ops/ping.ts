/**
 * `ping` (`GET /v2/`): the first contact, which also tells a registry addressed
 * the wrong way (plain http to a TLS port, not a registry at all) apart.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as RegistryClientError from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"

const toPingError = ErrorUnion.narrow(RegistryClientError.PingErrorTags)

// Refused connections, unknown host names, TLS and protocol mismatches at the first request: asking again
// only delays the error (the registry is down, or the URL, `plainHttp` or the TLS settings are wrong).
const isMisaddressed = (e: RegistryError.RegistryError): boolean =>
  e._tag === "TransportError" && e.kind !== undefined && (
    e.kind === "ConnectionRefused" || e.kind === "NameNotResolved" || e.kind === "PlainHttpOnTls" ||
    e.kind === "TlsOnPlainHttp" || e.kind.startsWith("Tls") ||
    (e.kind === "ClosedBeforeAnswer" && e.url !== undefined && e.url.startsWith("http:"))
  )

// What https servers answer to plain http on their TLS port (Go's net/http, which the distribution registry
// uses; nginx).
const httpsOnlyAnswer = /http request to an https server|plain http request was sent to https port/i

const speaksOnlyHttps = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<boolean> =>
  response.status !== 400 || !response.request.url.startsWith("http:")
    ? Effect.succeed(false)
    : Request.readBounded(response, 4096).pipe(
      Effect.map(({ bytes }) => httpsOnlyAnswer.test(new TextDecoder().decode(bytes))),
      Effect.orElseSucceed(() => false)
    )

/**
 * The `ping` operation of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  // The first contact: a registry that is not there, or is addressed the wrong way, is not asked again.
  const pingRetry = env.retry.pipe(Schedule.whileInput((e: RegistryError.RegistryError) => !isMisaddressed(e)))

  const ping = Effect.fn("RegistryClient.ping")(function*() {
    const url = `${env.baseUrl}/v2/`
    const ctx: Request.ErrorContext = {}
    const response = yield* Request.send(env, HttpClientRequest.get(url), [], ctx).pipe(
      Effect.flatMap((res) =>
        res.status === 200 || res.status === 401 || res.status >= 500
          ? Request.expect(env, res, [200], ctx, { scopes: [] })
          : Effect.flatMap(speaksOnlyHttps(res), (httpsOnly) =>
            Effect.fail(
              httpsOnly
                ? new RegistryError.TransportError({
                  request: Request.describeRequest("GET", url),
                  url: Request.safeUrl(url),
                  status: res.status,
                  reason: "Transport",
                  kind: "TlsOnPlainHttp"
                })
                : new RegistryError.UnexpectedResponse({
                  request: Request.describeRequest("GET", url),
                  status: res.status,
                  reason: "NotRegistry",
                  detail: `${url} answered ${res.status}`
                })
            ))
      ),
      Effect.retry(pingRetry)
    )
    void response
  }, (effect) => Effect.mapError(effect, toPingError))
  return { ping }
}
