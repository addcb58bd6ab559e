// Retry behaviour of the client, on the TestClock: Retry-After (seconds and HTTP-date), exponential
// backoff with jitter, bounded attempts, no replay of bodies that cannot be read twice.
import { RetryPolicy } from "@effect-registry/core"
import * as RegistryErrorCtor from "@effect-registry/core/RegistryError"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { clientFor, FakeRegistry, sha256, text } from "./RegistryClient.fake.js"

const tagsRequests = (fake: FakeRegistry) => fake.requests.filter((r) => r.url.includes("/tags/list")).length

const withTags = () => {
  const fake = new FakeRegistry()
  fake.putManifest("app", "v1", text("{}"), "application/vnd.oci.image.manifest.v1+json")
  return fake
}

const failTags = (fake: FakeRegistry, times: number, response: () => Response) => {
  let left = times
  fake.hooks.push((r) => r.url.includes("/tags/list") && left-- > 0 ? response() : undefined)
}

// Steps the TestClock by `step` until the fiber is done (bounded).
const runOnClock = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: number, maxSteps: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* Fiber.poll(fiber)
      if (done._tag === "Some") break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.await(fiber)
  })

const timesOf = (times: Array<number>) => (http: HttpClient.HttpClient) =>
  HttpClient.tapRequest(http, (request) =>
    request.url.includes("/tags/list")
      ? Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => times.push(t)))
      : Effect.void)

describe("Retry-After", () => {
  it.effect("delta-seconds are honoured before the next attempt", () =>
    Effect.gen(function*() {
      const fake = withTags()
      failTags(fake, 1, () =>
        new Response(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS" }] }), {
          status: 429,
          headers: { "retry-after": "7" }
        }))
      const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient })
      const fiber = yield* Effect.fork(client.tags("app"))
      yield* TestClock.adjust("6900 millis")
      assert.strictEqual(tagsRequests(fake), 1)
      yield* TestClock.adjust("200 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["v1"])
      assert.strictEqual(tagsRequests(fake), 2)
    }))

  it.effect("an HTTP-date is honoured (a 503 with Retry-After too)", () =>
    Effect.gen(function*() {
      const fake = withTags()
      // the TestClock starts at the epoch: this date is 12 s from now
      failTags(fake, 1, () =>
        new Response("", { status: 503, headers: { "retry-after": "Thu, 01 Jan 1970 00:00:12 GMT" } }))
      const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient })
      const fiber = yield* Effect.fork(client.tags("app"))
      yield* TestClock.adjust("11900 millis")
      assert.strictEqual(tagsRequests(fake), 1)
      yield* TestClock.adjust("200 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["v1"])
      assert.strictEqual(tagsRequests(fake), 2)
    }))

  it.effect("a pause longer than maxRetryAfter is not waited for: the typed error comes at once", () =>
    Effect.gen(function*() {
      const fake = withTags()
      failTags(fake, 5, () => new Response("", { status: 429, headers: { "retry-after": "3600" } }))
      const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient, maxRetryAfter: "1 minute" })
      const exit = yield* Effect.exit(client.tags("app"))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(client.tags("app"))
      assert.strictEqual(error._tag, "TooManyRequests")
      if (error._tag === "TooManyRequests") assert.strictEqual(String(error.retryAfter), "Duration(1h)")
      assert.strictEqual(tagsRequests(fake), 2)
    }))
})

