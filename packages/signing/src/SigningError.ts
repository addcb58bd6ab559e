/**
 * The failures of `@effect-registry/signing`, as tagged errors with a `reason`.
 *
 * - {@link KeyError}: a key could not be generated, imported or exported.
 * - {@link SignError}: a payload or manifest could not be signed.
 * - {@link VerifyError}: a signed document is malformed or a signature does not hold.
 * - {@link BuildError}: `Schema1.build` was given something it cannot turn into a manifest.
 *
 * Verification fails with `VerifyError`, which says precisely what went wrong. Code that
 * talks to a registry and wants the registry's vocabulary maps it with
 * {@link toManifestUnverified} to core's `RegistryError.ManifestUnverified` (what
 * distribution answers, `MANIFEST_UNVERIFIED`, to a manifest whose signature does not
 * verify); the original `VerifyError` is kept as its `cause`.
 *
 * Messages never contain private key material.
 *
 * @since 0.1.0
 */
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-registry/signing/SigningError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

const describe = (headline: string, detail: string | undefined): string =>
  detail !== undefined && detail.length > 0 ? `${headline}: ${detail}` : headline

/**
 * Why a key operation failed.
 *
 * - `InvalidPem`: not a PEM block we can read (bad armour, bad base64, unknown block type).
 * - `InvalidJwk`: not a JWK in libtrust's form (missing or malformed members).
 * - `InvalidKey`: the key material is rejected by the crypto library (not on the curve, truncated DER...).
 * - `UnsupportedKeyType`: neither EC nor RSA.
 * - `UnsupportedCurve`: an EC curve other than P-256, P-384 or P-521.
 * - `KeyTooSmall`: an RSA modulus under 2048 bits.
 * - `KeyIdMismatch`: the JWK's `kid` is not the libtrust key id of its key.
 * - `NotPrivate`: a private key was needed and a public key was given.
 * - `GenerateFailed`: key generation failed.
 * - `ExportFailed`: the key could not be exported.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyErrorReason =
  | "InvalidPem"
  | "InvalidJwk"
  | "InvalidKey"
  | "UnsupportedKeyType"
  | "UnsupportedCurve"
  | "KeyTooSmall"
  | "KeyIdMismatch"
  | "NotPrivate"
  | "GenerateFailed"
  | "ExportFailed"

/**
 * A key could not be generated, imported or exported.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyError extends Data.TaggedError("KeyError")<{
  readonly reason: KeyErrorReason
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe(`Key error (${this.reason})`, this.detail)
  }
}

/**
 * Why signing failed.
 *
 * - `InvalidPayload`: the payload is not a non-empty JSON object, or it already has a `signatures` member.
 * - `InvalidManifest`: the manifest value cannot be serialised as JSON.
 * - `InvalidSignatures`: the document to add a signature to carries a malformed signature block.
 * - `InvalidCertificate`: a certificate of the `x5c` chain to embed cannot be read.
 * - `InvalidTime`: the clock gives a time that cannot be written as RFC 3339.
 * - `NoSignatures`: a pretty signature was asked of a document without signatures.
 * - `CryptoFailed`: the crypto library refused to sign.
 *
 * @since 0.1.0
 * @category models
 */
export type SignErrorReason =
  | "InvalidPayload"
  | "InvalidManifest"
  | "InvalidSignatures"
  | "InvalidCertificate"
  | "InvalidTime"
  | "NoSignatures"
  | "CryptoFailed"

/**
 * A payload or manifest could not be signed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SignError extends Data.TaggedError("SignError")<{
  readonly reason: SignErrorReason
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe(`Signing failed (${this.reason})`, this.detail)
  }
}

/**
 * Why verification failed.
 *
 * - `Unsigned`: the document has no `signatures` member.
 * - `Malformed`: the document is not a JSON object, or its `signatures` member is not a list of
 *   `{header, signature, protected}` entries.
 * - `InvalidProtectedHeader`: a protected header is not base64url JSON with an integer `formatLength`
 *   (within the document) and a base64url `formatTail`.
 * - `FormatMismatch`: the signatures disagree on `formatLength`/`formatTail`, or the rebuilt payload is
 *   not a JSON object.
 * - `AlgorithmNone`: a signature claims `alg: none`.
 * - `UnsupportedAlgorithm`: an algorithm other than ES256/ES384/ES512/RS256/RS384/RS512.
 * - `AlgorithmMismatch`: the algorithm does not fit the key (ES384 with a P-256 key, RS256 with an EC key...).
 * - `MissingKey`: a signature has neither `jwk` nor `x5c`.
 * - `InvalidKey`: the `jwk` (or the leaf certificate's key) cannot be imported; `cause` is the `KeyError`.
 * - `KeyIdMismatch`: the `jwk`'s `kid` is not the libtrust key id of its key, or `jwk` and `x5c` disagree.
 * - `BadSignature`: the signature does not verify over the rebuilt payload.
 * - `ChainInvalid`: an `x5c` chain is malformed, expired, or its links do not verify.
 * - `ChainUntrusted`: an `x5c` chain does not end at one of the caller's roots (or no roots were given).
 * - `InvalidManifest`: the verified payload is not a schema1 manifest.
 *
 * @since 0.1.0
 * @category models
 */
