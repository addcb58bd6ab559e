/**
 * Manifests of every kind (Docker schema 1 and 2, manifest list, OCI manifest
 * and index) and image configs, decoded from their exact bytes.
 *
 * A decoded manifest keeps the bytes it came from: its digest is computed from
 * those bytes (for signed schema 1, from the signed payload, as the registry
 * does), and they are what is pushed again. The decoded view is for reading;
 * it is never re-serialised. Unknown fields survive decoding.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Descriptor from "./Descriptor.js"
import * as Digest from "./Digest.js"
import * as FastDecode from "./internal/fastDecode.js"
import * as Json from "./internal/json.js"
import { payloadOf } from "./internal/schema1Payload.js"
import * as MediaType from "./MediaType.js"
import type * as RateLimit from "./RateLimit.js"
import * as RegistryError from "./RegistryError.js"

const Extra = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const Annotations = Schema.Record({ key: Schema.String, value: Schema.String })

// ---------------------------------------------------------------------------
// schemas
// ---------------------------------------------------------------------------

/**
 * One libtrust signature of a signed schema 1 manifest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Schema1Signature = Schema.Struct(
  {
    header: Schema.Struct({ jwk: Extra, alg: Schema.String }, Extra),
    signature: Schema.String,
    protected: Schema.String
  },
  Extra
).annotations({ identifier: "Schema1Signature" })

/**
 * @since 0.1.0
 * @category models
 */
export type Schema1Signature = typeof Schema1Signature.Type

/**
 * Docker image manifest, schema 1 (signed or not).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Schema1 = Schema.Struct(
  {
    schemaVersion: Schema.Literal(1),
    name: Schema.String,
    tag: Schema.String,
    architecture: Schema.String,
    fsLayers: Schema.Array(Schema.Struct({ blobSum: Digest.Digest }, Extra)),
    history: Schema.Array(Schema.Struct({ v1Compatibility: Schema.String }, Extra)),
    signatures: Schema.optional(Schema.Array(Schema1Signature))
  },
  Extra
).annotations({ identifier: "Schema1" })

/**
 * @since 0.1.0
 * @category models
 */
export type Schema1 = typeof Schema1.Type

/**
 * Docker image manifest, schema 2.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Schema2 = Schema.Struct(
  {
    schemaVersion: Schema.Literal(2),
    mediaType: Schema.Literal(MediaType.DockerManifestSchema2),
    config: Descriptor.Descriptor,
    layers: Schema.Array(Descriptor.Descriptor)
  },
  Extra
).annotations({ identifier: "Schema2" })

/**
 * @since 0.1.0
 * @category models
 */
export type Schema2 = typeof Schema2.Type

/**
 * Docker manifest list.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ManifestList = Schema.Struct(
  {
    schemaVersion: Schema.Literal(2),
    mediaType: Schema.Literal(MediaType.DockerManifestList),
    manifests: Schema.Array(Descriptor.Descriptor)
  },
  Extra
).annotations({ identifier: "ManifestList" })

/**
 * @since 0.1.0
 * @category models
 */
export type ManifestList = typeof ManifestList.Type

/**
 * A config descriptor with an empty digest and size 0, as some artifact tools
 * wrote before the OCI empty descriptor existed. It points at nothing.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UnsetConfig = Schema.Struct(
  {
    mediaType: Schema.String,
    digest: Schema.Literal(""),
    size: Schema.Literal(0)
  },
  Extra
).annotations({ identifier: "UnsetConfig" })

/**
 * @since 0.1.0
 * @category models
 */
export type UnsetConfig = typeof UnsetConfig.Type

/**
 * @since 0.1.0
 * @category guards
 */
export const isUnsetConfig = (c: Descriptor.Descriptor | UnsetConfig): c is UnsetConfig => c.digest === ""

const LayersOrNull = Schema.transform(
  Schema.NullOr(Schema.Array(Descriptor.Descriptor)),
  Schema.Array(Schema.typeSchema(Descriptor.Descriptor)),
  { strict: true, decode: (layers) => layers ?? [], encode: (layers) => layers }
)

