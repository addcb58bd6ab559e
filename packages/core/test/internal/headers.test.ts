import { BlobSource } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as LinkHeader from "../../src/internal/http/linkHeader.js"
import * as Range from "../../src/internal/http/range.js"

describe("Link header", () => {
  it("resolves relative and absolute next links", () => {
    const base = "https://r.test/v2/_catalog?n=2"
    assert.deepStrictEqual(
      LinkHeader.nextLink("</v2/_catalog?last=cat%2Fb&n=2>; rel=\"next\"", base),
      Option.some("https://r.test/v2/_catalog?last=cat%2Fb&n=2")
    )
    assert.deepStrictEqual(
      LinkHeader.nextLink("<https://o.test/x?a=1>; rel=prev, <https://o.test/y>; rel=\"next last\"", base),
      Option.some("https://o.test/y")
    )
    assert.isTrue(Option.isNone(LinkHeader.nextLink("<javascript:alert(1)>; rel=next", base)))
    assert.isTrue(Option.isNone(LinkHeader.nextLink("garbage", base)))
    assert.isTrue(Option.isNone(LinkHeader.nextLink(undefined, base)))
  })

  it.prop("never throws", [FastCheck.string()], ([s]) => {
    LinkHeader.parseLinks(s)
    LinkHeader.nextLink(s, "https://r.test/")
    return true
  }, { fastCheck: { numRuns: 2000 } })
})

describe("Range headers", () => {
  it("upload Range", () => {
    assert.deepStrictEqual(Range.uploadedBytes("0-999"), Option.some(1000))
    assert.deepStrictEqual(Range.uploadedBytes("bytes=0-9"), Option.some(10))
    assert.deepStrictEqual(Range.uploadedBytes("0-0"), Option.some(0))
    assert.deepStrictEqual(Range.uploadedBytes("0-0", 1), Option.some(1))
    assert.isTrue(Option.isNone(Range.uploadedBytes("5-2")))
    assert.isTrue(Option.isNone(Range.uploadedBytes("x")))
  })
  it("Content-Range", () => {
    assert.deepStrictEqual(Range.parseContentRange("bytes 2-5/11"), Option.some({ start: 2, end: 5, total: 11 }))
    assert.deepStrictEqual(Range.parseContentRange("bytes 2-5/*"), Option.some({ start: 2, end: 5, total: undefined }))
    assert.isTrue(Option.isNone(Range.parseContentRange("bytes 2-11/11")))
  })
  it("Retry-After seconds and HTTP-date", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")
    assert.deepStrictEqual(Range.parseRetryAfter("120", now), Option.some(Duration.seconds(120)))
    assert.deepStrictEqual(
      Range.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now),
      Option.some(Duration.millis(30_000))
    )
    assert.deepStrictEqual(Range.parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), Option.some(Duration.zero))
    assert.isTrue(Option.isNone(Range.parseRetryAfter("soon", now)))
  })
  it.prop("never throw", [FastCheck.string()], ([s]) => {
    Range.uploadedBytes(s)
    Range.parseContentRange(s)
    Range.parseRetryAfter(s, 0)
    return true
  }, { fastCheck: { numRuns: 2000 } })
})

describe("rechunkBytes", () => {
  it.effect("regroups bytes, not elements", () =>
    Effect.gen(function*() {
      const out = yield* Stream.make(new Uint8Array(3), new Uint8Array(5), new Uint8Array(4)).pipe(
        BlobSource.rechunkBytes(5),
        Stream.runCollect
      )
      assert.deepStrictEqual([...out].map((c) => c.length), [5, 5, 2])
    }))
  it.effect.prop("keeps every byte in order", [
    FastCheck.array(FastCheck.uint8Array({ maxLength: 40 })),
    FastCheck.integer({ min: 1, max: 17 })
  ], ([parts, size]) =>
    Effect.gen(function*() {
      const out = [...(yield* Stream.fromIterable(parts).pipe(BlobSource.rechunkBytes(size), Stream.runCollect))]
      const flat = (xs: ReadonlyArray<Uint8Array>) => xs.flatMap((x) => [...x])
      assert.deepStrictEqual(flat(out), flat(parts))
      for (const c of out.slice(0, -1)) assert.strictEqual(c.length, size)
    }))
})