export type VerifyErrorReason =
  | "Unsigned"
  | "Malformed"
  | "InvalidProtectedHeader"
  | "FormatMismatch"
  | "AlgorithmNone"
  | "UnsupportedAlgorithm"
  | "AlgorithmMismatch"
  | "MissingKey"
  | "InvalidKey"
  | "KeyIdMismatch"
  | "BadSignature"
  | "ChainInvalid"
  | "ChainUntrusted"
  | "InvalidManifest"

/**
 * A signed document is malformed or one of its signatures does not hold.
 *
 * @since 0.1.0
 * @category errors
 */
export class VerifyError extends Data.TaggedError("VerifyError")<{
  readonly reason: VerifyErrorReason
  readonly detail?: string | undefined
  /** The position of the failing signature in the `signatures` list. */
  readonly index?: number | undefined
  /** The libtrust key id of the failing signature's key, when known. */
  readonly keyId?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const where: Array<string> = []
    if (this.index !== undefined) where.push(`signature ${this.index}`)
    if (this.keyId !== undefined) where.push(`key ${this.keyId}`)
    const headline = `Verification failed (${this.reason})` + (where.length > 0 ? ` [${where.join(", ")}]` : "")
    return describe(headline, this.detail)
  }
}

/**
 * Why a schema1 manifest could not be built.
 *
 * - `NoLayers`: no layers were given.
 * - `InvalidConfig`: the configuration is not a JSON object (or not serialisable).
 * - `InvalidName`: the repository name is empty.
 * - `InvalidTag`: the tag is empty.
 * - `NotAnImage`: `Schema1.fromImage` was given an index (pick one of its images first).
 *
 * @since 0.1.0
 * @category models
 */
export type BuildErrorReason = "NoLayers" | "InvalidConfig" | "InvalidName" | "InvalidTag" | "NotAnImage"

/**
 * `Schema1.build` was given something it cannot turn into a manifest.
 *
 * @since 0.1.0
 * @category errors
 */
export class BuildError extends Data.TaggedError("BuildError")<{
  readonly reason: BuildErrorReason
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe(`Cannot build schema1 manifest (${this.reason})`, this.detail)
  }
}

/**
 * Every failure of the signing package.
 *
 * @since 0.1.0
 * @category models
 */
export type SigningError = KeyError | SignError | VerifyError | BuildError

/**
 * @since 0.1.0
 * @category guards
 */
export const isSigningError = (u: unknown): u is SigningError => Predicate.hasProperty(u, TypeId)

/**
 * Maps a verification failure to core's `RegistryError.ManifestUnverified`, the error a
 * registry answers (`MANIFEST_UNVERIFIED`) to a manifest whose signature does not hold. The
 * `VerifyError` becomes the `cause` and its message the `detail`.
 *
 * @example
 * ```ts
 * import { SigningError } from "@effect-registry/signing"
 *
 * const e = SigningError.toManifestUnverified(new SigningError.VerifyError({ reason: "BadSignature" }), {
 *   repository: "example/repo",
 *   reference: "latest"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const toManifestUnverified = (
  error: VerifyError,
  context?: {
    readonly repository?: string | undefined
    readonly reference?: string | undefined
    readonly digest?: string | undefined
  }
): RegistryError.ManifestUnverified =>
  new RegistryError.ManifestUnverified({
    repository: context?.repository,
    reference: context?.reference,
    digest: context?.digest,
    detail: error.message,
    cause: error
  })
