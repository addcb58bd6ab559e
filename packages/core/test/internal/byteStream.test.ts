// provideContextOnce: a request body built in one fiber and run by the HTTP client in another gets the services it
// was built with; when the running fiber already has them (the same instances), nothing is provided again.
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ByteStream from "../../src/internal/byteStream.js"

class Source extends Context.Tag("test/Source")<Source, { readonly name: string }>() {}

// the name of the Source the stream saw, and the name of the span it ran in
const seen = Stream.fromEffect(
  Effect.all([
    Effect.map(Source, (s) => s.name),
    Effect.map(Effect.option(Effect.currentSpan), Option.match({ onNone: () => "none", onSome: (s) => s.name }))
  ])
)

const built = (name: string) =>
  Effect.context<Source>().pipe(
    Effect.map((context) => ByteStream.provideContextOnce(seen, context)),
    Effect.withSpan("built"),
    Effect.provideService(Source, { name })
  )

describe("ByteStream.provideContextOnce", () => {
  it.effect("a fiber without the services gets them provided", () =>
    Effect.gen(function*() {
      const body = yield* built("given")
      const [[source, span]] = yield* Stream.runCollect(body)
      assert.strictEqual(source, "given")
      assert.strictEqual(span, "built")
    }))

  it.effect("a fiber with other instances of the services gets the ones it was built with", () =>
    Effect.gen(function*() {
      const body = yield* built("given")
      const [[source, span]] = yield* Stream.runCollect(body).pipe(
        Effect.withSpan("running"),
        Effect.provideService(Source, { name: "other" })
      )
      assert.strictEqual(source, "given")
      assert.strictEqual(span, "built")
    }))

  it.effect("a fiber with the same services runs it as it is, in its own span", () =>
    Effect.gen(function*() {
      const instance = { name: "same" }
      const [[source, span]] = yield* Effect.gen(function*() {
        const context = yield* Effect.context<Source>().pipe(Effect.withSpan("built"))
        const body = ByteStream.provideContextOnce(seen, context)
        return yield* Stream.runCollect(body).pipe(Effect.withSpan("running"))
      }).pipe(Effect.provideService(Source, instance))
      assert.strictEqual(source, "same")
      // not provided again: the span is the running fiber's own
      assert.strictEqual(span, "running")
    }))
})
