/**
 * Raw JWS signatures with a key: EC signatures as `r‖s` (IEEE P1363) with the hash of the key's curve,
 * RSA as PKCS #1 v1.5; verification refuses `none` and algorithms that do not fit the key.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as SigningError from "../SigningError.js"
import { type Algorithm, hashOf, isAlgorithm, type KeyFields, octets } from "./keyAlgorithms.js"

/** Signs bytes with a private key. @internal */
export const sign = (
  key: KeyFields,
  data: Uint8Array
): Either.Either<{ readonly algorithm: Algorithm; readonly signature: Uint8Array }, SigningError.SignError> =>
  Either.try({
    try: () => {
      const signature = key.type === "EC"
        ? crypto.sign(hashOf(key.algorithm), data, { key: key.keyObject, dsaEncoding: "ieee-p1363" })
        : crypto.sign(hashOf(key.algorithm), data, key.keyObject)
      return { algorithm: key.algorithm, signature: new Uint8Array(signature) }
    },
    catch: (cause) =>
      new SigningError.SignError({ reason: "CryptoFailed", detail: `key ${key.keyId} could not sign`, cause })
  })

/** Checks a signature over bytes with a public key. @internal */
export const verify = (
  key: KeyFields,
  algorithm: string,
  data: Uint8Array,
  signature: Uint8Array
): Either.Either<void, SigningError.VerifyError> => {
  const fail = (reason: SigningError.VerifyErrorReason, detail: string, cause?: unknown) =>
    Either.left(new SigningError.VerifyError({ reason, detail, keyId: key.keyId, cause }))
  if (algorithm.toLowerCase() === "none") return fail("AlgorithmNone", "unsigned JWS (alg none) is refused")
  if (!isAlgorithm(algorithm)) return fail("UnsupportedAlgorithm", `algorithm ${algorithm} is not supported`)
  if (key.type === "EC") {
    if (key.curve === undefined || algorithm !== key.algorithm) {
      return fail("AlgorithmMismatch", `a ${key.curve ?? "EC"} key verifies ${key.algorithm}, not ${algorithm}`)
    }
    if (signature.length !== 2 * octets(key.curve)) {
      return fail(
        "BadSignature",
        `an ${algorithm} signature has ${2 * octets(key.curve)} bytes, got ${signature.length}`
      )
    }
  } else if (!algorithm.startsWith("RS")) {
    return fail("AlgorithmMismatch", `an RSA key does not verify ${algorithm}`)
  }
  return Either.try({
    try: () =>
      key.type === "EC"
        ? crypto.verify(hashOf(algorithm), data, { key: key.keyObject, dsaEncoding: "ieee-p1363" }, signature)
        : crypto.verify(hashOf(algorithm), data, key.keyObject, signature),
    catch: (cause) =>
      new SigningError.VerifyError({
        reason: "BadSignature",
        detail: "the signature could not be checked",
        keyId: key.keyId,
        cause
      })
  }).pipe(Either.flatMap((ok) => ok ? Either.void : fail("BadSignature", `the ${algorithm} signature does not verify`)))
}
