/**
 * Content digests (`algorithm:encoded`), as registries speak them.
 *
 * Only the two algorithms the distribution spec registers are accepted:
 * `sha256` (64 lowercase hex characters) and `sha512` (128). Anything else is a
 * `DigestInvalid` whose `detail` names the problem.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as RegistryError from "./RegistryError.js"

/**
 * The digest algorithms effect-registry knows.
 *
 * @since 0.1.0
 * @category models
 */
export type Algorithm = "sha256" | "sha512"

/**
 * The supported algorithms and the length of their hex encoding.
 *
 * @since 0.1.0
 * @category models
 */
export const Algorithms: { readonly [A in Algorithm]: number } = { sha256: 64, sha512: 128 }

// How much of a refused input an error keeps (a sha512 digest is 135 characters).
const EchoLimit = 160

const WELL_FORMED = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/

/**
 * Explains why a string is not a supported digest, or `undefined` when it is one.
 *
 * @since 0.1.0
 * @category utils
 */
export const problem = (s: string): string | undefined => {
  // the common case in one test: manifests of thousands of descriptors check thousands of digests
  if (WELL_FORMED.test(s)) return undefined
  if (s.length === 0) return "empty digest"
  const colon = s.indexOf(":")
  if (colon < 0) return "missing ':' between algorithm and encoded part"
  const algorithm = s.slice(0, colon)
  const hex = s.slice(colon + 1)
  if (algorithm.length === 0) return "missing algorithm before ':'"
  const shown = () => RegistryError.printable(algorithm, 32)
  if (!GRAMMAR.test(algorithm)) {
    return /[A-Z]/.test(algorithm) && GRAMMAR.test(algorithm.toLowerCase())
      ? `algorithm "${shown()}" must be lowercase`
      : `malformed algorithm "${shown()}"`
  }
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    return `unknown algorithm "${shown()}" (expected sha256 or sha512)`
  }
  return hexProblem(algorithm, hex)
}

const hexProblem = (algorithm: Algorithm, hex: string): string | undefined => {
  const expected = Algorithms[algorithm]
  if (hex.length === 0) return `missing ${algorithm} hex after ':'`
  if (/[A-F]/.test(hex) && /^[0-9a-fA-F]+$/.test(hex)) return `${algorithm} hex must be lowercase`
  if (!/^[0-9a-f]+$/.test(hex)) return `${algorithm} encoded part must be hex (0-9, a-f)`
  if (hex.length !== expected) return `${algorithm} hex must be ${expected} characters, got ${hex.length}`
  return undefined
}

/**
 * A digest: `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
 *
 * Decoding an unknown value with this schema reports what is wrong; for code use
 * {@link parse}, which fails with `DigestInvalid`.
 *
 * @since 0.1.0
 * @category models
 */
export const Digest = Schema.String.pipe(
  Schema.filter((s) => problem(s) ?? true, {
    identifier: "Digest",
    description: "a content digest: sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
  }),
  Schema.brand("Digest")
)

/**
 * @since 0.1.0
 * @category models
 */
export type Digest = typeof Digest.Type

/**
 * @since 0.1.0
 * @category guards
 */
export const isDigest = (u: unknown): u is Digest => typeof u === "string" && problem(u) === undefined

/**
 * Brands a string as a digest WITHOUT checking it: for constants known to be
 * valid. Use {@link parse} for anything that comes from outside.
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const empty = Digest.unsafeMake("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
 * ```
 *
 * @since 0.1.0
 * @category unsafe
 */
export const unsafeMake = (s: string): Digest => s as Digest

/**
 * Validates a digest string, naming the problem when it is not one.
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 * import * as Either from "effect/Either"
 *
 * Either.isRight(Digest.either("sha256:xyz")) // false: "sha256 encoded part must be hex (0-9, a-f)"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const either = (s: string): Either.Either<Digest, RegistryError.DigestInvalid> => {
  const p = problem(s)
  return p === undefined
    ? Either.right(unsafeMake(s))
    : Either.left(new RegistryError.DigestInvalid({ digest: RegistryError.printable(s, EchoLimit), detail: p }))
}

/**
 * Parses a digest string.
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const d = Digest.parse("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (s: string): Effect.Effect<Digest, RegistryError.DigestInvalid> => either(s)

/**
 * Builds a digest from an algorithm and its hex encoding (go-digest's `NewDigestFromHex`).
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const d = Digest.fromHex("sha256", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromHex = (algorithm: Algorithm, hex: string): Effect.Effect<Digest, RegistryError.DigestInvalid> => {
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    return Effect.fail(
      new RegistryError.DigestInvalid({
        digest: RegistryError.printable(`${String(algorithm)}:${hex}`, EchoLimit),
        detail: `unknown algorithm "${String(algorithm)}" (expected sha256 or sha512)`
      })
    )
  }
  const p = hexProblem(algorithm, hex)
  return p === undefined
    ? Effect.succeed(unsafeMake(`${algorithm}:${hex}`))
    : Effect.fail(new RegistryError.DigestInvalid({ digest: `${algorithm}:${hex}`, detail: p }))
}

/**
 * The algorithm part of a digest.
 *
 * @since 0.1.0
 * @category utils
 */
export const algorithm = (d: Digest): Algorithm => d.startsWith("sha512:") ? "sha512" : "sha256"

/**
 * The encoded (hex) part of a digest.
 *
 * @since 0.1.0
 * @category utils
 */
export const encoded = (d: Digest): string => d.slice(d.indexOf(":") + 1)

const toArrayBufferView = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes)

const hex = (buffer: ArrayBuffer): string => {
  const view = new Uint8Array(buffer)
  let out = ""
  for (let i = 0; i < view.length; i++) out += view[i].toString(16).padStart(2, "0")
  return out
}

/**
 * Computes the digest of bytes held in memory with WebCrypto (`crypto.subtle`),
 * available in every modern runtime. Meant for small data such as manifests; for
 * streams use the `Hash` service.
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const d = Digest.sha256(new TextEncoder().encode("{}"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const sha256 = (bytes: Uint8Array): Effect.Effect<Digest> => compute("sha256", bytes)

/**
 * Computes the sha512 digest of bytes held in memory (WebCrypto).
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const d = Digest.sha512(new TextEncoder().encode("{}"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const sha512 = (bytes: Uint8Array): Effect.Effect<Digest> => compute("sha512", bytes)

/**
 * Computes the digest of bytes held in memory with the given algorithm (WebCrypto).
 *
 * @example
 * ```ts
 * import { Digest } from "@effect-registry/core"
 *
 * const d = Digest.compute("sha256", new Uint8Array([1, 2, 3]))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const compute = (algorithm: Algorithm, bytes: Uint8Array): Effect.Effect<Digest> =>
  Effect.promise(() =>
    globalThis.crypto.subtle.digest(algorithm === "sha256" ? "SHA-256" : "SHA-512", toArrayBufferView(bytes))
  )
    .pipe(Effect.map((buffer) => unsafeMake(`${algorithm}:${hex(buffer)}`)))