describe("backoff", () => {
  it.effect("transient 503 is retried, a 400 is not: one attempt and the typed error", () =>
    Effect.gen(function*() {
      const fake = withTags()
      failTags(fake, 2, () => new Response("", { status: 503 }))
      const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient })
      const retried = yield* runOnClock(yield* Effect.fork(client.tags("app")), 50, 1_000)
      assert.deepStrictEqual(retried, Exit.succeed(["v1"]))
      assert.strictEqual(tagsRequests(fake), 3, "two 503s, then the answer")

      const refused = withTags()
      failTags(refused, 100, () =>
        new Response(
          JSON.stringify({ errors: [{ code: "PAGINATION_NUMBER_INVALID", message: "invalid number of results" }] }),
          { status: 400, headers: { "content-type": "application/json" } }
        ))
      const c2 = yield* clientFor(refused, { retrySchedule: RetryPolicy.transient })
      // give any retry all the time it would need on the TestClock before counting attempts
      const exit = yield* runOnClock(yield* Effect.fork(c2.tags("app")), 50, 1_000)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.strictEqual(error._tag, "PaginationNumberInvalid")
        if (error._tag === "PaginationNumberInvalid") assert.strictEqual(error.status, 400)
      } else {
        assert.fail(`expected a typed failure, got ${String(exit)}`)
      }
      assert.strictEqual(tagsRequests(refused), 1, "a 400 is sent once")
    }))

  it.effect("exponential with jitter: each pause within [0.8, 1.2] × 200 ms × 2^n; at most 4 retries", () =>
    Effect.gen(function*() {
      const fake = withTags()
      failTags(fake, 100, () => new Response("", { status: 503 }))
      const times: Array<number> = []
      const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient, transformClient: timesOf(times) })
      const fiber = yield* Effect.fork(client.tags("app"))
      const exit = yield* runOnClock(fiber, 10, 1_000)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error._tag, "RegistryUnavailable")
      }
      assert.strictEqual(times.length, 5, "1 attempt + 4 retries")
      for (let n = 0; n < 4; n++) {
        const pause = times[n + 1] - times[n]
        const base = 200 * 2 ** n
        assert.isAtLeast(pause, 0.8 * base - 10, `pause ${n}`)
        assert.isAtMost(pause, 1.2 * base + 10, `pause ${n}`)
      }
    }))

  it.effect("the jitter varies the pauses (not a fixed sequence)", () =>
    Effect.gen(function*() {
      const pauses = new Set<number>()
      for (let run = 0; run < 6; run++) {
        const fake = withTags()
        failTags(fake, 1, () => new Response("", { status: 502 }))
        const times: Array<number> = []
        const client = yield* clientFor(fake, { retrySchedule: RetryPolicy.transient, transformClient: timesOf(times) })
        const fiber = yield* Effect.fork(client.tags("app"))
        yield* runOnClock(fiber, 3, 200)
        pauses.add(times[1] - times[0])
      }
      assert.isAbove(pauses.size, 1)
    }))

  it.effect("a caller's schedule bounds the attempts; a non-transient error is not retried", () =>
    Effect.gen(function*() {
      const fake = withTags()
      failTags(fake, 100, () => new Response("", { status: 500 }))
      const client = yield* clientFor(fake, {
        retrySchedule: Schedule.spaced("1 second").pipe(Schedule.compose(Schedule.recurs(2)))
      })
      const fiber = yield* Effect.fork(client.tags("app"))
      const exit = yield* runOnClock(fiber, 100, 100)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(tagsRequests(fake), 3)

      const denied = withTags()
      failTags(denied, 100, () => new Response(JSON.stringify({ errors: [{ code: "DENIED" }] }), { status: 403 }))
      const c2 = yield* clientFor(denied, { retrySchedule: RetryPolicy.transient })
      const error = yield* Effect.flip(c2.tags("app"))
      assert.strictEqual(error._tag, "Denied")
      assert.strictEqual(tagsRequests(denied), 1)
    }))

  it.each(
    [
      ["a TransportError (Transport)", new RegistryErrorCtor.TransportError({ reason: "Transport" }), true],
      ["a TransportError (Timeout)", new RegistryErrorCtor.TransportError({ reason: "Timeout" }), true],
      ["a TransportError (Redirect)", new RegistryErrorCtor.TransportError({ reason: "Redirect" }), false],
      ["TooManyRequests", new RegistryErrorCtor.TooManyRequests({}), true],
      ["RegistryUnavailable (503)", new RegistryErrorCtor.RegistryUnavailable({ status: 503 }), true],
      ["BlobUnknown", new RegistryErrorCtor.BlobUnknown({}), false],
      ["DigestMismatch", new RegistryErrorCtor.DigestMismatch({ expected: "a", actual: "b" }), false]
    ] as const
  )("RetryPolicy.isTransient (connection, timeout, 5xx, 429, 408 only): %s -> %s", (_, error, expected) => {
    assert.strictEqual(RetryPolicy.isTransient(error), expected)
  })
})

describe("bodies that cannot be replayed", () => {
  it.effect("a monolithic PUT from a one-shot stream answered 503 is not sent again: UploadNotResumable", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("one-shot bytes")
      fake.hooks.push((r) =>
        r.method === "PUT" && r.url.includes("/blobs/uploads/") ? new Response("", { status: 503 }) : undefined
      )
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(
        client.uploadBlob("app", sha256(bytes), Stream.make(bytes), { size: bytes.length })
      )
      assert.strictEqual(error._tag, "UploadNotResumable")
      // the registry kept the session: the message says the request failed, not that the session was dropped
      if (error._tag === "UploadNotResumable") assert.strictEqual(error.reason, "RequestFailed")
      assert.strictEqual(fake.requests.filter((r) => r.method === "PUT").length, 1)
    }))

  it.effect("a 401 to a streamed PATCH is not replayed; an empty-bodied request is", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("streamed bytes")
      fake.hooks.push((r) =>
        r.method === "PATCH"
          ? new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }), {
            status: 401,
            headers: { "www-authenticate": "Bearer realm=\"https://auth.test/token\",service=\"registry.test\"" }
          })
          : undefined
      )
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.uploadBlob("app", sha256(bytes), Stream.make(bytes)))
      // the one-shot body was consumed: no second PATCH, a typed failure naming the 401
      assert.strictEqual(error._tag, "UploadNotResumable")
      assert.strictEqual(Predicate.hasProperty(error.cause, "_tag") ? error.cause._tag : undefined, "Unauthorized")
      assert.strictEqual(fake.requests.filter((r) => r.method === "PATCH").length, 1)

      // an idempotent, empty-bodied request is retried on a transient failure
      const again = withTags()
      failTags(again, 1, () => new Response("", { status: 503 }))
      const c2 = yield* clientFor(again)
      assert.deepStrictEqual(yield* c2.tags("app"), ["v1"])
      assert.strictEqual(tagsRequests(again), 2)
    }))

  it.effect("a transient failure of a POST (empty body) is retried, of a streamed PATCH body is not resent blindly", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("0123456789")
      let posts = 1
      fake.hooks.push((r) => r.method === "POST" && posts-- > 0 ? new Response("", { status: 502 }) : undefined)
      let patches = 1
      fake.hooks.push((r) => r.method === "PATCH" && patches-- > 0 ? "transport" : undefined)
      const client = yield* clientFor(fake)
      const error = yield* Effect.flip(client.uploadBlob("app", sha256(bytes), Stream.make(bytes)))
      // the POST was retried; the PATCH body of a one-shot stream was not sent again
      assert.strictEqual(error._tag, "UploadNotResumable")
      assert.strictEqual(fake.requests.filter((r) => r.method === "POST").length, 2)
      assert.strictEqual(fake.requests.filter((r) => r.method === "PATCH").length, 1)
    }))
})
