/**
 * Signing keys as libtrust knows them: ECDSA on P-256, P-384 and P-521, and RSA of 2048
 * bits or more.
 *
 * Keys are generated with `node:crypto`, imported from and exported to PEM (SEC 1 / PKCS #1 /
 * PKCS #8 / SubjectPublicKeyInfo, optionally with libtrust's `keyID` PEM header) and to the
 * JWK JSON form libtrust writes (`{"crv":"P-256","kid":"…","kty":"EC","x":"…","y":"…"}`, members
 * in alphabetical order as Go writes them). Every key carries its libtrust key id.
 *
 * A `PrivateKey` never shows its secret: its `toString`, `toJSON` and inspection show only the
 * key type and key id.
 *
 * This module holds the key model (types, guards, constructors); the PEM, JWK and raw JWS bodies live
 * in `internal/keyPem`, `internal/keyJwk` and `internal/keyJws`, over the curve and algorithm tables of
 * `internal/keyAlgorithms`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Inspectable from "effect/Inspectable"
import * as Predicate from "effect/Predicate"
import * as crypto from "node:crypto"
import { curveOfOpenssl, curves, isCurve, keyError } from "./internal/keyAlgorithms.js"
import * as KeyAlgorithms from "./internal/keyAlgorithms.js"
import * as KeyJwk from "./internal/keyJwk.js"
import * as KeyJws from "./internal/keyJws.js"
import * as KeyPem from "./internal/keyPem.js"
import * as KeyId from "./KeyId.js"
import * as SigningError from "./SigningError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-registry/signing/Key")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The elliptic curves libtrust signs with.
 *
 * @since 0.1.0
 * @category models
 */
export type Curve = KeyAlgorithms.Curve

/**
 * The key types libtrust signs with.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyType = "EC" | "RSA"

/**
 * The JWS algorithms libtrust signs and verifies with. EC keys sign with the algorithm of
 * their curve (ES256 for P-256, ES384 for P-384, ES512 for P-521); RSA keys sign RS256 and
 * verify RS256, RS384 and RS512.
 *
 * @since 0.1.0
 * @category models
 */
export type Algorithm = KeyAlgorithms.Algorithm

/**
 * The smallest RSA modulus accepted, in bits.
 *
 * @since 0.1.0
 * @category models
 */
export const MinRsaBits = 2048

/**
 * The largest RSA modulus `generate` makes, in bits.
 *
 * @since 0.1.0
 * @category models
 */
export const MaxRsaBits = 16384

/**
 * A public key.
 *
 * @since 0.1.0
 * @category models
 */
export interface PublicKey extends Equal.Equal, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly _tag: "PublicKey"
  readonly type: KeyType
  /** The curve of an EC key; `undefined` for RSA. */
  readonly curve: Curve | undefined
  /** The curve size (256, 384, 521) or the RSA modulus length. */
  readonly bits: number
  /** The algorithm this key signs with. */
  readonly algorithm: Algorithm
  /** The libtrust key id. */
  readonly keyId: KeyId.KeyId
  /** The node:crypto key. */
  readonly keyObject: crypto.KeyObject
}

/**
 * A private key (and its public half).
 *
 * @since 0.1.0
 * @category models
 */
export interface PrivateKey extends Equal.Equal, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly _tag: "PrivateKey"
  readonly type: KeyType
  readonly curve: Curve | undefined
  readonly bits: number
  readonly algorithm: Algorithm
  readonly keyId: KeyId.KeyId
  readonly publicKey: PublicKey
  /** The node:crypto key. */
  readonly keyObject: crypto.KeyObject
}

/**
 * @since 0.1.0
 * @category models
 */
export type Key = PublicKey | PrivateKey

interface Info {
  readonly type: KeyType
  readonly curve: Curve | undefined
  readonly bits: number
  readonly algorithm: Algorithm
  readonly keyId: KeyId.KeyId
}

