/**
 * Docker image manifests, schema 1: build, sign and verify them as libtrust and
 * docker/distribution do.
 *
 * - {@link build} makes a schema 1 manifest from layer digests and an image config.
 * - {@link fromImage} converts an image of a registry (schema 2 or OCI) to one with {@link build}.
 * - {@link sign} serialises it with three-space indentation (`JSON.stringify(v, null, 3)`) and
 *   adds libtrust pretty signatures, giving bytes to PUT with the media type
 *   `application/vnd.docker.distribution.manifest.v1+prettyjws`.
 * - {@link verify} checks every signature and returns the key ids that signed and the manifest
 *   digest, which is the sha256 of the payload (the manifest without its `signatures` block).
 *
 * Verification fails with `SigningError.VerifyError`; `SigningError.toManifestUnverified` maps it
 * to core's `RegistryError.ManifestUnverified` when registry vocabulary is wanted.
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Digest from "@effect-registry/core/Digest"
import * as Manifest from "@effect-registry/core/Manifest"
import * as MediaType from "@effect-registry/core/MediaType"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import { createHash } from "node:crypto"
import * as JsonSignature from "./JsonSignature.js"
import * as Key from "./Key.js"
import type * as KeyId from "./KeyId.js"
import * as SigningError from "./SigningError.js"

/**
 * The media type of a signed schema 1 manifest.
 *
 * @since 0.1.0
 * @category models
 */
export const MediaTypeSigned = MediaType.DockerManifestSchema1Signed

/**
 * What {@link sign} signs: a schema 1 manifest value (serialised with three-space
 * indentation; any `signatures` member of the value is dropped), or manifest bytes (kept byte
 * for byte; when they are already signed, their signatures are kept and the new ones added).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Manifest.Schema1 | Uint8Array

/**
 * A signed schema 1 manifest, shaped as core's decoded manifest so that it can be pushed as
 * is: `bytes` are the signed document, `digest` the sha256 of `payload`, `manifest` the decoded
 * document.
 *
 * @since 0.1.0
 * @category models
 */
export interface Signed extends Manifest.Decoded<"schema1", Manifest.Schema1> {
  readonly mediaType: typeof MediaTypeSigned
  /** The signed bytes: the document without its `signatures` block. */
  readonly payload: Uint8Array
  /** The key ids of the document's signatures (those with a readable `jwk`), in document order. */
  readonly keyIds: ReadonlyArray<KeyId.KeyId>
}

/**
 * A verified schema 1 manifest.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verified {
  /** The sha256 of the payload: the digest a registry gives this manifest. */
  readonly digest: Digest.Digest
  /** The signed bytes: the document without its `signatures` block. */
  readonly payload: Uint8Array
  /** The manifest decoded from the payload. */
  readonly manifest: Manifest.Schema1
  /** The key ids that signed, in document order. */
  readonly keyIds: ReadonlyArray<KeyId.KeyId>
  /** Each verified signature. */
  readonly signatures: ReadonlyArray<JsonSignature.Verified>
}

// ---------------------------------------------------------------------------
// payload
// ---------------------------------------------------------------------------

const encoder = new TextEncoder()

