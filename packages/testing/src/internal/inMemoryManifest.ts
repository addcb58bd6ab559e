/**
 * Manifest checks of the in-memory registry: what a PUT must satisfy, what it references.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import {
  base64UrlDecode,
  computeDigest,
  concatBytes,
  decodeUtf8,
  type DigestFailure,
  digestShapePattern,
  isRecord,
  type ManifestEntry,
  mediaTypes,
  normalizeMediaType,
  type ParsedDigest,
  parseDigest,
  parseJson
} from "./inMemoryStore.js"

/** @internal */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly detail: unknown
}

/** @internal */
export interface Checked {
  readonly entry: ManifestEntry
  /** blobs that must be linked in the repository */
  readonly blobs: ReadonlyArray<string>
  /** manifests that must exist in the repository */
  readonly manifests: ReadonlyArray<string>
}

const invalid = (detail: unknown): Effect.Effect<never, Invalid> => Effect.fail({ _tag: "Invalid", detail })

const knownTypes: ReadonlySet<string> = new Set([
  mediaTypes.ociManifest,
  mediaTypes.ociIndex,
  mediaTypes.schema2,
  mediaTypes.list,
  mediaTypes.schema1,
  mediaTypes.schema1Signed
])

interface Descriptor {
  readonly mediaType: string | undefined
  readonly digest: string
  readonly urls: boolean
  readonly artifactType: string | undefined
  readonly platform: Readonly<Record<string, unknown>> | undefined
}

const descriptor = (u: unknown, where: string): Effect.Effect<Descriptor, Invalid> => {
  if (!isRecord(u)) return invalid(`${where}: not a descriptor`)
  const digest = u.digest
  if (typeof digest !== "string" || !digestShapePattern.test(digest)) {
    return invalid(`${where}: invalid digest`)
  }
  if (u.size !== undefined && (typeof u.size !== "number" || !Number.isInteger(u.size) || u.size < 0)) {
    return invalid(`${where}: invalid size`)
  }
  if (u.mediaType !== undefined && typeof u.mediaType !== "string") return invalid(`${where}: invalid mediaType`)
  return Effect.succeed({
    mediaType: u.mediaType,
    digest,
    urls: Array.isArray(u.urls) && u.urls.length > 0,
    artifactType: typeof u.artifactType === "string" ? u.artifactType : undefined,
    platform: isRecord(u.platform) ? u.platform : undefined
  })
}

const descriptors = (u: unknown, where: string): Effect.Effect<ReadonlyArray<Descriptor>, Invalid> =>
  Array.isArray(u)
    ? Effect.forEach(u, (d, i) => descriptor(d, `${where}[${i}]`))
    : invalid(`${where}: expected an array`)

const stringRecord = (u: unknown): Readonly<Record<string, string>> | undefined => {
  if (!isRecord(u)) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(u)) if (typeof v === "string") out[k] = v
  return out
}

/**
 * The bytes a libtrust signature covers: `bytes[0, formatLength) + base64url(formatTail)`.
 *
 * @internal
 */
export const schema1Payload = (bytes: Uint8Array, json: Readonly<Record<string, unknown>>): Uint8Array | undefined => {
  const signatures = json.signatures
  if (!Array.isArray(signatures) || signatures.length === 0) return undefined
  const first: unknown = signatures[0]
  if (!isRecord(first) || typeof first.protected !== "string") return undefined
  const header = base64UrlDecode(first.protected)
  const headerText = header === undefined ? undefined : decodeUtf8(header)
  const parsed = headerText === undefined ? undefined : parseJson(headerText)
  if (parsed === undefined || !parsed.ok || !isRecord(parsed.value)) return undefined
  const { formatLength, formatTail } = parsed.value
  if (typeof formatLength !== "number" || typeof formatTail !== "string") return undefined
  if (formatLength < 0 || formatLength > bytes.length) return undefined
  const tail = base64UrlDecode(formatTail)
  if (tail === undefined) return undefined
  return concatBytes([bytes.subarray(0, formatLength), tail])
}

/**
 * Checks a manifest PUT body. `digestRef` is the digest in the URL when the reference is one
 * (its algorithm is used); otherwise sha256.
 *
 * @internal
 */
