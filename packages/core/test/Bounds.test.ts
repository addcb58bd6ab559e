// Bounded work on hostile input (issue 15, items 3 and 6): decoding stops at the first problem, whatever the
// body, in time of the order of reading the JSON; messages stay a few KB and carry no control characters.
// Times are measured with performance.now around the decode only, and a decode over its bound is measured
// again (the smallest of three counts): a scheduler pause on a loaded machine is not work the decode did.
import { Descriptor, Digest, Manifest, MediaType, Reference, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as FastDecode from "../src/internal/fastDecode.js"

const encoder = new TextEncoder()
const D = `sha256:${"a".repeat(64)}`
const Layer = `{"mediaType":"${MediaType.OciLayerGzip}","digest":"${D}","size":1}`
const ESC = "\u001b"
// ESC as a JSON text writes it (a raw control character would make the JSON itself invalid)
const JSON_ESC = "\\u001b"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : exit.cause._tag}`)
}

/**
 * Decodes, returning the outcome and the smallest time of up to `tries` runs whenever one is over `bound`;
 * then also the smallest time of reading the same bytes as JSON (`TextDecoder` + `JSON.parse`), the floor
 * no decoder can go under: on a machine loaded enough for that alone to exceed the bound, the decode is held
 * to a small multiple of it instead.
 */
const timedDecode = async (bytes: Uint8Array, bound: number, tries = 5) => {
  let best = Infinity
  let exit: Exit.Exit<Manifest.Any, RegistryError.ManifestInvalid> | undefined
  for (let i = 0; i < tries && best > bound; i++) {
    const start = performance.now()
    // the digest of a valid manifest is computed with WebCrypto, which is asynchronous
    exit = await Effect.runPromiseExit(Manifest.decode(bytes))
    best = Math.min(best, performance.now() - start)
  }
  if (exit === undefined) return assert.fail("no decode ran")
  let floor = 0
  if (best > bound) {
    floor = Infinity
    for (let i = 0; i < 3; i++) {
      const start = performance.now()
      JSON.parse(new TextDecoder().decode(bytes))
      floor = Math.min(floor, performance.now() - start)
    }
  }
  return { exit, millis: best, floor }
}

const assertFast = (t: { readonly millis: number; readonly floor: number }, bound: number, what: string) =>
  assert.isTrue(
    t.millis < bound || t.millis < 3 * t.floor + 5,
    `${what}: decoded in ${t.millis.toFixed(1)} ms, over ${bound} ms and over 3 × the ${
      t.floor.toFixed(1)
    } ms JSON.parse alone takes`
  )

const oci = (layers: string) =>
  `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${Layer},"layers":[${layers}]}`

describe("hostile manifests", () => {
  it("a 400 KB manifest of 200 000 invalid layers: first problem only, a short message", async () => {
    const bytes = encoder.encode(oci(Array(200_000).fill("1").join(",")))
    assert.isAtLeast(bytes.length, 400_000)
    const timed = await timedDecode(bytes, 250)
    const error = failureOf(timed.exit)
    assert.strictEqual(error.reason, "Schema")
    assert.include(error.message, "layers[0]")
    assert.isBelow(error.message.length, 8 * 1024)
    assert.isUndefined(error.cause, "the Schema error (which would format the whole input) is not kept")
    assertFast(timed, 250, "decode")
  })

  it("3.9 MB of invalid layers (under the 4 MiB limit): a short message, far from seconds", async () => {
    const bytes = encoder.encode(oci(Array(1_950_000).fill("1").join(",")))
    assert.isAbove(bytes.length, 3_900_000)
    assert.isBelow(bytes.length, Manifest.DefaultMaxSize)
    const timed = await timedDecode(bytes, 1000)
    const error = failureOf(timed.exit)
    assert.isBelow(error.message.length, 8 * 1024)
    assertFast(timed, 1000, "decode")
  })

  it("thousands of valid layers and one invalid at the end: found, named, quickly", async () => {
    const n = 20_000
    const bytes = encoder.encode(
      oci(Array(n).fill(Layer).join(",") + `,{"mediaType":"x","digest":"${JSON_ESC}[2J","size":1}`)
    )
    const timed = await timedDecode(bytes, 500)
    const error = failureOf(timed.exit)
    assert.include(error.message, `layers[${n}].digest`)
    assert.notInclude(error.message, ESC)
    assertFast(timed, 500, "decode")
  })

  it("a huge string where a descriptor belongs is quoted, not copied", () => {
    const bytes = encoder.encode(
      `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":"${"x".repeat(3_000_000)}","layers":[]}`
    )
    const error = failureOf(Effect.runSyncExit(Manifest.decode(bytes)))
    assert.include(error.message, "config")
    assert.isBelow(error.message.length, 1024)
  })

  it("an image config with a million invalid diff_ids", () => {
    const bytes = encoder.encode(
      `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[${
        Array(1_000_000).fill("0").join(",")
      }]}}`
    )
    let millis = Infinity
    let exit: Exit.Exit<Manifest.ImageConfig, RegistryError.ManifestInvalid> | undefined
    for (let i = 0; i < 3 && millis > 250; i++) {
      const start = performance.now()
      exit = Effect.runSyncExit(Manifest.decodeImageConfig(bytes))
      millis = Math.min(millis, performance.now() - start)
    }
    const error = failureOf(exit ?? assert.fail("no decode ran"))
    assert.include(error.message, "rootfs.diff_ids[0]")
    assert.isBelow(error.message.length, 1024)
    assert.isBelow(millis, 1000, `decode took ${millis} ms`)
  })

  it("a valid manifest of 20 000 layers decodes to what Schema gives", async () => {
    const bytes = encoder.encode(oci(Array(20_000).fill(Layer).join(",")))
    const m = await Effect.runPromise(Manifest.decode(bytes))
    assert.strictEqual(m.kind, "oci")
    const viaSchema = Schema.decodeUnknownSync(Manifest.OciManifest)(JSON.parse(new TextDecoder().decode(bytes)))
    assert.deepStrictEqual(m.manifest, viaSchema)
  })
})

