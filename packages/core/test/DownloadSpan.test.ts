// The span of downloadBlob: one per download, ended with the stream's exit, parent of the requests' spans.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { clientFor, FakeRegistry, sha256, text } from "./RegistryClient.fake.js"

interface Recorded {
  readonly name: string
  readonly spanId: string
  readonly parentId: string | undefined
  exit?: Exit.Exit<unknown, unknown>
}

const recording = () => {
  const spans: Array<Recorded> = []
  let next = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const record: Recorded = {
        name,
        spanId: `s${next++}`,
        parentId: Option.isSome(parent) ? parent.value.spanId : undefined
      }
      spans.push(record)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: record.spanId,
        traceId: "t",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: new Map(),
        links,
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          record.exit = exit
        },
        attribute: () => {},
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

describe("downloadBlob's span", () => {
  it.effect("ends with the stream's exit and is the parent of the requests' spans", () =>
    Effect.gen(function*() {
      const fake = new FakeRegistry()
      const bytes = text("hello world")
      const digest = fake.putBlob("app", bytes)
      const client = yield* clientFor(fake)
      const { spans, tracer } = recording()
      yield* Stream.runDrain(client.downloadBlob("app", digest)).pipe(Effect.withTracer(tracer))
      const downloads = spans.filter((s) => s.name === "RegistryClient.downloadBlob")
      assert.strictEqual(downloads.length, 1)
      const own = downloads[0]
      assert.isTrue(own.exit !== undefined && Exit.isSuccess(own.exit), "ended, successfully")
      const children = spans.filter((s) => s.parentId === own.spanId)
      assert.isAbove(children.length, 0, `spans under it: ${spans.map((s) => s.name).join(", ")}`)
      assert.isTrue(children.every((s) => s.exit !== undefined), "every child ended")

      // a failed download: its span ends with the failure
      const { spans: failed, tracer: second } = recording()
      fake.blobs.set(`app@${sha256(text("good"))}`, text("evil"))
      const error = yield* Stream.runDrain(client.downloadBlob("app", sha256(text("good")))).pipe(
        Effect.withTracer(second),
        Effect.flip
      )
      assert.strictEqual(error._tag, "DigestMismatch")
      const span = failed.find((s) => s.name === "RegistryClient.downloadBlob")
      assert.isTrue(span?.exit !== undefined && Exit.isFailure(span.exit), "ended with the failure")
    }))
})
