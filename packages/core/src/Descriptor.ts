/**
 * Content descriptors: what a manifest says about a blob or a child manifest.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Digest from "./Digest.js"
import * as Platform from "./Platform.js"
import * as RegistryError from "./RegistryError.js"

const Base64 = Schema.String.pipe(
  Schema.filter((s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) || "not base64", {
    identifier: "Base64"
  })
)

/**
 * A descriptor (`mediaType`, `digest`, `size`, and optionally `urls`,
 * `annotations`, `platform`, `artifactType`, `data` in base64). Unknown fields
 * are kept.
 *
 * @since 0.1.0
 * @category models
 */
export const Descriptor = Schema.Struct(
  {
    mediaType: Schema.String,
    digest: Digest.Digest,
    size: Schema.NonNegativeInt,
    urls: Schema.optional(Schema.Array(Schema.String)),
    annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
    platform: Schema.optional(Platform.Platform),
    artifactType: Schema.optional(Schema.String),
    data: Schema.optional(Base64)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({ identifier: "Descriptor" })

/**
 * @since 0.1.0
 * @category models
 */
export type Descriptor = typeof Descriptor.Type

/**
 * @since 0.1.0
 * @category guards
 */
export const isDescriptor: (u: unknown) => u is Descriptor = Schema.is(Descriptor)

/**
 * Builds a descriptor for bytes held in memory (digest computed with WebCrypto).
 *
 * @example
 * ```ts
 * import { Descriptor, MediaType } from "@effect-registry/core"
 *
 * const d = Descriptor.fromBytes(MediaType.OciEmpty, new TextEncoder().encode("{}"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBytes = (
  mediaType: string,
  bytes: Uint8Array,
  options?: {
    readonly annotations?: Readonly<Record<string, string>> | undefined
    readonly artifactType?: string | undefined
    readonly platform?: Platform.Platform | undefined
    readonly embed?: boolean | undefined
  }
): Effect.Effect<Descriptor> =>
  Effect.map(Digest.sha256(bytes), (digest) => {
    const d: Descriptor = { mediaType, digest, size: bytes.length }
    return {
      ...d,
      ...(options?.artifactType !== undefined ? { artifactType: options.artifactType } : {}),
      ...(options?.platform !== undefined ? { platform: options.platform } : {}),
      ...(options?.annotations !== undefined ? { annotations: options.annotations } : {}),
      ...(options?.embed === true ? { data: Encoding.encodeBase64(bytes) } : {})
    }
  })

/**
 * Builds a descriptor from known values, validating them (`DigestInvalid` for
 * the digest, `ManifestInvalid` for the other fields).
 *
 * @example
 * ```ts
 * import { Descriptor } from "@effect-registry/core"
 *
 * const d = Descriptor.make({
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly urls?: ReadonlyArray<string> | undefined
  readonly annotations?: Readonly<Record<string, string>> | undefined
  readonly platform?: Platform.Platform | undefined
  readonly artifactType?: string | undefined
  readonly data?: string | undefined
}): Effect.Effect<Descriptor, RegistryError.DigestInvalid | RegistryError.ManifestInvalid> =>
  Effect.flatMap(Digest.parse(input.digest), (digest) => {
    if (!Number.isSafeInteger(input.size) || input.size < 0) {
      return Effect.fail(
        new RegistryError.ManifestInvalid({
          reason: "Schema",
          digest,
          detail: `descriptor size must be a non-negative integer, got ${input.size}`
        })
      )
    }
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v
    return Schema.decodeUnknown(Descriptor)({ ...out, digest }).pipe(
      Effect.mapError((e) =>
        new RegistryError.ManifestInvalid({
          reason: "Schema",
          digest,
          detail: `invalid descriptor: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
          cause: e
        })
      )
    )
  })

/**
 * The embedded `data` of a descriptor, decoded, when present and consistent
 * with `size` (the digest is not checked here).
 *
 * @since 0.1.0
 * @category utils
 */
export const embeddedData = (d: Descriptor): Uint8Array | undefined => {
  if (d.data === undefined) return undefined
  const bytes = Encoding.decodeBase64(d.data)
  return Either.isRight(bytes) && bytes.right.length === d.size ? bytes.right : undefined
}