/**
 * OCI image manifest (also used for artifacts, with `artifactType` and `subject`).
 * `layers: null` reads as no layers; a config whose digest is `""` reads as an
 * {@link UnsetConfig} (tell them apart with `Descriptor.isDescriptor` or use
 * {@link config}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OciManifest = Schema.Struct(
  {
    schemaVersion: Schema.Literal(2),
    mediaType: Schema.optional(Schema.Literal(MediaType.OciManifest)),
    artifactType: Schema.optional(Schema.String),
    config: Schema.Union(Descriptor.Descriptor, UnsetConfig),
    layers: LayersOrNull,
    subject: Schema.optional(Descriptor.Descriptor),
    annotations: Schema.optional(Annotations)
  },
  Extra
).annotations({ identifier: "OciManifest" })

/**
 * @since 0.1.0
 * @category models
 */
export type OciManifest = typeof OciManifest.Type

/**
 * OCI image index.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OciIndex = Schema.Struct(
  {
    schemaVersion: Schema.Literal(2),
    mediaType: Schema.optional(Schema.Literal(MediaType.OciIndex)),
    artifactType: Schema.optional(Schema.String),
    manifests: Schema.Array(Descriptor.Descriptor),
    subject: Schema.optional(Descriptor.Descriptor),
    annotations: Schema.optional(Annotations)
  },
  Extra
).annotations({ identifier: "OciIndex" })

/**
 * @since 0.1.0
 * @category models
 */
export type OciIndex = typeof OciIndex.Type

const StringList = Schema.NullOr(Schema.Array(Schema.String))

/**
 * The runtime part of an image config (`config` field), Docker and OCI alike.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageRuntimeConfig = Schema.Struct(
  {
    User: Schema.optional(Schema.String),
    ExposedPorts: Schema.optional(Schema.NullOr(Extra)),
    Env: Schema.optional(StringList),
    Entrypoint: Schema.optional(StringList),
    Cmd: Schema.optional(StringList),
    Volumes: Schema.optional(Schema.NullOr(Extra)),
    WorkingDir: Schema.optional(Schema.String),
    Labels: Schema.optional(Schema.NullOr(Annotations)),
    StopSignal: Schema.optional(Schema.String)
  },
  Extra
).annotations({ identifier: "ImageRuntimeConfig" })

/**
 * OCI / Docker image configuration.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageConfig = Schema.Struct(
  {
    architecture: Schema.String,
    os: Schema.String,
    "os.version": Schema.optional(Schema.String),
    "os.features": Schema.optional(Schema.Array(Schema.String)),
    variant: Schema.optional(Schema.String),
    created: Schema.optional(Schema.String),
    author: Schema.optional(Schema.String),
    config: Schema.optional(ImageRuntimeConfig),
    rootfs: Schema.Struct({ type: Schema.String, diff_ids: Schema.Array(Digest.Digest) }, Extra),
    history: Schema.optional(Schema.Array(Schema.Struct(
      {
        created: Schema.optional(Schema.String),
        created_by: Schema.optional(Schema.String),
        author: Schema.optional(Schema.String),
        comment: Schema.optional(Schema.String),
        empty_layer: Schema.optional(Schema.Boolean)
      },
      Extra
    )))
  },
  Extra
).annotations({ identifier: "ImageConfig" })

/**
 * @since 0.1.0
 * @category models
 */
export type ImageConfig = typeof ImageConfig.Type

// ---------------------------------------------------------------------------
// decoded manifests
// ---------------------------------------------------------------------------

/**
 * The kinds of manifests.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "schema1" | "schema2" | "list" | "oci" | "index"

/**
 * A decoded manifest with the exact bytes it came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoded<K extends Kind, A> {
  readonly kind: K
  readonly mediaType: string
  readonly digest: Digest.Digest
  readonly bytes: Uint8Array
  readonly manifest: A
  /** The rate-limit headers of the registry's answer, when the manifest came from one that sent any. */
  readonly rateLimit?: RateLimit.RateLimit | undefined
}