class PublicKeyImpl extends Inspectable.Class implements PublicKey {
  readonly [TypeId]: TypeId = TypeId
  readonly _tag = "PublicKey" as const
  readonly type: KeyType
  readonly curve: Curve | undefined
  readonly bits: number
  readonly algorithm: Algorithm
  readonly keyId: KeyId.KeyId
  constructor(info: Info, readonly keyObject: crypto.KeyObject) {
    super()
    this.type = info.type
    this.curve = info.curve
    this.bits = info.bits
    this.algorithm = info.algorithm
    this.keyId = info.keyId
  }
  [Equal.symbol](that: Equal.Equal): boolean {
    return isPublicKey(that) && that.keyId === this.keyId
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(`PublicKey:${this.keyId}`))
  }
  toJSON(): unknown {
    return { _id: "PublicKey", type: this.type, curve: this.curve, bits: this.bits, keyId: this.keyId }
  }
}

class PrivateKeyImpl extends Inspectable.Class implements PrivateKey {
  readonly [TypeId]: TypeId = TypeId
  readonly _tag = "PrivateKey" as const
  readonly type: KeyType
  readonly curve: Curve | undefined
  readonly bits: number
  readonly algorithm: Algorithm
  readonly keyId: KeyId.KeyId
  constructor(readonly publicKey: PublicKey, readonly keyObject: crypto.KeyObject) {
    super()
    this.type = publicKey.type
    this.curve = publicKey.curve
    this.bits = publicKey.bits
    this.algorithm = publicKey.algorithm
    this.keyId = publicKey.keyId
  }
  [Equal.symbol](that: Equal.Equal): boolean {
    return isPrivateKey(that) && that.keyId === this.keyId
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(`PrivateKey:${this.keyId}`))
  }
  toJSON(): unknown {
    return { _id: "PrivateKey", type: this.type, curve: this.curve, bits: this.bits, keyId: this.keyId }
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isKey = (u: unknown): u is Key => Predicate.hasProperty(u, TypeId)

/**
 * @since 0.1.0
 * @category guards
 */
export const isPublicKey = (u: unknown): u is PublicKey => isKey(u) && u._tag === "PublicKey"

/**
 * @since 0.1.0
 * @category guards
 */
export const isPrivateKey = (u: unknown): u is PrivateKey => isKey(u) && u._tag === "PrivateKey"

// ---------------------------------------------------------------------------
// curves and algorithms
// ---------------------------------------------------------------------------

/**
 * The hash function of a JWS algorithm.
 *
 * @since 0.1.0
 * @category utils
 */
export const hashOf: (algorithm: Algorithm) => "sha256" | "sha384" | "sha512" = KeyAlgorithms.hashOf

/**
 * @since 0.1.0
 * @category guards
 */
export const isAlgorithm: (s: string) => s is Algorithm = KeyAlgorithms.isAlgorithm

// ---------------------------------------------------------------------------
// from node:crypto key objects
// ---------------------------------------------------------------------------

const infoOf = (publicKey: crypto.KeyObject): Either.Either<Info, SigningError.KeyError> => {
  const kind = publicKey.asymmetricKeyType
  const details = publicKey.asymmetricKeyDetails ?? {}
  const spki = Either.try({
    try: () => publicKey.export({ type: "spki", format: "der" }),
    catch: (cause) => keyError("InvalidKey", "cannot encode the public key as SubjectPublicKeyInfo", cause)
  })
  if (kind === "ec") {
    const curve = curveOfOpenssl(details.namedCurve)
    if (curve === undefined) {
      return Either.left(keyError("UnsupportedCurve", `curve ${details.namedCurve ?? "(unknown)"} is not supported`))
    }
    return Either.map(spki, (der) => ({
      type: "EC" as const,
      curve,
      bits: curves[curve].bits,
      algorithm: curves[curve].alg,
      keyId: KeyId.fromSpki(der)
    }))
  }
  if (kind === "rsa") {
    const bits = details.modulusLength ?? 0
    if (bits < MinRsaBits) {
      return Either.left(keyError("KeyTooSmall", `RSA keys need at least ${MinRsaBits} bits, got ${bits}`))
    }
    return Either.map(spki, (der) => ({
      type: "RSA" as const,
      curve: undefined,
      bits,
      algorithm: "RS256" as const,
      keyId: KeyId.fromSpki(der)
    }))
  }
  return Either.left(keyError("UnsupportedKeyType", `key type ${kind ?? "(unknown)"} is not supported (EC or RSA)`))
}

/**
 * `fromKeyObject` as an `Either`.
 *
 * @internal
 */
export const fromKeyObjectEither = (keyObject: crypto.KeyObject): Either.Either<Key, SigningError.KeyError> => {
  if (keyObject.type === "private") {
    return Either.try({
      try: () => crypto.createPublicKey(keyObject),
      catch: (cause) => keyError("InvalidKey", "cannot derive the public key", cause)
    }).pipe(
      Either.flatMap((pub) =>
        Either.map(infoOf(pub), (info) => new PrivateKeyImpl(new PublicKeyImpl(info, pub), keyObject))
      )
    )
  }
  if (keyObject.type === "public") return Either.map(infoOf(keyObject), (info) => new PublicKeyImpl(info, keyObject))
  return Either.left(keyError("UnsupportedKeyType", "a secret (symmetric) key cannot sign"))
}

/**
 * Wraps a `node:crypto` key object (private or public), checking that libtrust can use it.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { generateKeyPairSync } from "node:crypto"
 *
 * const key = Key.fromKeyObject(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromKeyObject = (keyObject: crypto.KeyObject): Effect.Effect<Key, SigningError.KeyError> =>
  fromKeyObjectEither(keyObject)

const requirePrivate = (key: Key): Either.Either<PrivateKey, SigningError.KeyError> =>
  key._tag === "PrivateKey"
    ? Either.right(key)
    : Either.left(keyError("NotPrivate", `key ${key.keyId} is a public key; a private key is needed`))

const toPublic = (key: Key): PublicKey => key._tag === "PrivateKey" ? key.publicKey : key

// ---------------------------------------------------------------------------
// generation
// ---------------------------------------------------------------------------

/**
 * What to generate: an EC key on a curve (P-256 by default) or an RSA key (2048 bits by default).
 *
 * @since 0.1.0
 * @category models
 */
export type GenerateOptions =
  | { readonly type: "EC"; readonly curve?: Curve | undefined }
  | { readonly type: "RSA"; readonly bits?: number | undefined }

/**
 * Generates a private key: ECDSA P-256 unless told otherwise.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 *
 * const p256 = Key.generate()
 * const p384 = Key.generate({ type: "EC", curve: "P-384" })
 * const rsa = Key.generate({ type: "RSA", bits: 3072 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (options?: GenerateOptions): Effect.Effect<PrivateKey, SigningError.KeyError> => {
  const o: GenerateOptions = options ?? { type: "EC" }
  if (o.type === "EC") {
    const curve = o.curve ?? "P-256"
    if (!isCurve(curve)) return Effect.fail(keyError("UnsupportedCurve", `curve ${String(curve)} is not supported`))
    return generateWith((done) => crypto.generateKeyPair("ec", { namedCurve: curves[curve].openssl }, done))
  }
  if (o.type === "RSA") {
    const bits = o.bits ?? MinRsaBits
    if (!Number.isSafeInteger(bits) || bits < MinRsaBits) {
      return Effect.fail(keyError("KeyTooSmall", `RSA keys need at least ${MinRsaBits} bits, got ${bits}`))
    }
    if (bits > MaxRsaBits || bits % 8 !== 0) {
      return Effect.fail(keyError("GenerateFailed", `RSA key size must be a multiple of 8 up to ${MaxRsaBits}`))
    }
    return generateWith((done) => crypto.generateKeyPair("rsa", { modulusLength: bits, publicExponent: 0x10001 }, done))
  }
  return Effect.fail(keyError("UnsupportedKeyType", "only EC and RSA keys can be generated"))
}

const generateWith = (
  start: (done: (error: Error | null, publicKey: crypto.KeyObject, privateKey: crypto.KeyObject) => void) => void
): Effect.Effect<PrivateKey, SigningError.KeyError> =>
  Effect.async<crypto.KeyObject, SigningError.KeyError>((resume) => {
    try {
      start((error, _publicKey, privateKey) =>
        resume(
          error === null
            ? Effect.succeed(privateKey)
            : Effect.fail(keyError("GenerateFailed", "key generation failed", error))
        )
      )
    } catch (cause) {
      resume(Effect.fail(keyError("GenerateFailed", "key generation failed", cause)))
    }
  }).pipe(Effect.flatMap((keyObject) => Effect.flatMap(fromKeyObjectEither(keyObject), requirePrivate)))

// ---------------------------------------------------------------------------
// PEM
// ---------------------------------------------------------------------------

/**
 * Imports the first key of a PEM text: `EC PRIVATE KEY` (SEC 1), `RSA PRIVATE KEY` (PKCS #1),
 * `PRIVATE KEY` (PKCS #8), `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`. PEM headers
 * (libtrust writes `keyID: …`) are skipped.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const roundTrip = Key.generate().pipe(Effect.flatMap(Key.toPem), Effect.flatMap(Key.fromPem))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPem = (pem: string): Effect.Effect<Key, SigningError.KeyError> =>
  Either.flatMap(KeyPem.keyObjectFromPem(pem), fromKeyObjectEither)

/**
 * Imports a private key from PEM; fails with `NotPrivate` on a public key.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const key = Key.generate().pipe(Effect.flatMap(Key.toPem), Effect.flatMap(Key.privateKeyFromPem))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const privateKeyFromPem = (pem: string): Effect.Effect<PrivateKey, SigningError.KeyError> =>
  Effect.flatMap(fromPem(pem), requirePrivate)

/**
 * Imports a public key from PEM; given a private key, returns its public half.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const key = Key.generate().pipe(Effect.flatMap((k) => Key.toPem(k.publicKey)), Effect.flatMap(Key.publicKeyFromPem))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const publicKeyFromPem = (pem: string): Effect.Effect<PublicKey, SigningError.KeyError> =>
  Effect.map(fromPem(pem), toPublic)

/**
 * How to write PEM.
 *
 * - `pkcs8`: write private keys as PKCS #8 `PRIVATE KEY` instead of libtrust's `EC PRIVATE KEY` /
 *   `RSA PRIVATE KEY`.
 * - `keyIdHeader`: add libtrust's `keyID: <kid>` PEM header.
 *
 * @since 0.1.0
 * @category models
 */
export interface PemOptions {
  readonly pkcs8?: boolean | undefined
  readonly keyIdHeader?: boolean | undefined
}

/**
 * Exports a key as PEM: private EC keys as `EC PRIVATE KEY`, private RSA keys as
 * `RSA PRIVATE KEY` (or both as PKCS #8 `PRIVATE KEY`), public keys as `PUBLIC KEY`.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const pem = Key.generate().pipe(Effect.flatMap((key) => Key.toPem(key, { keyIdHeader: true })))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const toPem = (key: Key, options?: PemOptions): Effect.Effect<string, SigningError.KeyError> =>
  KeyPem.toPem(key, options)

// ---------------------------------------------------------------------------
// JWK
// ---------------------------------------------------------------------------

/**
 * An EC key in libtrust's JWK form (`d` present for a private key).
 *
 * @since 0.1.0
 * @category models
 */
export const EcJwk = KeyJwk.EcJwk

/**
 * @since 0.1.0
 * @category models
 */
export type EcJwk = typeof EcJwk.Type

/**
 * An RSA key in libtrust's JWK form (`d`, `p`, `q`, `dp`, `dq`, `qi` present for a private key).
 *
 * @since 0.1.0
 * @category models
 */
export const RsaJwk = KeyJwk.RsaJwk

/**
 * @since 0.1.0
 * @category models
 */
export type RsaJwk = typeof RsaJwk.Type

/**
 * A key in libtrust's JWK form.
 *
 * @since 0.1.0
 * @category models
 */
export const Jwk = KeyJwk.Jwk

/**
 * @since 0.1.0
 * @category models
 */
export type Jwk = typeof Jwk.Type

/**
 * Imports a key from libtrust's JWK form (an object or its JSON text). A private key has its
 * private members (`d`, and for RSA `p`, `q`, `dp`, `dq`, `qi`). When the JWK carries a
 * `kid`, it must be the libtrust key id of the key, as libtrust requires.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 *
 * const key = Key.fromJwk({
 *   kty: "EC",
 *   crv: "P-256",
 *   x: "qXf9Xdjpv6zuDnXQQozI7kgr4NzrxfGamhzIYk1AtB0",
 *   y: "TTtzXr2y44oHeDINWrrI8QZG18n7SzzOOuvKSMd9gKo"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJwk = (jwk: unknown): Effect.Effect<Key, SigningError.KeyError> => fromJwkEither(jwk)

/**
 * `fromJwk` as an `Either`.
 *
 * @internal
 */
export const fromJwkEither = (jwk: unknown): Either.Either<Key, SigningError.KeyError> =>
  Either.flatMap(
    KeyJwk.keyObjectFromJwk(jwk),
    ({ keyObject, kid }) =>
      Either.flatMap(fromKeyObjectEither(keyObject), (key) =>
        kid !== undefined && kid !== key.keyId
          ? Either.left(keyError("KeyIdMismatch", `the JWK's kid ${kid} is not its key id ${key.keyId}`))
          : Either.right(key))
  )

/**
 * Imports a private key from libtrust's JWK form; fails with `NotPrivate` on a public JWK.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const key = Key.generate().pipe(Effect.flatMap(Key.toJwk), Effect.flatMap(Key.privateKeyFromJwk))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const privateKeyFromJwk = (jwk: unknown): Effect.Effect<PrivateKey, SigningError.KeyError> =>
  Effect.flatMap(fromJwk(jwk), requirePrivate)

/**
 * Imports a public key from libtrust's JWK form; given a private JWK, returns its public half.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const key = Key.generate().pipe(Effect.flatMap((k) => Key.toJwk(k.publicKey)), Effect.flatMap(Key.publicKeyFromJwk))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const publicKeyFromJwk = (jwk: unknown): Effect.Effect<PublicKey, SigningError.KeyError> =>
  Effect.map(fromJwk(jwk), toPublic)

/**
 * `toJwk` as an `Either`.
 *
 * @internal
 */
export const toJwkEither = (key: Key): Either.Either<Jwk, SigningError.KeyError> => KeyJwk.toJwk(key)

/**
 * Exports a key in libtrust's JWK form, with its `kid`; a private key includes its private
 * members.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const jwk = Key.generate().pipe(Effect.flatMap((key) => Key.toJwk(key.publicKey)))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const toJwk = (key: Key): Effect.Effect<Jwk, SigningError.KeyError> => toJwkEither(key)

/**
 * Exports a key as libtrust's JWK JSON text (compact, or indented with `indent` spaces).
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const json = Key.generate().pipe(Effect.flatMap((key) => Key.toJwkJson(key, { indent: 4 })))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const toJwkJson = (
  key: Key,
  options?: { readonly indent?: number | undefined }
): Effect.Effect<string, SigningError.KeyError> =>
  Either.map(toJwkEither(key), (jwk) => JSON.stringify(jwk, null, options?.indent))

/**
 * The public half of a key (a public key is returned as is).
 *
 * @since 0.1.0
 * @category utils
 */
export const publicKey = (key: Key): PublicKey => toPublic(key)

// ---------------------------------------------------------------------------
// raw JWS signatures
// ---------------------------------------------------------------------------

/**
 * Signs bytes with a private key, JWS style: EC keys give the raw `r‖s` signature with the
 * hash of their curve (ES256/ES384/ES512), RSA keys a PKCS #1 v1.5 RS256 signature.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const signed = Key.generate().pipe(Effect.flatMap((key) => Key.sign(key, new TextEncoder().encode("hello"))))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const sign = (
  key: PrivateKey,
  data: Uint8Array
): Effect.Effect<{ readonly algorithm: Algorithm; readonly signature: Uint8Array }, SigningError.SignError> =>
  KeyJws.sign(key, data)

/**
 * Checks a JWS signature over bytes: refuses `none`, unknown algorithms and algorithms that do
 * not fit the key (an EC key verifies only its curve's algorithm), and fails with
 * `BadSignature` when the signature does not hold.
 *
 * @example
 * ```ts
 * import { Key } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * const data = new TextEncoder().encode("hello")
 * const program = Effect.gen(function*() {
 *   const key = yield* Key.generate()
 *   const { algorithm, signature } = yield* Key.sign(key, data)
 *   yield* Key.verify(key.publicKey, algorithm, data, signature)
 * })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  key: PublicKey,
  algorithm: string,
  data: Uint8Array,
  signature: Uint8Array
): Effect.Effect<void, SigningError.VerifyError> => verifyEither(key, algorithm, data, signature)

/**
 * `verify` as an `Either`.
 *
 * @internal
 */
export const verifyEither = (
  key: PublicKey,
  algorithm: string,
  data: Uint8Array,
  signature: Uint8Array
): Either.Either<void, SigningError.VerifyError> => KeyJws.verify(key, algorithm, data, signature)
