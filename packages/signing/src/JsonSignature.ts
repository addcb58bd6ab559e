/**
 * libtrust JSON signatures ("pretty signatures"): a JWS in JSON serialisation whose payload is
 * the signed JSON document itself, with the `signatures` list spliced in before its closing
 * brace.
 *
 * - The payload is a JSON object. `formatLength` is the offset just after its last member (the
 *   last non-space byte before the closing `}`), `formatTail` the bytes from there to the end
 *   (usually `\n}`).
 * - Each signature has a protected header `{"formatLength":N,"formatTail":"<base64url>","time":"<RFC 3339>"}`
 *   (base64url, no padding); the signing input is `protected + "." + base64url(payload)`.
 * - The pretty form is `payload[0, formatLength) + ",\n   \"signatures\": " + <signatures as
 *   three-space indented JSON, each line after the first indented three more spaces> + formatTail`.
 * - A verifier rebuilds the payload from any document as `bytes[0, formatLength) + formatTail`;
 *   every signature must agree on both.
 *
 * The byte, base64 and JSON helpers live in `internal/jsonEncoding`, the certificate chain checks in
 * `internal/certificateChain`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as crypto from "node:crypto"
import { chainHeader, parseRoots, verifyChain } from "./internal/certificateChain.js"
import {
  base64url,
  concat,
  decodeBase64url,
  encoder,
  equalBytes,
  isObject,
  lastNonSpace,
  parseJson,
  rfc3339,
  signError,
  verifyError
} from "./internal/jsonEncoding.js"
import * as Key from "./Key.js"
import type * as KeyId from "./KeyId.js"
import * as SigningError from "./SigningError.js"

/**
 * The name of the member holding the signatures in a schema1 manifest.
 *
 * @since 0.1.0
 * @category models
 */
export const DefaultSignatureKey = "signatures"

/**
 * The unprotected header of a signature: the signer's key as a JWK (`jwk`), or a certificate
 * chain (`x5c`, base64 DER, leaf first), and the algorithm.
 *
 * @since 0.1.0
 * @category models
 */