/**
 * Any decoded manifest.
 *
 * @since 0.1.0
 * @category models
 */
export type Any =
  | Decoded<"schema1", Schema1>
  | Decoded<"schema2", Schema2>
  | Decoded<"list", ManifestList>
  | Decoded<"oci", OciManifest>
  | Decoded<"index", OciIndex>

/**
 * A manifest of one image (schema 1, schema 2, OCI manifest).
 *
 * @since 0.1.0
 * @category models
 */
export type Image = Extract<Any, { readonly kind: "schema1" | "schema2" | "oci" }>

/**
 * A multi-platform manifest (Docker list, OCI index).
 *
 * @since 0.1.0
 * @category models
 */
export type Index = Extract<Any, { readonly kind: "list" | "index" }>

/**
 * @since 0.1.0
 * @category guards
 */
export const isIndex = (m: Any): m is Index => m.kind === "list" || m.kind === "index"

/**
 * @since 0.1.0
 * @category guards
 */
export const isImage = (m: Any): m is Image => !isIndex(m)

/**
 * The default size limit of a manifest, 4 MiB, as distribution enforces.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxSize = 4 * 1024 * 1024

/**
 * The default JSON nesting limit of manifests and configs.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxDepth = 64

/**
 * The kind of a manifest media type, if it is one.
 *
 * @since 0.1.0
 * @category utils
 */
export const kindOf = (mediaType: string): Kind | undefined => {
  switch (MediaType.normalize(mediaType)) {
    case MediaType.DockerManifestSchema1:
    case MediaType.DockerManifestSchema1Signed:
      return "schema1"
    case MediaType.DockerManifestSchema2:
      return "schema2"
    case MediaType.DockerManifestList:
      return "list"
    case MediaType.OciManifest:
      return "oci"
    case MediaType.OciIndex:
      return "index"
    default:
      return undefined
  }
}

/**
 * Options of {@link decode}.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  /** The `Content-Type` the registry sent (parameters are ignored). */
  readonly contentType?: string | undefined
  /** Refuse larger manifests before reading them. Default {@link DefaultMaxSize}. */
  readonly maxSize?: number | undefined
  /** Refuse JSON nested deeper. Default {@link DefaultMaxDepth}. */
  readonly maxDepth?: number | undefined
}

const invalid = (
  reason: RegistryError.ManifestInvalidReason,
  detail: string,
  mediaType?: string | undefined
): RegistryError.ManifestInvalid =>
  new RegistryError.ManifestInvalid(mediaType !== undefined ? { reason, detail, mediaType } : { reason, detail })

const readJson = (
  bytes: Uint8Array,
  options: DecodeOptions | undefined
): Either.Either<unknown, RegistryError.ManifestInvalid> => {
  const maxSize = options?.maxSize ?? DefaultMaxSize
  if (bytes.length > maxSize) {
    return Either.left(invalid("TooLarge", `${bytes.length} bytes, the limit is ${maxSize}`))
  }
  return Either.mapLeft(
    Json.parse(bytes, options?.maxDepth ?? DefaultMaxDepth),
    (problem) => invalid(problem._tag, problem.detail)
  )
}

const GENERIC_CONTENT_TYPES = new Set(["", "application/json", "text/plain", "application/octet-stream"])

