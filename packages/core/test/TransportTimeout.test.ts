import { AuthService, BlobSource, RegistryClient } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { Base, fakeAuth, sha256, text } from "./RegistryClient.fake.js"

// Answers the ping, HEAD of a blob with 404 and POST with a session; every other request never gets an answer.
const seen: Array<string> = []
const hanging = HttpClient.make((request) => {
  seen.push(request.method)
  if (request.method === "GET" && request.url === `${Base}/v2/`) {
    return Effect.succeed(HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 })))
  }
  if (request.method === "HEAD" && request.url.includes("/blobs/")) {
    return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 404 })))
  }
  if (request.method === "POST") {
    return Effect.succeed(HttpClientResponse.fromWeb(
      request,
      new Response(null, { status: 202, headers: { location: `${Base}/v2/app/blobs/uploads/s1?_state=x` } })
    ))
  }
  if (request.method === "GET" && request.url.includes("/blobs/")) {
    // two of five bytes, then nothing more
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(new Uint8Array([104, 101]))
    })
    return Effect.succeed(HttpClientResponse.fromWeb(
      request,
      new Response(body, { status: 200, headers: { "content-length": "5" } })
    ))
  }
  return Effect.never
})

const clientWith = (
  transport: Option.Option<Duration.DurationInput>,
  bodyIdle?: Duration.DurationInput
) =>
  Effect.provide(
    RegistryClient.RegistryClient,
    RegistryClient.layer({
      url: Base,
      timeout: "10 seconds",
      uploadTimeout: "10 seconds",
      retrySchedule: Schedule.recurs(0),
      uploadRetrySchedule: Schedule.recurs(0)
    }).pipe(
      Layer.provide([
        Layer.succeed(HttpClient.HttpClient, hanging),
        Layer.succeed(AuthService.AuthService, fakeAuth),
        PortableHash.layer,
        Option.match(transport, {
          onNone: () => Layer.empty,
          onSome: (headers) =>
            Layer.succeed(RegistryClient.TransportTimeout, {
              headers: Duration.decode(headers),
              ...(bodyIdle !== undefined ? { bodyIdle: Duration.decode(bodyIdle) } : {})
            })
        })
      ])
    )
  )

const reasonOf = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  if (!Exit.isFailure(exit) || exit.cause._tag !== "Fail") return undefined
  const error: unknown = exit.cause.error
  return typeof error === "object" && error !== null && "reason" in error ? String(error.reason) : undefined
}

describe("RegistryClient.TransportTimeout", { timeout: 20_000 }, () => {
  it.effect("without it, the client's own timer fails a request that gets no answer", () =>
    Effect.gen(function*() {
      const client = yield* clientWith(Option.none())
      const fiber = yield* Effect.fork(client.manifestDigest("app", "v1"))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("11 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(reasonOf(exit), "Timeout")
    }))

  it.effect("a transport limit no longer than the client's: reads are left to the transport (no timer of ours)", () =>
    Effect.gen(function*() {
      const client = yield* clientWith(Option.some("5 seconds"))
      const fiber = yield* Effect.fork(client.manifestDigest("app", "v1"))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("60 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting for the transport")
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a transport limit longer than the client's: the client's timer still applies", () =>
    Effect.gen(function*() {
      const client = yield* clientWith(Option.some("30 seconds"))
      const fiber = yield* Effect.fork(client.manifestDigest("app", "v1"))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("11 seconds")
      assert.strictEqual(reasonOf(yield* Fiber.await(fiber)), "Timeout")
    }))

  // Downloads a blob whose body stalls after two bytes, moving the clock on by 11 s up to eight times (the first
  // read and its three resumes each stall for the 10 s timeout); the download's exit, or none while it waits.
  const stalledDownload = (transport: Option.Option<Duration.DurationInput>, bodyIdle?: Duration.DurationInput) =>
    Effect.gen(function*() {
      const client = yield* clientWith(transport, bodyIdle)
      const fiber = yield* Effect.fork(Stream.runDrain(client.downloadBlob("app", sha256(text("hello")))))
      for (let i = 0; i < 8 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* Effect.yieldNow()
        yield* TestClock.adjust("11 seconds")
      }
      const exit = yield* Fiber.poll(fiber)
      yield* Fiber.interrupt(fiber)
      return exit
    })

  it.effect("a download whose body stalls: the client's watchdog fails it when the transport does not watch bodies", () =>
    Effect.gen(function*() {
      const exit = yield* stalledDownload(Option.some("5 seconds"))
      assert.isTrue(Option.isSome(exit) && reasonOf(exit.value) === "Timeout")
    }))

  it.effect("a download whose body stalls is left to a transport watching bodies as closely (no watchdog of ours)", () =>
    Effect.gen(function*() {
      const exit = yield* stalledDownload(Option.some("5 seconds"), "10 seconds")
      assert.isTrue(Option.isNone(exit), "still waiting for the transport")
    }))

  it.effect("a transport watching bodies less closely than the client's timeout: the watchdog still applies", () =>
    Effect.gen(function*() {
      const exit = yield* stalledDownload(Option.some("5 seconds"), "30 seconds")
      assert.isTrue(Option.isSome(exit) && reasonOf(exit.value) === "Timeout")
    }))

  it.effect("requests carrying a body keep the client's timer whatever the transport says", () =>
    Effect.gen(function*() {
      const client = yield* clientWith(Option.some("1 second"))
      const blob = text("hello")
      const fiber = yield* Effect.fork(
        client.uploadBlob("app", sha256(blob), BlobSource.fromBytes(blob), { size: blob.length })
      )
      seen.length = 0
      yield* Effect.yieldNow()
      yield* TestClock.adjust("11 seconds")
      yield* Effect.yieldNow()
      // the PUT got no answer; our timer ended it and the client went on (asking the session's status)
      const put = seen.indexOf("PUT")
      assert.isAtLeast(put, 0)
      assert.isAbove(seen.length, put + 1, `requests after the PUT: ${seen.join(" ")}`)
      yield* Fiber.interrupt(fiber)
    }))
})