// --- the fast decoder gives Schema's answers ------------------------------------------------------------------

const schemas = {
  schema1: Manifest.Schema1,
  schema2: Manifest.Schema2,
  list: Manifest.ManifestList,
  oci: Manifest.OciManifest,
  index: Manifest.OciIndex,
  config: Manifest.ImageConfig,
  descriptor: Descriptor.Descriptor
} as const

const digestish = fc.oneof(fc.constant(D), fc.constant(`sha512:${"b".repeat(128)}`), fc.string({ maxLength: 8 }))
const descriptorish = fc.record({
  mediaType: fc.oneof(fc.constant(MediaType.OciLayerGzip), fc.integer()),
  digest: digestish,
  size: fc.oneof(fc.nat(), fc.integer({ min: -3, max: -1 }), fc.double()),
  urls: fc.oneof(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.constant(null)),
  annotations: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), {
    maxKeys: 3
  }),
  platform: fc.record({ os: fc.constant("linux"), architecture: fc.oneof(fc.constant("amd64"), fc.integer()) }),
  data: fc.oneof(fc.constant("aGk="), fc.constant("not base64!")),
  extra: fc.jsonValue({ maxDepth: 2 })
}, { requiredKeys: ["mediaType", "digest", "size"] })
const manifestish = fc.record({
  schemaVersion: fc.constantFrom(1, 2, 3, "2"),
  mediaType: fc.constantFrom(MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifestSchema2, "x"),
  config: fc.oneof(descriptorish, fc.constant({ mediaType: "x", digest: "", size: 0 }), fc.constant(null)),
  layers: fc.oneof(fc.array(descriptorish, { maxLength: 4 }), fc.constant(null), fc.integer()),
  manifests: fc.array(descriptorish, { maxLength: 4 }),
  subject: descriptorish,
  annotations: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), fc.boolean())),
  name: fc.string({ maxLength: 5 }),
  tag: fc.string({ maxLength: 5 }),
  architecture: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
  os: fc.string({ maxLength: 5 }),
  rootfs: fc.record({ type: fc.constant("layers"), diff_ids: fc.array(digestish, { maxLength: 3 }) }),
  fsLayers: fc.array(fc.record({ blobSum: digestish }), { maxLength: 3 }),
  history: fc.array(fc.record({ v1Compatibility: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()) }), {
    maxLength: 3
  })
}, { requiredKeys: [] })