const resolveMediaType = (
  json: Record<string, unknown>,
  contentType: string | undefined
): Either.Either<{ readonly kind: Kind; readonly mediaType: string }, RegistryError.ManifestInvalid> => {
  const ct = contentType !== undefined ? MediaType.normalize(contentType) : ""
  const body = typeof json.mediaType === "string" ? json.mediaType : undefined
  const ctKind = kindOf(ct)
  if (ctKind !== undefined) {
    if (body !== undefined && kindOf(body) !== ctKind) {
      return Either.left(invalid("MediaType", `Content-Type is ${ct} but the body says mediaType ${body}`, ct))
    }
    return Either.right({ kind: ctKind, mediaType: ct })
  }
  if (body !== undefined) {
    const kind = kindOf(body)
    return kind !== undefined
      ? Either.right({ kind, mediaType: body })
      : Either.left(invalid("MediaType", `unknown manifest media type ${body}`, body))
  }
  if (json.schemaVersion === 1) {
    return Either.right({
      kind: "schema1",
      mediaType: json.signatures !== undefined ? MediaType.DockerManifestSchema1Signed : MediaType.DockerManifestSchema1
    })
  }
  if (json.schemaVersion === 2 && "manifests" in json) {
    return Either.right({ kind: "index", mediaType: MediaType.OciIndex })
  }
  if (json.schemaVersion === 2 && "config" in json) {
    return Either.right({ kind: "oci", mediaType: MediaType.OciManifest })
  }
  const why = GENERIC_CONTENT_TYPES.has(ct) ? "" : ` (Content-Type ${ct} is not a manifest type)`
  return Either.left(invalid("MediaType", `cannot tell the manifest type from its content${why}`))
}

// What a schema failure says, at most: the path to the first problem and what was wrong there.
const MaxSchemaDetail = 1024

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key) => typeof key === "number" ? `[${key}]` : `.${RegistryError.printable(String(key), 64)}`).join("")
    .replace(/^\./, "")

const valueText = (u: unknown): string => {
  if (typeof u === "string") return `the string "${RegistryError.printable(u, 48)}"`
  if (Array.isArray(u)) return `a list of ${u.length} items`
  if (u === null) return "null"
  if (typeof u === "object") return "an object"
  return `${typeof u} ${RegistryError.printable(String(u), 48)}`
}

/**
 * The first problem of a schema failure, in a few hundred characters: its path and what was expected. The
 * input is described (a type, a short quote), never formatted whole.
 */
const firstProblem = (issue: ParseResult.ParseIssue, at: ReadonlyArray<PropertyKey> = []): string => {
  const path: Array<PropertyKey> = [...at]
  let current: ParseResult.ParseIssue = issue
  for (let depth = 0; depth < 256; depth++) {
    switch (current._tag) {
      case "Pointer":
        if (Array.isArray(current.path)) path.push(...current.path)
        else path.push(current.path as PropertyKey)
        current = current.issue
        continue
      case "Composite": {
        const issues = current.issues
        current = Array.isArray(issues) ? issues[0] : issues as ParseResult.ParseIssue
        continue
      }
      case "Refinement":
      case "Transformation":
        current = current.issue
        continue
      default:
        break
    }
    break
  }
  const where = path.length > 0 ? pathText(path) : "the manifest"
  switch (current._tag) {
    case "Missing":
      return `${where} is missing`
    case "Unexpected":
      return `${where} is not allowed`
    case "Forbidden":
      return `${where} could not be checked`
    case "Type":
      return current.message !== undefined
        ? `${where}: ${current.message}`
        : `${where}: expected ${RegistryError.printable(String(current.ast), 200)}, got ${valueText(current.actual)}`
    default:
      return `${where} is not valid`
  }
}

const schemaError = (mediaType: string) => (e: FastDecode.Problem): RegistryError.ManifestInvalid =>
  new RegistryError.ManifestInvalid({
    reason: "Schema",
    mediaType,
    detail: RegistryError.printable(firstProblem(e.issue, e.path), MaxSchemaDetail)
  })

const decodeSchema1 = FastDecode.decode(Schema1)
const decodeSchema2 = FastDecode.decode(Schema2)
const decodeManifestList = FastDecode.decode(ManifestList)
const decodeOciManifest = FastDecode.decode(OciManifest)
const decodeOciIndex = FastDecode.decode(OciIndex)
const decodeConfig = FastDecode.decode(ImageConfig)