/**
 * The three-space indented JSON of a manifest value, without its `signatures` member, as
 * libtrust-signing tools write it.
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 *
 * declare const manifest: Parameters<typeof Schema1.serialize>[0]
 * const bytes = Schema1.serialize(manifest)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const serialize = (manifest: Manifest.Schema1): Effect.Effect<Uint8Array, SigningError.SignError> =>
  serializeEither(manifest)

const serializeEither = (manifest: Manifest.Schema1): Either.Either<Uint8Array, SigningError.SignError> => {
  const { signatures: _signatures, ...rest } = manifest
  return Either.try({
    try: () => JSON.stringify(rest, null, 3),
    catch: (cause) =>
      new SigningError.SignError({ reason: "InvalidManifest", detail: "not serialisable as JSON", cause })
  }).pipe(
    Either.flatMap((text) =>
      typeof text === "string"
        ? Either.right(encoder.encode(text))
        : Either.left(new SigningError.SignError({ reason: "InvalidManifest", detail: "not serialisable as JSON" }))
    )
  )
}

const toJsonSignature = (input: Input): Effect.Effect<JsonSignature.JsonSignature, SigningError.SignError> =>
  input instanceof Uint8Array
    ? JsonSignature.parse(input).pipe(
      Effect.mapError((e) =>
        e.cause instanceof SigningError.SignError
          ? e.cause
          : new SigningError.SignError({ reason: "InvalidSignatures", detail: e.message, cause: e })
      )
    )
    : Effect.flatMap(serializeEither(input), (payload) => JsonSignature.fromPayload(payload))

const decodePayload = (payload: Uint8Array) =>
  Effect.flatMap(
    Manifest.decode(payload, { contentType: MediaType.DockerManifestSchema1 }),
    (decoded) =>
      decoded.kind !== "schema1"
        ? Effect.fail("not a schema 1 manifest")
        : decoded.manifest.fsLayers.length !== decoded.manifest.history.length
        ? Effect.fail(
          `fsLayers has ${decoded.manifest.fsLayers.length} entries and history ${decoded.manifest.history.length}`
        )
        : Effect.succeed(decoded.manifest)
  )

/**
 * The bytes the signatures of a schema 1 manifest cover (the manifest without its
 * `signatures` block); unsigned bytes are their own payload.
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 *
 * declare const bytes: Uint8Array
 * const payload = Schema1.payload(bytes)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const payload = (bytes: Uint8Array): Effect.Effect<Uint8Array, SigningError.VerifyError> =>
  Effect.map(JsonSignature.parse(bytes), (js) => js.payload)

/**
 * The digest of a schema 1 manifest: the sha256 of its payload. Signatures are not checked.
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 *
 * declare const bytes: Uint8Array
 * const digest = Schema1.digest(bytes)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const digest = (bytes: Uint8Array): Effect.Effect<Digest.Digest, SigningError.VerifyError> =>
  Effect.flatMap(payload(bytes), Digest.sha256)

/**
 * The signatures a schema 1 manifest carries, unchecked (none for an unsigned manifest).
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 *
 * declare const bytes: Uint8Array
 * const signatures = Schema1.signatures(bytes)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const signatures = (
  bytes: Uint8Array
): Effect.Effect<ReadonlyArray<JsonSignature.Signature>, SigningError.VerifyError> =>
  Effect.map(JsonSignature.parse(bytes), (js) => js.signatures)

// ---------------------------------------------------------------------------
// sign
// ---------------------------------------------------------------------------

const isInput = (u: unknown): u is Input => u instanceof Uint8Array || (Predicate.isRecord(u) && !Key.isKey(u))

/**
 * Signs a schema 1 manifest with one or more keys, keeping signatures already present in
 * signed input bytes, and returns the document as libtrust's pretty signature writes it. The
 * signing time comes from `Clock`. The payload must decode as a schema 1 manifest.
 *
 * @example
 * ```ts
 * import { Key, Schema1 } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * declare const layer: Parameters<typeof Schema1.build>[0]["layers"][number]
 * const program = Effect.gen(function*() {
 *   const key = yield* Key.generate()
 *   const manifest = yield* Schema1.build({ name: "example/repo", tag: "latest", layers: [layer], config: {} })
 *   return yield* Schema1.sign(manifest, key)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const sign: {
  (
    keys: Key.PrivateKey | ReadonlyArray<Key.PrivateKey>,
    options?: JsonSignature.SignOptions
  ): (self: Input) => Effect.Effect<Signed, SigningError.SignError>
  (
    self: Input,
    keys: Key.PrivateKey | ReadonlyArray<Key.PrivateKey>,
    options?: JsonSignature.SignOptions
  ): Effect.Effect<Signed, SigningError.SignError>
} = dual(
  (args) => isInput(args[0]),
  (self: Input, keys: Key.PrivateKey | ReadonlyArray<Key.PrivateKey>, options?: JsonSignature.SignOptions) =>
    Effect.gen(function*() {
      const signers: ReadonlyArray<Key.PrivateKey> = Key.isKey(keys) ? [keys] : keys
      if (signers.length === 0) {
        return yield* new SigningError.SignError({ reason: "NoSignatures", detail: "no signing key given" })
      }
      let js = yield* toJsonSignature(self)
      yield* decodePayload(js.payload).pipe(
        Effect.mapError((e) =>
          new SigningError.SignError({
            reason: "InvalidManifest",
            detail: typeof e === "string" ? e : e.message,
            cause: e
          })
        )
      )
      for (const key of signers) js = yield* JsonSignature.sign(js, key, options)
      const bytes = yield* JsonSignature.toPretty(js)
      const decoded = yield* Manifest.decode(bytes, { contentType: MediaTypeSigned }).pipe(
        Effect.mapError((e) => new SigningError.SignError({ reason: "InvalidManifest", detail: e.message, cause: e }))
      )
      const keyIds: Array<KeyId.KeyId> = []
      for (const s of js.signatures) {
        const key = Key.fromJwkEither(s.header.jwk)
        if (Either.isRight(key)) keyIds.push(key.right.keyId)
      }
      if (decoded.kind !== "schema1") {
        return yield* new SigningError.SignError({ reason: "InvalidManifest", detail: "not a schema 1 manifest" })
      }
      const signed: Signed = {
        kind: "schema1",
        mediaType: MediaTypeSigned,
        digest: yield* Digest.sha256(js.payload),
        bytes,
        manifest: decoded.manifest,
        payload: js.payload,
        keyIds
      }
      return signed
    })
)

// ---------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------

/**
 * Options of {@link verify}: the trusted roots for `x5c` chains, and the largest document
 * accepted (default `Manifest.DefaultMaxSize`, 4 MiB, as distribution enforces).
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions extends JsonSignature.VerifyOptions {
  readonly maxSize?: number | undefined
}

/**
 * Verifies a signed schema 1 manifest: rebuilds the payload from the signatures'
 * `formatLength`/`formatTail` (they must agree), checks every signature with its `jwk` (or its
 * `x5c` chain against `options.roots`), refuses `alg: none` and unknown algorithms, and decodes
 * the payload as a schema 1 manifest. Fails with `VerifyError` (reason `Unsigned` for a
 * manifest without signatures).
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * declare const bytes: Uint8Array
 * const keyIds = Schema1.verify(bytes).pipe(Effect.map((v) => v.keyIds))
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  bytes: Uint8Array,
  options?: VerifyOptions
): Effect.Effect<Verified, SigningError.VerifyError> =>
  Effect.gen(function*() {
    const maxSize = options?.maxSize ?? Manifest.DefaultMaxSize
    if (bytes.length > maxSize) {
      return yield* new SigningError.VerifyError({
        reason: "Malformed",
        detail: `${bytes.length} bytes, the limit is ${maxSize}`
      })
    }
    const js = yield* JsonSignature.parse(bytes)
    const verified = yield* JsonSignature.verify(js, options)
    const manifest = yield* decodePayload(js.payload).pipe(
      Effect.mapError((e) =>
        new SigningError.VerifyError({
          reason: "InvalidManifest",
          detail: typeof e === "string" ? e : e.message,
          cause: e
        })
      )
    )
    return {
      digest: yield* Digest.sha256(js.payload),
      payload: js.payload,
      manifest,
      keyIds: verified.map((v) => v.keyId),
      signatures: verified
    }
  })

// ---------------------------------------------------------------------------
// build
// ---------------------------------------------------------------------------

/**
 * What {@link build} needs.
 *
 * - `layers`: the layer digests (compressed blobs), base layer first, as in a schema 2 or OCI
 *   manifest.
 * - `config`: the image configuration (a JSON object, its JSON text or bytes); it becomes the
 *   `v1Compatibility` of the top history entry, without the v2-only `rootfs` and `history`
 *   members. When its `history` has one non-empty-layer entry per layer, their `created`,
 *   `author`, `comment` and `created_by` fill the lower entries.
 * - `architecture`: defaults to the config's `architecture`, then `amd64`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BuildOptions {
  readonly name: string
  readonly tag: string
  readonly layers: ReadonlyArray<Digest.Digest>
  readonly config: Readonly<Record<string, unknown>> | string | Uint8Array
  readonly architecture?: string | undefined
}

const buildError = (reason: SigningError.BuildErrorReason, detail: string, cause?: unknown) =>
  new SigningError.BuildError({ reason, detail, cause })

const parseConfig = (
  config: BuildOptions["config"]
): Either.Either<Readonly<Record<string, unknown>>, SigningError.BuildError> => {
  const parsed: Either.Either<unknown, SigningError.BuildError> = typeof config === "string" ||
      config instanceof Uint8Array
    ? Either.try({
      try: (): unknown =>
        JSON.parse(typeof config === "string" ? config : new TextDecoder("utf-8", { fatal: true }).decode(config)),
      catch: (cause) => buildError("InvalidConfig", "the config is not UTF-8 JSON", cause)
    })
    : Either.right(config)
  return Either.flatMap(parsed, (u) =>
    Predicate.isRecord(u) && !Array.isArray(u)
      ? Either.right(u)
      : Either.left(buildError("InvalidConfig", "the config is not a JSON object")))
}

const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

const sortKeys = (o: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(o).sort()) out[k] = o[k]
  return out
}

interface HistoryEntry {
  readonly created?: unknown
  readonly author?: unknown
  readonly comment?: unknown
  readonly created_by?: unknown
}

const layerHistory = (
  config: Readonly<Record<string, unknown>>,
  count: number
): ReadonlyArray<HistoryEntry> | undefined => {
  const history = config["history"]
  if (!Array.isArray(history)) return undefined
  const entries: Array<HistoryEntry> = []
  for (const h of history) {
    if (Predicate.isRecord(h) && h["empty_layer"] !== true) entries.push(h)
  }
  return entries.length === count ? entries : undefined
}

const stringify = (value: unknown): Either.Either<string, SigningError.BuildError> =>
  Either.try({
    try: () => JSON.stringify(value),
    catch: (cause) => buildError("InvalidConfig", "the config is not serialisable as JSON", cause)
  }).pipe(
    Either.flatMap((s) =>
      typeof s === "string"
        ? Either.right(s)
        : Either.left(buildError("InvalidConfig", "the config is not serialisable"))
    )
  )

/**
 * Builds a schema 1 manifest from layers and an image config: `fsLayers` and `history` newest
 * first, each history entry's `v1Compatibility` a JSON object with a v1 `id` and the `parent`
 * below it. The ids are derived deterministically: `sha256("<layer hex> <parent id>")`, and for
 * the top entry `sha256("<layer hex> <parent id> <config JSON with sorted members>")`, so the
 * same layers and config always give the same manifest.
 *
 * @example
 * ```ts
 * import { Schema1 } from "@effect-registry/signing"
 * import { Digest } from "@effect-registry/core"
 * import { Effect } from "effect"
 *
 * const manifest = Effect.gen(function*() {
 *   const layer = yield* Digest.sha256(new Uint8Array([1, 2, 3]))
 *   return yield* Schema1.build({
 *     name: "example/repo",
 *     tag: "latest",
 *     layers: [layer],
 *     config: { architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] } }
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = (options: BuildOptions): Effect.Effect<Manifest.Schema1, SigningError.BuildError> =>
  Effect.gen(function*() {
    if (options.name.length === 0) return yield* buildError("InvalidName", "the repository name is empty")
    if (options.tag.length === 0) return yield* buildError("InvalidTag", "the tag is empty")
    const layers = options.layers
    if (layers.length === 0) return yield* buildError("NoLayers", "a schema 1 manifest needs at least one layer")
    for (const layer of layers) {
      if (!Digest.isDigest(layer)) return yield* buildError("NoLayers", `${String(layer)} is not a digest`)
    }
    const config = yield* parseConfig(options.config)
    const { history: _history, rootfs: _rootfs, ...v1Config } = config
    const canonical = sortKeys(v1Config)
    const configJson = yield* stringify(canonical)
    const history = layerHistory(config, layers.length)

    const v1: Array<string> = []
    let parent = ""
    for (let i = 0; i < layers.length; i++) {
      const hex = Digest.encoded(layers[i])
      const top = i === layers.length - 1
      const id = sha256Hex(top ? `${hex} ${parent} ${configJson}` : `${hex} ${parent}`)
      if (top) {
        v1.push(yield* stringify(sortKeys({ ...canonical, id, ...(parent === "" ? {} : { parent }) })))
      } else {
        const h = history?.[i]
        const entry: Record<string, unknown> = { id }
        if (parent !== "") entry["parent"] = parent
        if (h !== undefined) {
          if (typeof h.created === "string") entry["created"] = h.created
          if (typeof h.author === "string") entry["author"] = h.author
          if (typeof h.comment === "string") entry["comment"] = h.comment
          if (typeof h.created_by === "string") entry["container_config"] = { Cmd: [h.created_by] }
        } else if (typeof config["created"] === "string") {
          entry["created"] = config["created"]
        }
        v1.push(yield* stringify(entry))
      }
      parent = id
    }
    const architecture = options.architecture ??
      (typeof config["architecture"] === "string" ? config["architecture"] : "amd64")
    const manifest: Manifest.Schema1 = {
      schemaVersion: 1,
      name: options.name,
      tag: options.tag,
      architecture,
      fsLayers: layers.map((_, i) => ({ blobSum: layers[layers.length - 1 - i] })),
      history: v1.map((_, i) => ({ v1Compatibility: v1[v1.length - 1 - i] }))
    }
    return manifest
  })

// ---------------------------------------------------------------------------
// from an image
// ---------------------------------------------------------------------------

/**
 * The largest image config {@link fromImage} downloads, in bytes (8 MiB).
 *
 * @since 0.2.0
 * @category constants
 */