describe("the fast decoder", () => {
  it.prop(
    "agrees with Schema (first error) on success, value and failure",
    [fc.constantFrom(...(Object.keys(schemas) as Array<keyof typeof schemas>)), fc.oneof(manifestish, descriptorish)],
    ([which, value]) => {
      const schema: Schema.Schema<unknown, unknown> = schemas[which] as Schema.Schema<unknown, unknown>
      const expected = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "preserve" })(
        structuredClone(value)
      )
      const actual = FastDecode.decode(schema)(structuredClone(value))
      assert.strictEqual(Either.isRight(actual), Either.isRight(expected), JSON.stringify(value))
      if (Either.isRight(actual) && Either.isRight(expected)) assert.deepStrictEqual(actual.right, expected.right)
    },
    { fastCheck: { numRuns: 2_000 } }
  )
})

// --- 1 000 hostile manifests up to the size limit -------------------------------------------------------------

// A hostile body of about `size` bytes, built from repeated pieces (generating it costs little).
const hostile = (shape: number, size: number, at: number): string => {
  const fill = (piece: string, wrap: (inner: string) => string) => {
    const n = Math.max(1, Math.floor((size - wrap("").length) / (piece.length + 1)))
    return wrap(Array(n).fill(piece).join(","))
  }
  const badAt = (inner: string) => {
    // a valid list with one bad entry at a relative position `at`
    const items = inner.split("},{")
    const i = Math.min(items.length - 1, Math.floor(at * items.length))
    items[i] = items[i].replace(/"size":1/, "\"size\":-1")
    return items.join("},{")
  }
  switch (shape) {
    case 0:
      return fill("1", oci)
    case 1:
      return fill("{}", oci)
    case 2:
      return fill(Layer, (inner) => oci(badAt(inner)))
    case 3:
      return fill(
        Layer,
        (inner) => `{"schemaVersion":2,"mediaType":"${MediaType.OciIndex}","manifests":[${badAt(inner)}]}`
      )
    case 4:
      return fill(`"k":1`, (inner) => `{"schemaVersion":2,"config":${Layer},"layers":[],"annotations":{${inner}}}`)
    case 5:
      return fill(
        `{"blobSum":"sha256:${"0".repeat(63)}"}`,
        (inner) => `{"schemaVersion":1,"name":"a","tag":"b","architecture":"c","fsLayers":[${inner}],"history":[]}`
      )
    case 6:
      return `{"schemaVersion":2,"config":"${JSON_ESC}[31m${"x".repeat(Math.max(0, size - 60))}","layers":[]}`
    case 7:
      return fill(
        `"${JSON_ESC}]0;pwned${JSON_ESC}\\\\":{}`,
        (inner) => `{"schemaVersion":2,"config":{${inner}},"layers":[]}`
      )
    case 8:
      return fill("0", (inner) => "[".repeat(60) + inner + "]".repeat(60))
    default:
      return fill(Layer, (inner) => oci(inner)).slice(0, -Math.max(1, Math.floor(at * 100)))
  }
}

const hostileCase = fc.record({
  shape: fc.integer({ min: 0, max: 9 }),
  // mostly small and medium bodies, a handful near the limit
  size: fc.oneof(
    { weight: 80, arbitrary: fc.integer({ min: 100, max: 16 * 1024 }) },
    { weight: 18, arbitrary: fc.integer({ min: 16 * 1024, max: 256 * 1024 }) },
    { weight: 2, arbitrary: fc.integer({ min: Manifest.DefaultMaxSize - 200_000, max: Manifest.DefaultMaxSize - 100 }) }
  ),
  at: fc.double({ min: 0, max: 1, noNaN: true })
})