const decodeKind = (
  kind: Kind,
  mediaType: string,
  json: unknown
): Either.Either<
  | { readonly kind: "schema1"; readonly manifest: Schema1 }
  | { readonly kind: "schema2"; readonly manifest: Schema2 }
  | { readonly kind: "list"; readonly manifest: ManifestList }
  | { readonly kind: "oci"; readonly manifest: OciManifest }
  | { readonly kind: "index"; readonly manifest: OciIndex },
  RegistryError.ManifestInvalid
> => {
  const onError = schemaError(mediaType)
  switch (kind) {
    case "schema1":
      return decodeSchema1(json).pipe(
        Either.map((manifest) => ({ kind, manifest })),
        Either.mapLeft(onError)
      )
    case "schema2":
      return decodeSchema2(json).pipe(
        Either.map((manifest) => ({ kind, manifest })),
        Either.mapLeft(onError)
      )
    case "list":
      return decodeManifestList(json).pipe(
        Either.map((manifest) => ({ kind, manifest })),
        Either.mapLeft(onError)
      )
    case "oci":
      return decodeOciManifest(json).pipe(
        Either.map((manifest) => ({ kind, manifest })),
        Either.mapLeft(onError)
      )
    case "index":
      return decodeOciIndex(json).pipe(
        Either.map((manifest) => ({ kind, manifest })),
        Either.mapLeft(onError)
      )
  }
}

/**
 * Decodes a manifest from its exact bytes.
 *
 * The size limit is checked first, then strict UTF-8, the JSON nesting depth, and
 * the JSON itself. The media type comes from `contentType` when it names a
 * manifest type, then from the body's `mediaType`, then from the shape
 * (`schemaVersion: 1` ⇒ schema 1; `manifests` ⇒ OCI index; `config` ⇒ OCI
 * manifest). The digest is the sha256 of the bytes, or for schema 1 that of the
 * signed payload ({@link schema1Payload}).
 *
 * @example
 * ```ts
 * import { Manifest, MediaType } from "@effect-registry/core"
 *
 * declare const bytes: Uint8Array
 * const m = Manifest.decode(bytes, { contentType: MediaType.OciManifest })
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  bytes: Uint8Array,
  options?: DecodeOptions
): Effect.Effect<Any, RegistryError.ManifestInvalid> =>
  Effect.gen(function*() {
    const json = yield* readJson(bytes, options)
    if (!Predicate.isRecord(json) || Array.isArray(json)) {
      return yield* invalid("Schema", "a manifest must be a JSON object")
    }
    const { kind, mediaType } = yield* resolveMediaType(json, options?.contentType)
    const decoded = yield* decodeKind(kind, mediaType, json)
    const digest = decoded.kind === "schema1"
      ? yield* Effect.flatMap(payloadOf(bytes, json, mediaType), Digest.sha256)
      : yield* Digest.sha256(bytes)
    const result: Any = { ...decoded, mediaType, digest, bytes }
    return result
  })

/**
 * Decodes an image config (OCI or Docker) from its bytes.
 *
 * @example
 * ```ts
 * import { Manifest } from "@effect-registry/core"
 *
 * declare const bytes: Uint8Array
 * const config = Manifest.decodeImageConfig(bytes)
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeImageConfig = (
  bytes: Uint8Array,
  options?: Omit<DecodeOptions, "contentType">
): Effect.Effect<ImageConfig, RegistryError.ManifestInvalid> =>
  Effect.flatMap(
    readJson(bytes, options),
    (json) => Either.mapLeft(decodeConfig(json), schemaError(MediaType.OciConfig))
  )

// ---------------------------------------------------------------------------
// schema 1 signed payload
// ---------------------------------------------------------------------------

/**
 * The bytes a schema 1 manifest's libtrust signatures cover: the manifest
 * without its `signatures` block, rebuilt from each signature's protected header
 * (`bytes[0, formatLength) + base64url-decode(formatTail)`). An unsigned
 * manifest is its own payload. The registry's digest of a signed schema 1 is the
 * sha256 of this payload.
 *
 * @example
 * ```ts
 * import { Manifest } from "@effect-registry/core"
 *
 * declare const bytes: Uint8Array
 * const payload = Manifest.schema1Payload(bytes)
 * ```
 *
 * @since 0.1.0
 * @category schema1
 */
