/**
 * The signed payload of a schema 1 manifest, rebuilt from its signatures'
 * protected headers (the body of `Manifest.schema1Payload`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as RegistryError from "../RegistryError.js"
import * as Json from "./json.js"

const invalid = (detail: string, mediaType: string): RegistryError.ManifestInvalid =>
  new RegistryError.ManifestInvalid({ reason: "Schema", detail, mediaType })

const ProtectedHeader = Schema.Struct({
  formatLength: Schema.NonNegativeInt,
  formatTail: Schema.String
})

/** @internal */
export const payloadOf = (
  bytes: Uint8Array,
  json: Record<string, unknown>,
  mediaType: string
): Effect.Effect<Uint8Array, RegistryError.ManifestInvalid> =>
  Effect.suspend(() => {
    const signatures = json.signatures
    if (signatures === undefined) return Effect.succeed(bytes)
    if (!Array.isArray(signatures)) return Effect.fail(invalid("signatures must be a list", mediaType))
    if (signatures.length === 0) return Effect.succeed(bytes)
    let found: { readonly length: number; readonly tail: string } | undefined
    for (let i = 0; i < signatures.length; i++) {
      const signature: unknown = signatures[i]
      const prot = Predicate.isRecord(signature) ? signature.protected : undefined
      if (typeof prot !== "string") {
        return Effect.fail(invalid(`signatures[${i}] has no protected header`, mediaType))
      }
      const header = Either.flatMap(
        Either.mapLeft(Encoding.decodeBase64UrlString(prot), () => "not base64url"),
        (text) =>
          Either.flatMap(
            Either.mapLeft(Json.parseText(text, 8), (p) => p.detail),
            (u) =>
              Either.mapLeft(
                Schema.decodeUnknownEither(ProtectedHeader)(u),
                () => "formatLength or formatTail missing"
              )
          )
      )
      if (Either.isLeft(header)) {
        return Effect.fail(invalid(`signatures[${i}] protected header: ${header.left}`, mediaType))
      }
      const { formatLength, formatTail } = header.right
      if (found !== undefined && (found.length !== formatLength || found.tail !== formatTail)) {
        return Effect.fail(invalid("the signatures disagree on the signed payload", mediaType))
      }
      found = { length: formatLength, tail: formatTail }
    }
    if (found === undefined) return Effect.succeed(bytes)
    if (found.length > bytes.length) {
      return Effect.fail(invalid("formatLength is beyond the end of the manifest", mediaType))
    }
    const tail = Encoding.decodeBase64Url(found.tail)
    if (Either.isLeft(tail)) return Effect.fail(invalid("formatTail is not base64url", mediaType))
    const payload = new Uint8Array(found.length + tail.right.length)
    payload.set(bytes.subarray(0, found.length), 0)
    payload.set(tail.right, found.length)
    return Effect.succeed(payload)
  })