export const check = (options: {
  readonly bytes: Uint8Array
  readonly contentType: string | undefined
  readonly digestRef: ParsedDigest | undefined
  readonly schema1: boolean
}): Effect.Effect<Checked, Invalid | { readonly _tag: "DigestMismatch" } | DigestFailure> =>
  Effect.gen(function*() {
    const { bytes } = options
    const text = decodeUtf8(bytes)
    if (text === undefined) return yield* invalid("manifest is not UTF-8")
    const parsed = parseJson(text)
    // distribution's detail for a syntax error: `{"Offset":<n>}`
    if (!parsed.ok) return yield* invalid({ Offset: parsed.offset })
    const json = parsed.value
    if (!isRecord(json)) return yield* invalid("manifest is not a JSON object")
    const bodyType = typeof json.mediaType === "string" ? json.mediaType : undefined
    const header = normalizeMediaType(options.contentType)
    let mediaType: string
    if (knownTypes.has(header)) {
      mediaType = header
      if (bodyType !== undefined && bodyType !== header) {
        return yield* invalid({})
      }
    } else if (json.schemaVersion === 1 && (header === "" || header === "application/json")) {
      mediaType = mediaTypes.schema1Signed
    } else if (header === "" && bodyType !== undefined && knownTypes.has(bodyType)) {
      mediaType = bodyType
    } else {
      return yield* invalid({})
    }

    const blobs: Array<string> = []
    const manifests: Array<string> = []
    let children: ManifestEntry["children"] = []
    let signedBytes = bytes
    let subject: string | undefined
    let artifactType = typeof json.artifactType === "string" ? json.artifactType : undefined

    if (mediaType === mediaTypes.schema1 || mediaType === mediaTypes.schema1Signed) {
      if (!options.schema1) return yield* invalid("schema1 manifests are not supported")
      if (json.schemaVersion !== 1) return yield* invalid("schemaVersion must be 1")
      const payload = schema1Payload(bytes, json)
      if (payload === undefined) return yield* invalid("schema1 manifest is not signed")
      signedBytes = payload
      mediaType = mediaTypes.schema1Signed
      if (!Array.isArray(json.fsLayers)) return yield* invalid("fsLayers: expected an array")
      for (const layer of json.fsLayers) {
        if (!isRecord(layer) || typeof layer.blobSum !== "string" || !digestShapePattern.test(layer.blobSum)) {
          return yield* invalid("fsLayers: invalid blobSum")
        }
        blobs.push(layer.blobSum)
      }
    } else {
      if (json.schemaVersion !== 2) return yield* invalid("schemaVersion must be 2")
      if (json.subject !== undefined) {
        subject = (yield* descriptor(json.subject, "subject")).digest
      }
      if (mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.schema2) {
        const config = yield* descriptor(json.config, "config")
        blobs.push(config.digest)
        if (artifactType === undefined && mediaType === mediaTypes.ociManifest) artifactType = config.mediaType
        for (const layer of yield* descriptors(json.layers ?? [], "layers")) {
          if (!layer.urls) blobs.push(layer.digest)
        }
      } else {
        const entries = yield* descriptors(json.manifests, "manifests")
        for (const entry of entries) manifests.push(entry.digest)
        children = entries.map((entry) => {
          const os = entry.platform?.os
          const architecture = entry.platform?.architecture
          return {
            digest: entry.digest,
            ...(typeof os === "string" ? { os } : {}),
            ...(typeof architecture === "string" ? { architecture } : {})
          }
        })
      }
    }

    const digest = yield* computeDigest(options.digestRef?.algorithm ?? "sha256", signedBytes)
    if (options.digestRef !== undefined && options.digestRef.digest !== digest) {
      return yield* Effect.fail({ _tag: "DigestMismatch" as const })
    }
    return {
      entry: {
        digest,
        mediaType,
        bytes,
        subject,
        artifactType,
        annotations: stringRecord(json.annotations),
        children
      },
      blobs,
      manifests
    }
  })

/** @internal */
export const isDigestReference = (reference: string): boolean => reference.includes(":")

/** @internal */
export { parseDigest }