describe("1 000 hostile manifests", () => {
  it("each decoded in under 50 ms to a typed result, messages under 8 KB", async () => {
    let decoded = 0
    await fc.assert(
      fc.asyncProperty(hostileCase, async ({ at, shape, size }) => {
        const bytes = encoder.encode(hostile(shape, size, at))
        assert.isAtMost(bytes.length, Manifest.DefaultMaxSize)
        const timed = await timedDecode(bytes, 50)
        decoded++
        if (Exit.isFailure(timed.exit)) {
          const error = failureOf(timed.exit)
          assert.isTrue(RegistryError.isRegistryError(error))
          assert.isBelow(error.message.length, 8 * 1024)
          assert.notInclude(error.message, ESC)
        }
        assertFast(timed, 50, `shape ${shape}, ${bytes.length} bytes`)
      }),
      { numRuns: 1_000 }
    )
    assert.strictEqual(decoded, 1_000)
  }, 120_000)
})

// --- echoed input ---------------------------------------------------------------------------------------------

describe("echoed input is bounded and printable", () => {
  it("Digest.parse of 100 KB", () => {
    const error = failureOf(Effect.runSyncExit(Digest.parse(`${"x".repeat(100_000)}:${"y".repeat(100_000)}`)))
    assert.isBelow(error.message.length, 1024)
    assert.isBelow((error.digest ?? "").length, 400)
    const hex = failureOf(Effect.runSyncExit(Digest.parse(`sha256:${"z".repeat(100_000)}`)))
    assert.isBelow(hex.message.length, 1024)
  })

  it("Reference.parse, Reference.repository and tags of 100 KB", () => {
    const long = "a/".repeat(50_000) + "b"
    const exits: ReadonlyArray<Exit.Exit<unknown, RegistryError.RegistryError>> = [
      Effect.runSyncExit(Reference.parse(long)),
      Effect.runSyncExit(Reference.parse(`host/${ESC}[2J:tag`)),
      Effect.runSyncExit(Reference.repository(long)),
      Effect.runSyncExit(Reference.tagOrDigest("t".repeat(100_000)))
    ]
    for (const exit of exits) {
      const error = failureOf(exit)
      assert.isBelow(error.message.length, 1024)
      assert.notInclude(error.message, ESC)
    }
  })

  it("a registry's error entries: a few shown, each short, no control characters", () => {
    const errors = Array.from({ length: 1000 }, (_, i) => ({
      code: `CODE${i}`,
      message: `${ESC}[2J${ESC}]0;title\u0007\u009b31m\u202eevil ${"m".repeat(10_000)}`
    }))
    const error = new RegistryError.Denied({
      repository: `r${ESC}[1m`,
      status: 403,
      errors,
      detail: "d".repeat(100_000)
    })
    const message = error.message
    assert.isBelow(message.length, 4 * 1024)
    assert.notMatch(message, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/)
    assert.include(message, "CODE0")
    assert.include(message, "995 more")
  })

  it("printable: control characters and bidirectional overrides replaced, long text cut with a count", () => {
    assert.strictEqual(RegistryError.printable(`a${ESC}[2Jb\nc\td`, 100), "a\uFFFD[2Jb c d")
    assert.strictEqual(RegistryError.printable("a\nb", 100, { multiline: true }), "a\nb")
    assert.strictEqual(RegistryError.printable("\u202eabc\u0085", 100), "\uFFFDabc\uFFFD")
    assert.strictEqual(RegistryError.printable("abcdef", 3), "abc… (3 more characters)")
    // a surrogate pair is not split
    assert.strictEqual(RegistryError.printable("ab\u{1F600}", 3), "ab… (2 more characters)")
  })
})