export const MaxConfigBytes = 8 * 1024 * 1024

/**
 * What {@link fromImage} needs besides the image: the tag the schema 1
 * manifest names (schema 1 manifests carry their repository and tag).
 *
 * @since 0.2.0
 * @category models
 */
export interface FromImageOptions {
  readonly tag: string
}

/** The config blob's bytes, at most its announced size and {@link MaxConfigBytes}. */
const downloadConfig = (
  client: RegistryClient.Service,
  repository: string,
  digest: Digest.Digest,
  size: number
): Effect.Effect<Uint8Array, SigningError.BuildError | RegistryClient.DownloadBlobError> =>
  size > MaxConfigBytes
    ? Effect.fail(buildError("InvalidConfig", `the config blob is ${size} bytes, more than ${MaxConfigBytes}`))
    : BlobSource.collectBytesAtMost(
      client.downloadBlob(repository, digest, { size }),
      size,
      () =>
        buildError(
          "InvalidConfig",
          `the registry sent more bytes than the descriptor says (${size}); reading stopped there`
        )
    )

/**
 * An image held by a registry, in schema 1 form for {@link sign}: a schema 1
 * manifest as it is (its exact bytes; `sign` adds its signature to those it
 * has), a schema 2 or OCI image manifest converted with {@link build} from its
 * layers and its config blob, downloaded from `repository` with `client` (at
 * most {@link MaxConfigBytes}, and no more than the manifest announces). The
 * schema 1 `name` is `repository`. An index is not an image: choose one of its
 * children first (`Platform.select`) and pass that manifest.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@effect-registry/core"
 * import { Key, Schema1 } from "@effect-registry/signing"
 * import { Effect } from "effect"
 *
 * declare const pem: string
 *
 * // sign the image app:v1 as a schema 1 manifest and push it as app:v1-schema1
 * const program = Effect.gen(function*() {
 *   const client = yield* RegistryClient.RegistryClient
 *   const image = yield* client.getManifest("app", "v1")
 *   const input = yield* Schema1.fromImage(client, "app", image, { tag: "v1-schema1" })
 *   const signed = yield* Schema1.sign(input, yield* Key.privateKeyFromPem(pem))
 *   return yield* client.putManifest("app", "v1-schema1", signed)
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromImage = (
  client: RegistryClient.Service,
  repository: string,
  manifest: Manifest.Any,
  options: FromImageOptions
): Effect.Effect<Input, SigningError.BuildError | RegistryClient.DownloadBlobError> =>
  Effect.gen(function*() {
    if (manifest.kind === "schema1") return manifest.bytes
    if (Manifest.isIndex(manifest)) {
      return yield* buildError("NotAnImage", `a ${manifest.kind} manifest is an index: choose one of its images`)
    }
    const config = Manifest.config(manifest)
    if (Option.isNone(config)) {
      return yield* buildError("InvalidConfig", `a ${manifest.kind} manifest has no config blob`)
    }
    const configBytes = yield* downloadConfig(client, repository, config.value.digest, config.value.size)
    const layers = Manifest.children(manifest).filter((d) => d.digest !== config.value.digest).map((d) => d.digest)
    return yield* build({ name: repository, tag: options.tag, layers, config: configBytes })
  })
