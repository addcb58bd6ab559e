import * as RegistryError from "@effect-registry/core/RegistryError"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import { expectTypeOf } from "vitest"

// Every error class is made by one base (RegistryError.ts): these pin what each class is made of,
// the text of every headline, and the by-tag helpers the operation unions are built with.

const where = { repository: "library/alpine", reference: "latest", status: 404, request: "GET /v2/library/alpine" }
const fixedHeadlines: ReadonlyArray<readonly [RegistryError.RegistryError, string]> = [
  [new RegistryError.Denied(where), "Access denied"],
  [new RegistryError.ManifestUnknown(where), "Manifest unknown"],
  [new RegistryError.BlobUnknown(where), "Blob unknown"],
  [new RegistryError.NameUnknown(where), "Repository unknown"],
  [new RegistryError.NameInvalid(where), "Invalid repository name"],
  [new RegistryError.TagInvalid(where), "Invalid tag"],
  [new RegistryError.DigestInvalid(where), "Invalid digest"],
  [new RegistryError.ReferenceInvalid(where), "Invalid image reference"],
  [new RegistryError.ManifestBlobUnknown(where), "Manifest references an unknown blob"],
  [new RegistryError.ManifestUnverified(where), "Manifest signature does not verify"],
  [new RegistryError.BlobUploadUnknown(where), "Upload session unknown"],
  [new RegistryError.BlobUploadInvalid(where), "Upload session refused the request"],
  [new RegistryError.RangeInvalid(where), "Range not satisfiable"],
  [new RegistryError.Unsupported(where), "Operation not supported by the registry"],
  [new RegistryError.TooManyRequests({ ...where, retryAfter: Duration.seconds(2) }), "Too many requests"],
  [new RegistryError.PaginationNumberInvalid(where), "Invalid page size"],
  [new RegistryError.RegistryUnavailable({ ...where, retryAfter: Duration.seconds(1) }), "Registry unavailable"],
  [new RegistryError.UploadNotResumable(where), "Upload cannot be resumed"]
]

describe("RegistryError classes", () => {
  it("each is a branded, tagged Error whose message is its headline and the fields", () => {
    const tail = " (repository library/alpine, reference latest) [HTTP 404, GET /v2/library/alpine]"
    for (const [error, headline] of fixedHeadlines) {
      assert.isTrue(RegistryError.isRegistryError(error))
      assert.instanceOf(error, Error)
      assert.strictEqual(error.name, error._tag)
      assert.strictEqual(error[RegistryError.TypeId], RegistryError.TypeId)
      assert.strictEqual(error.message, headline + tail)
      assert.strictEqual(String(error), `${error._tag}: ${headline}${tail}`)
    }
  })

  it("headlines built from fields", () => {
    const cases: ReadonlyArray<readonly [RegistryError.RegistryError, string]> = [
      [
        new RegistryError.Unauthorized({ reason: "InsufficientScope", scopes: ["repository:a:pull", "x\u001b"] }),
        "Unauthorized: the token does not grant the required access (scopes repository:a:pull x\uFFFD)"
      ],
      [
        new RegistryError.DigestMismatch({ expected: "sha256:aa", actual: "sha256:bb" }),
        "Digest mismatch: expected sha256:aa, got sha256:bb"
      ],
      [new RegistryError.SizeMismatch({ expected: 3, actual: 4 }), "Size mismatch: expected 3 bytes, got 4"],
      [
        new RegistryError.ManifestInvalid({ reason: "MediaType", mediaType: "text/html" }),
        "Invalid manifest: unknown or inconsistent manifest media type (text/html)"
      ],
      [
        new RegistryError.UploadNotResumable({ reason: "BytesLost" }),
        "Upload cannot be resumed: the registry holds fewer bytes than were sent; a one-shot source cannot be " +
        "read again (upload from a re-openable source, BlobSource.reopenable or a file, to let the client restart it)"
      ],
      [
        new RegistryError.TransportError({
          reason: "Transport",
          kind: "ConnectionRefused",
          url: "https://user@127.0.0.1:5000/v2/",
          code: "ECONNREFUSED"
        }),
        "Transport error: the connection failed: connection refused by 127.0.0.1:5000: nothing listens there; " +
        "check that the registry is running and that the host and port are right (ECONNREFUSED)"
      ],
      [
        new RegistryError.UnexpectedResponse({ reason: "Pagination" }),
        "Unexpected response: pagination did not end"
      ]
    ]
    for (const [error, message] of cases) assert.strictEqual(error.message, message)
  })

  it("hold their fields and nothing else: what is logged is what was given", () => {
    const cause = { code: "ECONNRESET" }
    const error = new RegistryError.TransportError({ reason: "Transport", url: "https://r.example/v2/", cause })
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(error)),
      { reason: "Transport", url: "https://r.example/v2/", cause, _tag: "TransportError" }
    )
    assert.deepStrictEqual(
      Reflect.ownKeys(error).filter((k) => typeof k === "string").sort(),
      ["_tag", "cause", "reason", "stack", "url"]
    )
  })

  it("compare structurally and fail as effects", () => {
    assert.isTrue(Equal.equals(new RegistryError.Denied(where), new RegistryError.Denied(where)))
    assert.isFalse(Equal.equals(new RegistryError.Denied(where), new RegistryError.BlobUnknown(where)))
    const result = Effect.runSync(Effect.flip(new RegistryError.Denied(where)))
    assert.strictEqual(result._tag, "Denied")
  })
})

describe("RegistryError.ByTag and isOneOf", () => {
  const Missing = ["ManifestUnknown", "NameUnknown"] as const
  const isMissing = RegistryError.isOneOf(Missing)

  it("isOneOf holds for registry errors of those tags only", () => {
    assert.isTrue(isMissing(new RegistryError.ManifestUnknown(where)))
    assert.isTrue(isMissing(new RegistryError.NameUnknown(where)))
    assert.isFalse(isMissing(new RegistryError.Denied(where)))
    assert.isFalse(isMissing({ _tag: "ManifestUnknown" }))
    assert.isFalse(isMissing(undefined))
    assert.isFalse(RegistryError.isOneOf([])(new RegistryError.Denied(where)))
  })

  it("ByTag is the union of the classes of those tags, and isOneOf narrows to it", () => {
    expectTypeOf<RegistryError.ByTag<(typeof Missing)[number]>>().toEqualTypeOf<
      RegistryError.ManifestUnknown | RegistryError.NameUnknown
    >()
    expectTypeOf<RegistryError.ByTag<RegistryError.Tag>>().toEqualTypeOf<RegistryError.RegistryError>()
    const tagOf = (error: RegistryError.RegistryError): string => {
      if (isMissing(error)) {
        expectTypeOf(error).toEqualTypeOf<RegistryError.ManifestUnknown | RegistryError.NameUnknown>()
        return `missing ${error._tag}`
      }
      expectTypeOf(error).toEqualTypeOf<
        Exclude<RegistryError.RegistryError, RegistryError.ManifestUnknown | RegistryError.NameUnknown>
      >()
      return error._tag
    }
    assert.strictEqual(tagOf(new RegistryError.NameUnknown(where)), "missing NameUnknown")
    assert.strictEqual(tagOf(new RegistryError.Denied(where)), "Denied")
  })
})
