/**
 * libtrust's JWK form of keys: its Schemas, reading a JWK (object or JSON text) into a `node:crypto`
 * key, and writing a key's JWK with the members in the order Go writes them.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as crypto from "node:crypto"
import type * as SigningError from "../SigningError.js"
import { isCurve, keyError, type KeyFields } from "./keyAlgorithms.js"

const B64Url = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/))

/** @internal */
export const EcJwk = Schema.Struct({
  crv: Schema.String,
  d: Schema.optional(B64Url),
  kid: Schema.optional(Schema.String),
  kty: Schema.Literal("EC"),
  x: B64Url,
  y: B64Url
})

/** @internal */
export const RsaJwk = Schema.Struct({
  d: Schema.optional(B64Url),
  dp: Schema.optional(B64Url),
  dq: Schema.optional(B64Url),
  e: B64Url,
  kid: Schema.optional(Schema.String),
  kty: Schema.Literal("RSA"),
  n: B64Url,
  p: Schema.optional(B64Url),
  q: Schema.optional(B64Url),
  qi: Schema.optional(B64Url)
})

/** @internal */
export const Jwk = Schema.Union(EcJwk, RsaJwk)

/** @internal */
export type Jwk = typeof Jwk.Type

const decodeEcJwk = Schema.decodeUnknownEither(EcJwk)
const decodeRsaJwk = Schema.decodeUnknownEither(RsaJwk)

const parseJwkInput = (input: unknown): Either.Either<unknown, SigningError.KeyError> =>
  typeof input === "string"
    ? Either.try({
      try: (): unknown => JSON.parse(input),
      catch: (cause) => keyError("InvalidJwk", "the JWK is not valid JSON", cause)
    })
    : Either.right(input)

const jwkToKeyObject = (input: unknown): Either.Either<
  { readonly keyObject: crypto.KeyObject; readonly kid: string | undefined },
  SigningError.KeyError
> => {
  if (!Predicate.isRecord(input)) return Either.left(keyError("InvalidJwk", "a JWK must be a JSON object"))
  const kty = input["kty"]
  const importKey = (jwk: crypto.JsonWebKey, isPrivate: boolean) =>
    Either.try({
      try: () =>
        isPrivate
          ? crypto.createPrivateKey({ key: jwk, format: "jwk" })
          : crypto.createPublicKey({ key: jwk, format: "jwk" }),
      catch: (cause) => keyError("InvalidKey", "the JWK does not hold a valid key", cause)
    })
  if (kty === "EC") {
    return decodeEcJwk(input).pipe(
      Either.mapLeft((cause) => keyError("InvalidJwk", "not an EC JWK (crv, x, y, optional d and kid)", cause)),
      Either.flatMap((jwk) => {
        if (!isCurve(jwk.crv)) return Either.left(keyError("UnsupportedCurve", `curve ${jwk.crv} is not supported`))
        const base = { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y }
        return Either.map(
          importKey(jwk.d === undefined ? base : { ...base, d: jwk.d }, jwk.d !== undefined),
          (keyObject) => ({ keyObject, kid: jwk.kid })
        )
      })
    )
  }
  if (kty === "RSA") {
    return decodeRsaJwk(input).pipe(
      Either.mapLeft((cause) =>
        keyError("InvalidJwk", "not an RSA JWK (n, e, optional private members and kid)", cause)
      ),
      Either.flatMap((jwk) => {
        const base = { kty: "RSA", n: jwk.n, e: jwk.e }
        if (jwk.d === undefined) return Either.map(importKey(base, false), (keyObject) => ({ keyObject, kid: jwk.kid }))
        const { d, dp, dq, p, q, qi } = jwk
        if (p === undefined || q === undefined || dp === undefined || dq === undefined || qi === undefined) {
          return Either.left(keyError("InvalidJwk", "a private RSA JWK needs d, p, q, dp, dq and qi"))
        }
        return Either.map(
          importKey({ ...base, d, p, q, dp, dq, qi }, true),
          (keyObject) => ({ keyObject, kid: jwk.kid })
        )
      })
    )
  }
  return Either.left(keyError("UnsupportedKeyType", `key type ${String(kty)} is not supported (EC or RSA)`))
}

/**
 * The `node:crypto` key of a JWK (object or JSON text) and the `kid` it carries; the caller checks the
 * `kid` against the key id.
 *
 * @internal
 */
export const keyObjectFromJwk = (jwk: unknown) => Either.flatMap(parseJwkInput(jwk), jwkToKeyObject)

/** A key in libtrust's JWK form. @internal */
export const toJwk = (key: KeyFields): Either.Either<Jwk, SigningError.KeyError> =>
  Either.try({
    try: () => key.keyObject.export({ format: "jwk" }),
    catch: (cause) => keyError("ExportFailed", `cannot export key ${key.keyId} as JWK`, cause)
  }).pipe(Either.flatMap((jwk): Either.Either<Jwk, SigningError.KeyError> => {
    const member = (name: keyof crypto.JsonWebKey): string | undefined => {
      const v = jwk[name]
      return typeof v === "string" ? v : undefined
    }
    const missing = keyError("ExportFailed", `the JWK export of key ${key.keyId} lacks members`)
    const isPrivate = key._tag === "PrivateKey"
    if (key.type === "EC") {
      const x = member("x")
      const y = member("y")
      const d = member("d")
      if (x === undefined || y === undefined || key.curve === undefined || (isPrivate && d === undefined)) {
        return Either.left(missing)
      }
      // members in alphabetical order, as Go's encoding/json writes libtrust's maps
      return Either.right(
        isPrivate && d !== undefined
          ? { crv: key.curve, d, kid: key.keyId, kty: "EC" as const, x, y }
          : { crv: key.curve, kid: key.keyId, kty: "EC" as const, x, y }
      )
    }
    const n = member("n")
    const e = member("e")
    if (n === undefined || e === undefined) return Either.left(missing)
    if (!isPrivate) return Either.right({ e, kid: key.keyId, kty: "RSA" as const, n })
    const d = member("d")
    const p = member("p")
    const q = member("q")
    const dp = member("dp")
    const dq = member("dq")
    const qi = member("qi")
    if (
      d === undefined || p === undefined || q === undefined || dp === undefined || dq === undefined || qi === undefined
    ) {
      return Either.left(missing)
    }
    return Either.right({ d, dp, dq, e, kid: key.keyId, kty: "RSA" as const, n, p, q, qi })
  }))
