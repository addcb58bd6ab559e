/**
 * Certificate chains (`x5c`) of libtrust JSON signatures: reading the chain a signer puts in its
 * header (and checking that its leaf holds the signing key), and checking a chain a verifier finds
 * against trusted roots at a given time.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as Key from "../Key.js"
import type * as SigningError from "../SigningError.js"
import { decodeBase64, signError, verifyError } from "./jsonEncoding.js"

const certificateDer = (c: string | Uint8Array): Either.Either<Uint8Array, SigningError.SignError> => {
  if (typeof c !== "string") return Either.right(c)
  const trimmed = c.trim()
  if (trimmed.startsWith("-----BEGIN")) {
    return Either.try({
      try: () => new Uint8Array(new crypto.X509Certificate(trimmed).raw),
      catch: (cause) => signError("InvalidCertificate", "a certificate of the chain is not valid PEM", cause)
    })
  }
  const der = decodeBase64(trimmed)
  return der === undefined
    ? Either.left(signError("InvalidCertificate", "a certificate of the chain is neither PEM nor base64 DER"))
    : Either.right(der)
}

/** @internal */
export const chainHeader = (
  key: Key.PrivateKey,
  x5c: ReadonlyArray<string | Uint8Array>
): Either.Either<ReadonlyArray<string>, SigningError.SignError> => {
  if (x5c.length === 0) return Either.left(signError("InvalidCertificate", "the certificate chain is empty"))
  const ders: Array<Uint8Array> = []
  for (const c of x5c) {
    const der = certificateDer(c)
    if (Either.isLeft(der)) return Either.left(der.left)
    ders.push(der.right)
  }
  return Either.try({
    try: () => new crypto.X509Certificate(Buffer.from(ders[0])),
    catch: (cause) => signError("InvalidCertificate", "the leaf certificate cannot be read", cause)
  }).pipe(
    Either.flatMap((leaf) =>
      Either.mapLeft(
        Key.fromKeyObjectEither(leaf.publicKey),
        (e) => signError("InvalidCertificate", "the leaf certificate's key is not usable", e)
      )
    ),
    Either.flatMap((leafKey) =>
      leafKey.keyId === key.keyId
        ? Either.right(ders.map((der) => Buffer.from(der).toString("base64")))
        : Either.left(signError("InvalidCertificate", `the leaf certificate's key is not the signing key ${key.keyId}`))
    )
  )
}

const MaxChainLength = 10

/** @internal */
export const parseRoots = (
  roots: ReadonlyArray<string | Uint8Array>
): Either.Either<ReadonlyArray<crypto.X509Certificate>, SigningError.VerifyError> => {
  const out: Array<crypto.X509Certificate> = []
  for (const root of roots) {
    const parsed = Either.try({
      try: () => new crypto.X509Certificate(typeof root === "string" ? root : Buffer.from(root)),
      catch: (cause) => verifyError("ChainUntrusted", "a trusted root certificate cannot be read", { cause })
    })
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    out.push(parsed.right)
  }
  return Either.right(out)
}

const validAt = (cert: crypto.X509Certificate, now: number): boolean => {
  const from = Date.parse(cert.validFrom)
  const to = Date.parse(cert.validTo)
  return Number.isFinite(from) && Number.isFinite(to) && from <= now && now <= to
}

const checks = (f: () => boolean): boolean => {
  try {
    return f()
  } catch {
    return false
  }
}

/** @internal */
export const verifyChain = (
  x5c: ReadonlyArray<string>,
  roots: ReadonlyArray<crypto.X509Certificate>,
  now: number,
  index: number
): Either.Either<crypto.KeyObject, SigningError.VerifyError> => {
  const invalid = (detail: string, cause?: unknown) => verifyError("ChainInvalid", detail, { index, cause })
  if (x5c.length > MaxChainLength) return Either.left(invalid(`the chain has more than ${MaxChainLength} certificates`))
  const certs: Array<crypto.X509Certificate> = []
  for (let i = 0; i < x5c.length; i++) {
    const der = decodeBase64(x5c[i])
    if (der === undefined) return Either.left(invalid(`certificate ${i} of the chain is not base64`))
    const cert = Either.try({
      try: () => new crypto.X509Certificate(Buffer.from(der)),
      catch: (cause) => invalid(`certificate ${i} of the chain cannot be read`, cause)
    })
    if (Either.isLeft(cert)) return Either.left(cert.left)
    if (!validAt(cert.right, now)) {
      return Either.left(invalid(`certificate ${i} of the chain is expired or not yet valid`))
    }
    certs.push(cert.right)
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i]
    const parent = certs[i + 1]
    if (parent.ca !== true || !checks(() => child.checkIssued(parent) && child.verify(parent.publicKey))) {
      return Either.left(invalid(`certificate ${i} is not issued by certificate ${i + 1} of the chain`))
    }
  }
  if (roots.length === 0) {
    return Either.left(
      verifyError("ChainUntrusted", "the signature has a certificate chain and no roots were given", { index })
    )
  }
  const top = certs[certs.length - 1]
  const anchored = roots.some((root) =>
    validAt(root, now) && (
      root.fingerprint256 === top.fingerprint256 ||
      (root.ca === true && checks(() => top.checkIssued(root) && top.verify(root.publicKey)))
    )
  )
  return anchored
    ? Either.right(certs[0].publicKey)
    : Either.left(verifyError("ChainUntrusted", "the certificate chain does not lead to a trusted root", { index }))
}
