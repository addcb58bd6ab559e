/**
 * The curves and algorithms libtrust signs with, the key fields the internal key code reads, and the
 * one constructor of key errors. A leaf: the public `Key` module and its internal bodies import it.
 *
 * @since 0.1.0
 */
import type * as crypto from "node:crypto"
import type * as KeyId from "../KeyId.js"
import * as SigningError from "../SigningError.js"

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export type Curve = "P-256" | "P-384" | "P-521"

/** Named by a public declaration: kept in the published .d.ts (not @-internal). */
export type Algorithm = "ES256" | "ES384" | "ES512" | "RS256" | "RS384" | "RS512"

/** The fields of a key (public or private) the internal bodies read. @internal */
export interface KeyFields {
  readonly _tag: "PublicKey" | "PrivateKey"
  readonly type: "EC" | "RSA"
  readonly curve: Curve | undefined
  readonly algorithm: Algorithm
  readonly keyId: KeyId.KeyId
  readonly keyObject: crypto.KeyObject
}

/** @internal */
export const curves: {
  readonly [C in Curve]: { readonly openssl: string; readonly bits: number; readonly alg: Algorithm }
} = {
  "P-256": { openssl: "prime256v1", bits: 256, alg: "ES256" },
  "P-384": { openssl: "secp384r1", bits: 384, alg: "ES384" },
  "P-521": { openssl: "secp521r1", bits: 521, alg: "ES512" }
}

/** The curve of an OpenSSL (or JOSE) curve name. @internal */
export const curveOfOpenssl = (name: string | undefined): Curve | undefined => {
  switch (name) {
    case "prime256v1":
    case "P-256":
      return "P-256"
    case "secp384r1":
    case "P-384":
      return "P-384"
    case "secp521r1":
    case "P-521":
      return "P-521"
    default:
      return undefined
  }
}

/** @internal */
export const isCurve = (s: string): s is Curve => s === "P-256" || s === "P-384" || s === "P-521"

/** The bytes of one coordinate (and of each half of a JWS signature) on a curve. @internal */
export const octets = (curve: Curve): number => Math.ceil(curves[curve].bits / 8)

/** @internal */
export const hashOf = (algorithm: Algorithm): "sha256" | "sha384" | "sha512" => {
  switch (algorithm) {
    case "ES256":
    case "RS256":
      return "sha256"
    case "ES384":
    case "RS384":
      return "sha384"
    case "ES512":
    case "RS512":
      return "sha512"
  }
}

/** @internal */
export const isAlgorithm = (s: string): s is Algorithm =>
  s === "ES256" || s === "ES384" || s === "ES512" || s === "RS256" || s === "RS384" || s === "RS512"

/** @internal */
export const keyError = (reason: SigningError.KeyErrorReason, detail: string, cause?: unknown) =>
  new SigningError.KeyError({ reason, detail, cause })
