/**
 * PEM for keys: reading the first block of a PEM text into a `node:crypto` key, and writing a key
 * as the PEM blocks libtrust writes.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import type * as SigningError from "../SigningError.js"
import { keyError, type KeyFields } from "./keyAlgorithms.js"

interface PemBlock {
  readonly label: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly der: Uint8Array
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const parsePem = (pem: string): Either.Either<PemBlock, SigningError.KeyError> => {
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)
  if (begin === null) return Either.left(keyError("InvalidPem", "no -----BEGIN ...----- line"))
  const label = begin[1]
  const endMarker = `-----END ${label}-----`
  const start = begin.index + begin[0].length
  const end = pem.indexOf(endMarker, start)
  if (end < 0) return Either.left(keyError("InvalidPem", `no ${endMarker} line`))
  const lines = pem.slice(start, end).split(/\r?\n/).map((l) => l.trim())
  const headers: Array<readonly [string, string]> = []
  let i = 0
  while (i < lines.length && lines[i] === "") i++
  if (i < lines.length && lines[i].includes(":")) {
    while (i < lines.length && lines[i].includes(":")) {
      const colon = lines[i].indexOf(":")
      headers.push([lines[i].slice(0, colon).trim(), lines[i].slice(colon + 1).trim()])
      i++
    }
  }
  const body = lines.slice(i).join("")
  if (body.length === 0 || body.length % 4 !== 0 || !BASE64.test(body)) {
    return Either.left(keyError("InvalidPem", `the ${label} block is not valid base64`))
  }
  return Either.right({ label, headers, der: new Uint8Array(Buffer.from(body, "base64")) })
}

const keyFromPemBlock = (block: PemBlock): Either.Either<crypto.KeyObject, SigningError.KeyError> => {
  const der = Buffer.from(block.der)
  const importKey = (f: () => crypto.KeyObject) =>
    Either.try({
      try: f,
      catch: (cause) => keyError("InvalidKey", `the ${block.label} block does not hold a valid key`, cause)
    })
  switch (block.label) {
    case "EC PRIVATE KEY":
      return importKey(() => crypto.createPrivateKey({ key: der, format: "der", type: "sec1" }))
    case "RSA PRIVATE KEY":
      return importKey(() => crypto.createPrivateKey({ key: der, format: "der", type: "pkcs1" }))
    case "PRIVATE KEY":
      return importKey(() => crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" }))
    case "PUBLIC KEY":
      return importKey(() => crypto.createPublicKey({ key: der, format: "der", type: "spki" }))
    case "RSA PUBLIC KEY":
      return importKey(() => crypto.createPublicKey({ key: der, format: "der", type: "pkcs1" }))
    case "ENCRYPTED PRIVATE KEY":
      return Either.left(keyError("InvalidPem", "encrypted private keys are not supported"))
    default:
      return Either.left(keyError("InvalidPem", `unsupported PEM block type ${block.label}`))
  }
}

/** The key of the first block of a PEM text; PEM headers are skipped. @internal */
export const keyObjectFromPem = (pem: string): Either.Either<crypto.KeyObject, SigningError.KeyError> =>
  Either.flatMap(parsePem(pem), keyFromPemBlock)

const armour = (label: string, der: Uint8Array, headers: ReadonlyArray<readonly [string, string]>): string => {
  const b64 = Buffer.from(der).toString("base64")
  const lines: Array<string> = [`-----BEGIN ${label}-----`]
  for (const [k, v] of headers) lines.push(`${k}: ${v}`)
  if (headers.length > 0) lines.push("")
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64))
  lines.push(`-----END ${label}-----`, "")
  return lines.join("\n")
}

/** A key as PEM: libtrust's block types, or PKCS #8 for private keys; optionally the `keyID` header. @internal */
export const toPem = (
  key: KeyFields,
  options: { readonly pkcs8?: boolean | undefined; readonly keyIdHeader?: boolean | undefined } | undefined
): Either.Either<string, SigningError.KeyError> =>
  Either.try({
    try: () => {
      const headers: ReadonlyArray<readonly [string, string]> = options?.keyIdHeader === true
        ? [["keyID", key.keyId]]
        : []
      if (key._tag === "PublicKey") {
        return armour("PUBLIC KEY", key.keyObject.export({ type: "spki", format: "der" }), headers)
      }
      if (options?.pkcs8 === true) {
        return armour("PRIVATE KEY", key.keyObject.export({ type: "pkcs8", format: "der" }), headers)
      }
      return key.type === "EC"
        ? armour("EC PRIVATE KEY", key.keyObject.export({ type: "sec1", format: "der" }), headers)
        : armour("RSA PRIVATE KEY", key.keyObject.export({ type: "pkcs1", format: "der" }), headers)
    },
    catch: (cause) => keyError("ExportFailed", `cannot export key ${key.keyId} as PEM`, cause)
  })
