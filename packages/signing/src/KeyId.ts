/**
 * libtrust key ids: the `kid` every schema1 signature carries.
 *
 * A key id is the SHA-256 of the key's DER-encoded SubjectPublicKeyInfo, truncated to its
 * first 240 bits (30 bytes), encoded in base32 (RFC 4648 alphabet, no padding: 48
 * characters) and written as twelve groups of four characters joined by `:`, for example
 * `TDHB:4TXA:GUTQ:HPET:DV5N:PJPB:XDMT:X2FX:P4SR:OJ77:FSSN:MD5T`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"

const PATTERN = /^[A-Z2-7]{4}(?::[A-Z2-7]{4}){11}$/

/**
 * A libtrust key id (twelve `:`-separated groups of four base32 characters).
 *
 * @since 0.1.0
 * @category models
 */
export const KeyId = Schema.String.pipe(
  Schema.pattern(PATTERN, {
    identifier: "KeyId",
    description: "a libtrust key id: twelve groups of four base32 characters joined by ':'"
  }),
  Schema.brand("KeyId")
)

/**
 * @since 0.1.0
 * @category models
 */
export type KeyId = typeof KeyId.Type

/**
 * @since 0.1.0
 * @category guards
 */
export const isKeyId = (u: unknown): u is KeyId => typeof u === "string" && PATTERN.test(u)

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

/**
 * Base32 (RFC 4648 alphabet) without padding.
 *
 * @since 0.1.0
 * @category utils
 */
export const base32 = (bytes: Uint8Array): string => {
  let out = ""
  let buffer = 0
  let bits = 0
  for (let i = 0; i < bytes.length; i++) {
    buffer = ((buffer << 8) | bytes[i]) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * The libtrust key id of a public key given as DER SubjectPublicKeyInfo bytes.
 *
 * @example
 * ```ts
 * import { KeyId } from "@effect-registry/signing"
 * import { generateKeyPairSync } from "node:crypto"
 *
 * const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
 * const kid = KeyId.fromSpki(publicKey.export({ type: "spki", format: "der" }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSpki = (spki: Uint8Array): KeyId => {
  const hash = createHash("sha256").update(spki).digest().subarray(0, 30)
  const encoded = base32(hash)
  const groups: Array<string> = []
  for (let i = 0; i < encoded.length; i += 4) groups.push(encoded.slice(i, i + 4))
  return groups.join(":") as KeyId
}
