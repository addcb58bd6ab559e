// The pure transitions of the upload state machine (src/internal/ops/uploadState.ts).
import * as RegistryError from "@effect-registry/core/RegistryError"
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as UploadState from "../src/internal/ops/uploadState.js"

const { Step } = UploadState
const chunk = { start: 1000, end: 2000 }

describe("UploadState.plan", () => {
  it("a chunk size wins, raised to the registry's minimum and to 1 byte", () => {
    assert.deepStrictEqual(
      UploadState.plan({ size: 10, chunkSize: 100 }, 0),
      UploadState.Plan.Chunked({ chunkSize: 100 })
    )
    assert.deepStrictEqual(UploadState.plan({ chunkSize: 100 }, 2000), UploadState.Plan.Chunked({ chunkSize: 2000 }))
    assert.deepStrictEqual(UploadState.plan({ chunkSize: 0 }, 0), UploadState.Plan.Chunked({ chunkSize: 1 }))
  })

  it("a known size without chunk size is monolithic (0 bytes included); neither is streamed", () => {
    assert.deepStrictEqual(UploadState.plan({ size: 0 }, 5000), UploadState.Plan.Monolithic({ size: 0 }))
    assert.deepStrictEqual(UploadState.plan({}, 5000), UploadState.Plan.Streamed())
  })
})

describe("UploadState: a chunk's answer", () => {
  it("a Range covering the chunk, or none, is Done", () => {
    assert.deepStrictEqual(UploadState.afterChunkAnswer(Option.some(2000), chunk, 1000), Step.Done())
    assert.deepStrictEqual(UploadState.afterChunkAnswer(Option.some(2500), chunk, 1000), Step.Done())
    assert.deepStrictEqual(UploadState.afterChunkAnswer(Option.none(), chunk, 1500), Step.Done())
  })

  it("part of the chunk kept: Resuming from where this request started", () => {
    assert.deepStrictEqual(
      UploadState.afterChunkAnswer(Option.some(1500), chunk, 1200),
      Step.Resuming({ confirmed: 1200 })
    )
    assert.deepStrictEqual(
      UploadState.afterChunkAnswer(Option.some(1000), chunk, 1000),
      Step.Resuming({ confirmed: 1000 })
    )
  })

  it("bytes of earlier chunks missing: Lost (BytesLost)", () => {
    assert.deepStrictEqual(UploadState.afterChunkAnswer(Option.some(999), chunk, 1000), Step.Lost({ why: "BytesLost" }))
  })
})

describe("UploadState: resuming from the registry's Range", () => {
  it("a chunk goes on from the first byte the registry lacks", () => {
    assert.deepStrictEqual(UploadState.resumeChunk(Option.some(1000), chunk), Step.Sending({ from: 1000 }))
    assert.deepStrictEqual(UploadState.resumeChunk(Option.some(1500), chunk), Step.Sending({ from: 1500 }))
    assert.deepStrictEqual(UploadState.resumeChunk(Option.some(2000), chunk), Step.Done())
    assert.deepStrictEqual(UploadState.resumeChunk(Option.some(999), chunk), Step.Lost({ why: "BytesLost" }))
    assert.deepStrictEqual(UploadState.resumeChunk(Option.none(), chunk), Step.Lost({ why: "StatusUnknown" }))
  })

  it("a streamed body resumes only from a re-openable source, within the bytes it gave", () => {
    const reopenable = { reopenable: true, given: 700 }
    assert.deepStrictEqual(UploadState.resumeStream(Option.some(300), reopenable), Step.Sending({ from: 300 }))
    assert.deepStrictEqual(UploadState.resumeStream(Option.some(700), reopenable), Step.Sending({ from: 700 }))
    assert.deepStrictEqual(UploadState.resumeStream(Option.some(701), reopenable), Step.Lost({ why: "RequestFailed" }))
    assert.deepStrictEqual(
      UploadState.resumeStream(Option.some(300), { reopenable: false, given: 700 }),
      Step.Lost({ why: "RequestFailed" })
    )
    assert.deepStrictEqual(UploadState.resumeStream(Option.none(), reopenable), Step.Lost({ why: "StatusUnknown" }))
  })

  it("the closing PUT is sent again only when the registry holds exactly the bytes sent", () => {
    assert.deepStrictEqual(UploadState.resumeClose(Option.some(2500), 2500), Step.Sending({ from: 2500 }))
    assert.deepStrictEqual(UploadState.resumeClose(Option.some(2000), 2500), Step.Lost({ why: "BytesLost" }))
    assert.deepStrictEqual(UploadState.resumeClose(Option.some(2600), 2500), Step.Lost({ why: "BytesLost" }))
    assert.deepStrictEqual(UploadState.resumeClose(Option.none(), 2500), Step.Lost({ why: "StatusUnknown" }))
  })

  it("resuming a chunk never goes backwards nor past the chunk (property)", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.nat(10_000),
        FastCheck.integer({ min: 1, max: 10_000 }),
        FastCheck.option(FastCheck.nat(30_000), { nil: undefined }),
        (start, length, held) => {
          const c = { start, end: start + length }
          const next = UploadState.resumeChunk(Option.fromNullable(held), c)
          if (next._tag === "Sending") return next.from >= c.start && next.from < c.end && next.from === held
          if (next._tag === "Done") return held !== undefined && held >= c.end
          return next._tag === "Lost" && (held === undefined ? next.why === "StatusUnknown" : held < c.start)
        }
      )
    ))
})

