/**
 * Sending with auth: credentials only for the registry's origin, one retry
 * after a 401 when the body can be replayed, then the answer checked.
 *
 * @since 0.1.0
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as RegistryError from "../../RegistryError.js"
import * as Origin from "../origin.js"
import { expect, type ResponseFailure } from "./classify.js"
import type { AuthFailure, Env } from "./env.js"
import { contextFields, describeRequest, type ErrorContext, type ErrorFields } from "./errors.js"
import { executeRaw } from "./execute.js"

/**
 * Whether a request body can be sent a second time.
 *
 * @since 0.1.0
 */
export const isReplayable = (request: HttpClientRequest.HttpClientRequest): boolean =>
  request.body._tag === "Empty" || request.body._tag === "Uint8Array"

/**
 * Authorize, execute; on a 401 let the `AuthService` learn from the challenge and
 * retry once when the body can be replayed. Returns the answer whatever its status.
 *
 * @since 0.1.0
 */
export const send = (
  env: Env,
  request: HttpClientRequest.HttpClientRequest,
  scopes: ReadonlyArray<string>,
  ctx: ErrorContext
): Effect.Effect<HttpClientResponse.HttpClientResponse, AuthFailure> =>
  Effect.gen(function*() {
    if (Origin.isHttps(env.registry) && !Origin.isHttps(request.url)) {
      return yield* new RegistryError.TransportError({
        ...contextFields(ctx),
        request: describeRequest(request.method, request.url),
        reason: "Redirect",
        detail: "refusing to continue an https registry over plain http"
      })
    }
    // Credentials only for the registry's own origin: a request elsewhere goes out bare, and its 401 is not learned from.
    if (!Origin.sameRegistry(request.url, env.registry)) return yield* executeRaw(env.http, request, ctx)
    const authorized = yield* env.auth.authorize(request, scopes)
    const response = yield* executeRaw(env.http, authorized, ctx)
    if (response.status !== 401) return response
    yield* env.auth.challenge(response, scopes)
    if (!isReplayable(request)) return response
    const again = yield* env.auth.authorize(request, scopes)
    return yield* executeRaw(env.http, again, ctx)
  })

/** @since 0.1.0 */
export interface Call {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly scopes: ReadonlyArray<string>
  readonly context: ErrorContext
  readonly ok: ReadonlyArray<number>
  readonly notFound?: ((fields: ErrorFields) => ResponseFailure) | undefined
  /** Retry transient failures; defaults to true for GET and HEAD. */
  readonly retry?: boolean | undefined
}

/**
 * `send` then `expect`, retried on transient failures when idempotent.
 *
 * @since 0.1.0
 */
export const call = (
  env: Env,
  c: Call
): Effect.Effect<HttpClientResponse.HttpClientResponse, ResponseFailure> => {
  const once = Effect.flatMap(
    send(env, c.request, c.scopes, c.context),
    (response) => expect(env, response, c.ok, c.context, { scopes: c.scopes, notFound: c.notFound })
  )
  const retry = c.retry ?? (c.request.method === "GET" || c.request.method === "HEAD")
  return retry ? retryFailures(once, env.retry) : once
}

/**
 * `Effect.retry(self, policy)` that sets the schedule up only once `self` has failed: most requests succeed at
 * once, and making a schedule's driver for each of them costs as much as a good part of a request. The schedule
 * then sees the same failures, and waits the same pauses, as under `Effect.retry` (without its
 * `Schedule.CurrentIterationMetadata`, which nothing of ours reads); once it is done the last failure is the one.
 *
 * @since 0.1.0
 */
export const retryFailures = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  policy: Schedule.Schedule<unknown, E>
): Effect.Effect<A, E, R> =>
  Effect.catchAll(self, (first) =>
    Effect.flatMap(Schedule.driver(policy), (driver) => {
      const again = (error: E): Effect.Effect<A, E, R> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(self, again)
        })
      return again(first)
    }))