export const schema1Payload = (
  bytes: Uint8Array,
  options?: Omit<DecodeOptions, "contentType">
): Effect.Effect<Uint8Array, RegistryError.ManifestInvalid> =>
  Effect.flatMap(readJson(bytes, options), (json) =>
    Predicate.isRecord(json) && !Array.isArray(json)
      ? payloadOf(bytes, json, MediaType.DockerManifestSchema1Signed)
      : Effect.fail(invalid("Schema", "a manifest must be a JSON object")))

/**
 * The digest of manifest bytes of a given media type: the sha256 of the bytes,
 * or for schema 1 of the signed payload.
 *
 * @example
 * ```ts
 * import { Manifest, MediaType } from "@effect-registry/core"
 *
 * declare const bytes: Uint8Array
 * const digest = Manifest.digestOf(bytes, MediaType.OciManifest)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const digestOf = (
  bytes: Uint8Array,
  mediaType: string
): Effect.Effect<Digest.Digest, RegistryError.ManifestInvalid> =>
  MediaType.isSchema1(mediaType)
    ? Effect.flatMap(schema1Payload(bytes), Digest.sha256)
    : Digest.sha256(bytes)

// ---------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------

/**
 * The config descriptor of an image manifest, when it has a real one.
 *
 * @since 0.1.0
 * @category utils
 */
export const config = (m: Any): Option.Option<Descriptor.Descriptor> => {
  switch (m.kind) {
    case "schema2":
      return Option.some(m.manifest.config)
    case "oci":
      return isUnsetConfig(m.manifest.config) ? Option.none() : Option.some(m.manifest.config)
    default:
      return Option.none()
  }
}

/**
 * The content a manifest points at: config and layers of an image, entries of
 * an index. Schema 1 manifests carry no descriptors (see {@link blobDigests}).
 * The `subject` is not a child.
 *
 * @since 0.1.0
 * @category utils
 */
export const children = (m: Any): ReadonlyArray<Descriptor.Descriptor> => {
  switch (m.kind) {
    case "schema1":
      return []
    case "schema2":
      return [m.manifest.config, ...m.manifest.layers]
    case "oci":
      return [...Option.toArray(config(m)), ...m.manifest.layers]
    case "list":
    case "index":
      return m.manifest.manifests
  }
}

/**
 * Every digest a manifest references as a child (schema 1 `fsLayers` included),
 * without duplicates, in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const blobDigests = (m: Any): ReadonlyArray<Digest.Digest> => {
  const all = m.kind === "schema1" ? m.manifest.fsLayers.map((l) => l.blobSum) : children(m).map((d) => d.digest)
  return [...new Set(all)]
}

/**
 * The `subject` of an OCI manifest or index (the content it refers to), if any.
 *
 * @since 0.1.0
 * @category utils
 */
export const subject = (m: Any): Option.Option<Descriptor.Descriptor> =>
  m.kind === "oci" || m.kind === "index" ? Option.fromNullable(m.manifest.subject) : Option.none()

/**
 * The artifact type of an OCI manifest or index: its `artifactType`, else (for
 * a manifest) its config media type, as the referrers API reports it.
 *
 * @since 0.1.0
 * @category utils
 */
export const artifactType = (m: Any): Option.Option<string> => {
  if (m.kind === "oci") return Option.some(m.manifest.artifactType ?? m.manifest.config.mediaType)
  if (m.kind === "index") return Option.fromNullable(m.manifest.artifactType)
  return Option.none()
}

/**
 * A descriptor of the decoded manifest itself (to put in an index or a `subject`).
 *
 * @since 0.1.0
 * @category utils
 */
export const descriptor = (m: Any): Descriptor.Descriptor => ({
  mediaType: m.mediaType,
  digest: m.digest,
  size: m.bytes.length
})