describe("UploadState: the source", () => {
  const oneShot = { reopenable: false, opened: false, pulled: false }
  it("a one-shot stream opens at its start once, or again while nothing was pulled", () => {
    assert.isTrue(UploadState.canOpen(oneShot, 0))
    assert.isFalse(UploadState.canOpen(oneShot, 1))
    assert.isTrue(UploadState.canOpen({ ...oneShot, opened: true }, 0))
    assert.isFalse(UploadState.canOpen({ ...oneShot, opened: true, pulled: true }, 0))
    assert.isTrue(UploadState.canRestart({ ...oneShot, opened: true }))
    assert.isFalse(UploadState.canRestart({ ...oneShot, opened: true, pulled: true }))
  })

  it("a re-openable source opens at any offset and always restarts", () => {
    const source = { reopenable: true, opened: true, pulled: true }
    assert.isTrue(UploadState.canOpen(source, 12345))
    assert.isTrue(UploadState.canRestart(source))
  })

  it("each byte is hashed once, by offset", () => {
    assert.deepStrictEqual(UploadState.unhashedFrom(0, 0, 10), Option.some(0))
    assert.deepStrictEqual(UploadState.unhashedFrom(10, 0, 10), Option.none())
    assert.deepStrictEqual(UploadState.unhashedFrom(10, 5, 10), Option.some(5))
    assert.deepStrictEqual(UploadState.unhashedFrom(10, 10, 4), Option.some(0))
    assert.deepStrictEqual(UploadState.unhashedFrom(10, 0, 0), Option.none())
  })
})

describe("UploadState.isRecoverable", () => {
  it.each(
    [
      ["a broken connection", new RegistryError.TransportError({ reason: "Transport" }), true],
      ["a 503", new RegistryError.RegistryUnavailable({ status: 503 }), true],
      ["BLOB_UPLOAD_INVALID", new RegistryError.BlobUploadInvalid({}), true],
      ["BLOB_UPLOAD_UNKNOWN", new RegistryError.BlobUploadUnknown({}), true],
      ["an expired token", new RegistryError.Unauthorized({ reason: "InvalidToken" }), true],
      ["credentials refused", new RegistryError.Unauthorized({ reason: "RejectedCredentials" }), false],
      ["DIGEST_INVALID", new RegistryError.DigestInvalid({}), false],
      ["a digest mismatch", new RegistryError.DigestMismatch({ expected: "a", actual: "b" }), false]
    ] as const
  )("%s -> %s", (_, error, expected) => {
    assert.strictEqual(UploadState.isRecoverable(error), expected)
  })
})