export const Header = Schema.Struct({
  jwk: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  alg: Schema.String,
  x5c: Schema.optional(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Header = typeof Header.Type

/**
 * One entry of the `signatures` list.
 *
 * @since 0.1.0
 * @category models
 */
export const Signature = Schema.Struct({
  header: Header,
  signature: Schema.String,
  protected: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type Signature = typeof Signature.Type

/**
 * The decoded protected header of a signature.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtectedHeader {
  readonly formatLength: number
  readonly formatTail: Uint8Array
  readonly time: string | undefined
}

/**
 * A payload and its signatures.
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonSignature {
  /** The signed bytes: the document without its signatures block. */
  readonly payload: Uint8Array
  /** The offset just after the payload's last member. */
  readonly formatLength: number
  /** The payload's bytes from `formatLength` to its end. */
  readonly formatTail: Uint8Array
  /** The signatures, in document order. */
  readonly signatures: ReadonlyArray<Signature>
}

/**
 * A signature that verified.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verified {
  readonly keyId: KeyId.KeyId
  readonly algorithm: Key.Algorithm
  readonly publicKey: Key.PublicKey
  /** The signing time from the protected header, when present. */
  readonly time: string | undefined
  /** Whether the key came from a certificate chain (`x5c`) checked against the caller's roots. */
  readonly chain: boolean
}

// ---------------------------------------------------------------------------
// encoding helpers
// ---------------------------------------------------------------------------

export {
  /**
   * base64url without padding, of bytes or of a string's UTF-8.
   *
   * @internal
   */
  base64url,
  /**
   * The bytes of unpadded base64url, or undefined when it is not base64url.
   *
   * @internal
   */
  decodeBase64url,
  /**
   * Formats epoch milliseconds as RFC 3339 in UTC with whole seconds, as Go's `time.RFC3339`.
   *
   * @internal
   */
  rfc3339
} from "./internal/jsonEncoding.js"

// ---------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------

const fromPayloadEither = (
  payload: Uint8Array,
  signatureKey: string
): Either.Either<JsonSignature, SigningError.SignError> =>
  parseJson(payload).pipe(
    Either.mapLeft((cause) => signError("InvalidPayload", "the payload is not UTF-8 JSON", cause)),
    Either.flatMap((value) => {
      if (!isObject(value) || Array.isArray(value)) {
        return Either.left(signError("InvalidPayload", "the payload is not a JSON object"))
      }
      if (Object.prototype.hasOwnProperty.call(value, signatureKey)) {
        return Either.left(signError("InvalidPayload", `the payload already has a "${signatureKey}" member`))
      }
      const close = lastNonSpace(payload, payload.length)
      if (close < 0 || payload[close] !== 0x7d) {
        return Either.left(signError("InvalidPayload", "the payload does not end with '}'"))
      }
      const last = lastNonSpace(payload, close)
      if (last < 0 || payload[last] === 0x7b || payload[last] === 0x2c) {
        return Either.left(signError("InvalidPayload", "the payload is an empty object"))
      }
      const formatLength = last + 1
      return Either.right({
        payload,
        formatLength,
        formatTail: payload.slice(formatLength),
        signatures: []
      })
    })
  )

/**
 * Starts an unsigned `JsonSignature` over a payload: a non-empty JSON object without a
 * `signatures` member, kept byte for byte.
 *
 * @example
 * ```ts
 * import { JsonSignature } from "@effect-registry/signing"
 *
 * const js = JsonSignature.fromPayload(new TextEncoder().encode('{\n   "a": 1\n}'))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPayload = (
  payload: Uint8Array,
  options?: { readonly signatureKey?: string | undefined }
): Effect.Effect<JsonSignature, SigningError.SignError> =>
  fromPayloadEither(payload, options?.signatureKey ?? DefaultSignatureKey)

/**
 * Decodes a protected header.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeProtected = (
  encoded: string,
  index?: number
): Either.Either<ProtectedHeader, SigningError.VerifyError> => {
  const invalid = (detail: string, cause?: unknown) => verifyError("InvalidProtectedHeader", detail, { index, cause })
  const bytes = decodeBase64url(encoded)
  if (bytes === undefined) return Either.left(invalid("the protected header is not base64url"))
  return parseJson(bytes).pipe(
    Either.mapLeft((cause) => invalid("the protected header is not JSON", cause)),
    Either.flatMap((header) => {
      if (!isObject(header)) return Either.left(invalid("the protected header is not a JSON object"))
      const formatLength = header["formatLength"]
      const formatTail = header["formatTail"]
      const time = header["time"]
      if (typeof formatLength !== "number" || !Number.isSafeInteger(formatLength) || formatLength < 1) {
        return Either.left(invalid("formatLength is not a positive integer"))
      }
      if (typeof formatTail !== "string") return Either.left(invalid("formatTail is not a string"))
      const tail = decodeBase64url(formatTail)
      if (tail === undefined) return Either.left(invalid("formatTail is not base64url"))
      return Either.right({ formatLength, formatTail: tail, time: typeof time === "string" ? time : undefined })
    })
  )
}

const decodeSignatures = Schema.decodeUnknownEither(Signature)

const parseEither = (
  bytes: Uint8Array,
  signatureKey: string
): Either.Either<JsonSignature, SigningError.VerifyError> =>
  parseJson(bytes).pipe(
    Either.mapLeft((cause) => verifyError("Malformed", "the document is not UTF-8 JSON", { cause })),
    Either.flatMap((value): Either.Either<JsonSignature, SigningError.VerifyError> => {
      if (!isObject(value) || Array.isArray(value)) {
        return Either.left(verifyError("Malformed", "the document is not a JSON object"))
      }
      if (!Object.prototype.hasOwnProperty.call(value, signatureKey)) {
        return Either.mapLeft(
          fromPayloadEither(bytes, signatureKey),
          (e) => verifyError("Malformed", e.detail ?? "the document cannot be signed", { cause: e })
        )
      }
      const list = value[signatureKey]
      if (!Array.isArray(list)) {
        return Either.left(verifyError("Malformed", `"${signatureKey}" is not a list`))
      }
      if (list.length === 0) return Either.left(verifyError("Malformed", `"${signatureKey}" is an empty list`))
      const signatures: Array<Signature> = []
      let format: ProtectedHeader | undefined
      for (let index = 0; index < list.length; index++) {
        const decoded = decodeSignatures(list[index])
        if (Either.isLeft(decoded)) {
          return Either.left(
            verifyError("Malformed", "not a {header: {jwk | x5c, alg}, signature, protected} entry", {
              index,
              cause: decoded.left
            })
          )
        }
        const header = decodeProtected(decoded.right.protected, index)
        if (Either.isLeft(header)) return Either.left(header.left)
        if (format === undefined) {
          format = header.right
        } else if (
          format.formatLength !== header.right.formatLength ||
          !equalBytes(format.formatTail, header.right.formatTail)
        ) {
          return Either.left(
            verifyError("FormatMismatch", "the signatures disagree on formatLength/formatTail", { index })
          )
        }
        signatures.push(decoded.right)
      }
      if (format === undefined) return Either.left(verifyError("Malformed", `"${signatureKey}" is an empty list`))
      if (format.formatLength > bytes.length) {
        return Either.left(verifyError("InvalidProtectedHeader", "formatLength is beyond the end of the document"))
      }
      return Either.right({
        payload: concat(bytes.subarray(0, format.formatLength), format.formatTail),
        formatLength: format.formatLength,
        formatTail: format.formatTail,
        signatures
      })
    })
  )

/**
 * Reads a document that may carry libtrust signatures. Without a `signatures` member it is an
 * unsigned payload (no signatures); with one, the payload is rebuilt from the signatures'
 * `formatLength` and `formatTail`, which must agree. Signatures are not checked here: see
 * {@link verify}.
 *
 * @example
 * ```ts
 * import { JsonSignature } from "@effect-registry/signing"
 *
 * const js = JsonSignature.parse(new TextEncoder().encode('{\n   "a": 1\n}'))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (
  bytes: Uint8Array,
  options?: { readonly signatureKey?: string | undefined }
): Effect.Effect<JsonSignature, SigningError.VerifyError> =>
  parseEither(bytes, options?.signatureKey ?? DefaultSignatureKey)

// ---------------------------------------------------------------------------
// signing
// ---------------------------------------------------------------------------

/**
 * Options of {@link sign}.
 *
 * - `x5c`: also put a certificate chain (leaf first; PEM text, base64 DER or DER bytes) in the
 *   header, next to the `jwk`. The leaf certificate's key must be the signing key. Verifiers
 *   use the chain's leaf key and check the chain against their roots.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignOptions {
  readonly x5c?: ReadonlyArray<string | Uint8Array> | undefined
}

/**
 * Adds a signature by `key`, keeping the existing ones. The protected header carries the
 * payload's `formatLength` and `formatTail` and the current time from `Clock` (RFC 3339, UTC,
 * whole seconds); EC keys sign with their curve's algorithm, RSA keys with RS256.
 *
 * @example
 * ```ts
 * import { JsonSignature, Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const key = yield* Key.generate()
 *   const js = yield* JsonSignature.fromPayload(new TextEncoder().encode('{\n   "a": 1\n}'))
 *   const signed = yield* JsonSignature.sign(js, key)
 *   return yield* JsonSignature.toPretty(signed)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const sign: {
  (
    key: Key.PrivateKey,
    options?: SignOptions
  ): (self: JsonSignature) => Effect.Effect<JsonSignature, SigningError.SignError>
  (
    self: JsonSignature,
    key: Key.PrivateKey,
    options?: SignOptions
  ): Effect.Effect<JsonSignature, SigningError.SignError>
} = dual(
  (args) => Key.isPrivateKey(args[1]),
  (self: JsonSignature, key: Key.PrivateKey, options?: SignOptions) =>
    Effect.gen(function*() {
      const millis = yield* Clock.currentTimeMillis
      const time = rfc3339(millis)
      if (time === undefined) return yield* signError("InvalidTime", `the clock time ${millis} is not a valid date`)
      const protectedHeader = base64url(
        JSON.stringify({ formatLength: self.formatLength, formatTail: base64url(self.formatTail), time })
      )
      const input = encoder.encode(`${protectedHeader}.${base64url(self.payload)}`)
      const jwk = yield* Key.toJwkEither(key.publicKey).pipe(
        Either.mapLeft((e) => signError("CryptoFailed", "cannot export the public key as JWK", e))
      )
      const header: Header = options?.x5c !== undefined
        ? { jwk, alg: key.algorithm, x5c: yield* chainHeader(key, options.x5c) }
        : { jwk, alg: key.algorithm }
      const { algorithm, signature } = yield* Key.sign(key, input)
      const entry: Signature = {
        header: { ...header, alg: algorithm },
        signature: base64url(signature),
        protected: protectedHeader
      }
      return { ...self, signatures: [...self.signatures, entry] }
    })
)

const renderSignature = (s: Signature) => ({
  header: {
    ...(s.header.jwk !== undefined ? { jwk: s.header.jwk } : {}),
    alg: s.header.alg,
    ...(s.header.x5c !== undefined ? { x5c: s.header.x5c } : {})
  },
  signature: s.signature,
  protected: s.protected
})

/**
 * Writes the document with its signatures, as libtrust's `PrettySignature` does: the payload up
 * to `formatLength`, then `,\n   "signatures": [...]` (three-space indentation), then the
 * `formatTail`. Fails with `NoSignatures` when there is nothing to write.
 *
 * @example
 * ```ts
 * import { JsonSignature, Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const bytes = Effect.gen(function*() {
 *   const js = yield* JsonSignature.fromPayload(new TextEncoder().encode('{\n   "a": 1\n}'))
 *   return yield* JsonSignature.toPretty(yield* JsonSignature.sign(js, yield* Key.generate()))
 * })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const toPretty = (
  self: JsonSignature,
  options?: { readonly signatureKey?: string | undefined }
): Effect.Effect<Uint8Array, SigningError.SignError> => {
  if (self.signatures.length === 0) return Effect.fail(signError("NoSignatures", "the document has no signatures"))
  const indent = "   "
  const marshalled = JSON.stringify(self.signatures.map(renderSignature), null, indent)
    .split("\n")
    .map((line, i) => (i === 0 ? line : indent + line))
    .join("\n")
  const key = JSON.stringify(options?.signatureKey ?? DefaultSignatureKey)
  return Effect.succeed(
    concat(
      self.payload.subarray(0, self.formatLength),
      encoder.encode(`,\n${indent}${key}: ${marshalled}`),
      self.formatTail
    )
  )
}

// ---------------------------------------------------------------------------
// verification
// ---------------------------------------------------------------------------

/**
 * Options of {@link verify}.
 *
 * - `roots`: trusted root certificates (PEM text or DER bytes) for signatures that carry an
 *   `x5c` chain. A chain must end at one of them (or be issued by one); without roots, a
 *   signature with a chain fails with `ChainUntrusted`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  readonly roots?: ReadonlyArray<string | Uint8Array> | undefined
}

const signerKey = (
  s: Signature,
  index: number,
  roots: ReadonlyArray<crypto.X509Certificate>,
  now: number
): Either.Either<{ readonly key: Key.PublicKey; readonly chain: boolean }, SigningError.VerifyError> => {
  const fromJwk = (jwk: unknown) =>
    Either.mapLeft(Key.fromJwkEither(jwk), (e) =>
      verifyError(
        e.reason === "KeyIdMismatch" ? "KeyIdMismatch" : "InvalidKey",
        e.detail ?? "the jwk is not a usable key",
        { index, cause: e }
      ))
  if (s.header.x5c !== undefined && s.header.x5c.length > 0) {
    return verifyChain(s.header.x5c, roots, now, index).pipe(
      Either.flatMap((keyObject) =>
        Either.mapLeft(
          Key.fromKeyObjectEither(keyObject),
          (e) => verifyError("InvalidKey", e.detail ?? "the leaf certificate's key is not usable", { index, cause: e })
        )
      ),
      Either.map(Key.publicKey),
      Either.flatMap((key) => {
        if (s.header.jwk === undefined) return Either.right({ key, chain: true })
        return Either.flatMap(fromJwk(s.header.jwk), (jwkKey) =>
          jwkKey.keyId === key.keyId
            ? Either.right({ key, chain: true })
            : Either.left(
              verifyError("KeyIdMismatch", "the jwk is not the key of the leaf certificate", {
                index,
                keyId: key.keyId
              })
            ))
      })
    )
  }
  if (s.header.jwk !== undefined) {
    return Either.map(fromJwk(s.header.jwk), (key) => ({ key: Key.publicKey(key), chain: false }))
  }
  return Either.left(verifyError("MissingKey", "the signature has neither jwk nor x5c", { index }))
}

/**
 * Checks every signature of a `JsonSignature` over its payload and returns who signed. Refuses
 * `alg: none`, unknown algorithms and algorithms that do not fit the key; a `jwk` whose `kid`
 * is not its key id; `x5c` chains that are invalid or do not lead to one of `roots` (checked at
 * the `Clock`'s time). Fails with `Unsigned` when there are no signatures.
 *
 * @example
 * ```ts
 * import { JsonSignature } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const signers = (bytes: Uint8Array) =>
 *   JsonSignature.parse(bytes).pipe(Effect.flatMap((js) => JsonSignature.verify(js)))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  self: JsonSignature,
  options?: VerifyOptions
): Effect.Effect<ReadonlyArray<Verified>, SigningError.VerifyError> =>
  Effect.gen(function*() {
    if (self.signatures.length === 0) return yield* verifyError("Unsigned", "the document has no signatures")
    const now = yield* Clock.currentTimeMillis
    const roots = yield* parseRoots(options?.roots ?? [])
    const payload = base64url(self.payload)
    const out: Array<Verified> = []
    for (let index = 0; index < self.signatures.length; index++) {
      const s = self.signatures[index]
      if (s.header.alg.toLowerCase() === "none") {
        return yield* verifyError("AlgorithmNone", "unsigned JWS (alg none) is refused", { index })
      }
      if (!Key.isAlgorithm(s.header.alg)) {
        return yield* verifyError("UnsupportedAlgorithm", `algorithm ${s.header.alg} is not supported`, { index })
      }
      const algorithm = s.header.alg
      const header = yield* decodeProtected(s.protected, index)
      if (header.formatLength !== self.formatLength || !equalBytes(header.formatTail, self.formatTail)) {
        return yield* verifyError("FormatMismatch", "the protected header does not describe this payload", { index })
      }
      const { chain, key } = yield* signerKey(s, index, roots, now)
      const signature = decodeBase64url(s.signature)
      if (signature === undefined) {
        return yield* verifyError("BadSignature", "the signature is not base64url", { index, keyId: key.keyId })
      }
      yield* Either.mapLeft(
        Key.verifyEither(key, algorithm, encoder.encode(`${s.protected}.${payload}`), signature),
        (e) =>
          verifyError(e.reason, e.detail ?? "the signature does not verify", {
            index,
            keyId: key.keyId,
            cause: e.cause
          })
      )
      out.push({ keyId: key.keyId, algorithm, publicKey: key, time: header.time, chain })
    }
    return out
  })
