/**
 * ES256 JSON web tokens signed with node:crypto.
 *
 * @since 0.1.0
 */
import * as Crypto from "node:crypto"

const base64url = (bytes: Buffer) => bytes.toString("base64url")

/**
 * Signs `claims` with an ES256 key; the header carries the certificate chain in `x5c`.
 *
 * @internal
 */
export const signEs256 = (
  privateKey: Crypto.KeyObject,
  x5c: ReadonlyArray<string>,
  claims: Record<string, unknown>
): string => {
  const header = { typ: "JWT", alg: "ES256", x5c }
  const input = `${base64url(Buffer.from(JSON.stringify(header)))}.${base64url(Buffer.from(JSON.stringify(claims)))}`
  const signature = Crypto.sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" })
  return `${input}.${base64url(signature)}`
}

/**
 * The claims of a JWT (no verification), or `undefined` when it is not one.
 *
 * @internal
 */
export const decodeClaims = (token: string): Record<string, unknown> | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"))
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined
  } catch {
    return undefined
  }
}

/** @internal */
export const equalSecrets = (a: string, b: string): boolean =>
  Crypto.timingSafeEqual(
    Crypto.createHash("sha256").update(a).digest(),
    Crypto.createHash("sha256").update(b).digest()
  )
