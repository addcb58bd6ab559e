/**
 * Canonical bytes for new manifests, indexes and image configs.
 *
 * The output is compact JSON with the fields in the order of the specs (the
 * order the Go structs of the OCI image spec and distribution declare), map keys
 * (annotations, labels) sorted, optional fields left out when absent. Fields a
 * descriptor carries beyond the known ones are kept after them. Every result is
 * decoded back with `Manifest.decode`, so what is returned is exactly what a
 * registry will see, with its digest.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Descriptor from "./Descriptor.js"
import * as Digest from "./Digest.js"
import * as Json from "./internal/json.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import type * as Platform from "./Platform.js"
import * as RegistryError from "./RegistryError.js"

// ---------------------------------------------------------------------------
// a tiny ordered JSON writer
// ---------------------------------------------------------------------------

type Node =
  | { readonly _tag: "Raw"; readonly text: string }
  | { readonly _tag: "Object"; readonly entries: ReadonlyArray<readonly [string, Node]> }
  | { readonly _tag: "Array"; readonly items: ReadonlyArray<Node> }

class NotJson {
  constructor(readonly path: string) {}
}

const raw = (u: unknown, path: string): Either.Either<Node, NotJson> => {
  if (typeof u === "number" && !Number.isFinite(u)) return Either.left(new NotJson(path))
  return Either.flatMap(
    Either.try({ try: () => JSON.stringify(u), catch: () => new NotJson(path) }),
    (text): Either.Either<Node, NotJson> =>
      typeof text === "string" ? Either.right({ _tag: "Raw", text }) : Either.left(new NotJson(path))
  )
}

const write = (node: Node): string => {
  switch (node._tag) {
    case "Raw":
      return node.text
    case "Array":
      return `[${node.items.map(write).join(",")}]`
    case "Object":
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(",")}}`
  }
}

type Field = readonly [key: string, value: Either.Either<Node, NotJson> | undefined]

const object = (
  fields: ReadonlyArray<Field>,
  extras?: { readonly from: Readonly<Record<string, unknown>>; readonly path: string }
): Either.Either<Node, NotJson> => {
  const entries: Array<readonly [string, Node]> = []
  const known = new Set<string>()
  for (const [key, value] of fields) {
    known.add(key)
    if (value === undefined) continue
    if (Either.isLeft(value)) return Either.left(value.left)
    entries.push([key, value.right])
  }
  if (extras !== undefined) {
    for (const key of Object.keys(extras.from)) {
      const value = extras.from[key]
      if (known.has(key) || value === undefined) continue
      const node = raw(value, `${extras.path}.${key}`)
      if (Either.isLeft(node)) return Either.left(node.left)
      entries.push([key, node.right])
    }
  }
  return Either.right({ _tag: "Object", entries })
}

const array = <A>(
  xs: ReadonlyArray<A>,
  f: (a: A, i: number) => Either.Either<Node, NotJson>
): Either.Either<Node, NotJson> => Either.map(Either.all(xs.map(f)), (items): Node => ({ _tag: "Array", items }))

const sortedMap = (m: Readonly<Record<string, unknown>>, path: string): Either.Either<Node, NotJson> =>
  object(
    Object.keys(m).filter((k) => m[k] !== undefined).sort().map((k): Field => [k, raw(m[k], `${path}.${k}`)])
  )

const opt = <A>(
  a: A | undefined,
  f: (a: A) => Either.Either<Node, NotJson>
): Either.Either<Node, NotJson> | undefined => a === undefined ? undefined : f(a)

const value = (u: unknown, path: string) => raw(u, path)

const platformNode = (p: Platform.Platform, path: string): Either.Either<Node, NotJson> =>
  object([
    ["architecture", value(p.architecture, path)],
    ["os", value(p.os, path)],
    ["os.version", opt(p["os.version"], (v) => value(v, path))],
    ["os.features", opt(p["os.features"], (v) => value(v, path))],
    ["variant", opt(p.variant, (v) => value(v, path))],
    ["features", opt(p.features, (v) => value(v, path))]
  ], { from: p, path })

const descriptorNode = (d: Descriptor.Descriptor, path: string): Either.Either<Node, NotJson> =>
  object([
    ["mediaType", value(d.mediaType, path)],
    ["digest", value(d.digest, path)],
    ["size", value(d.size, path)],
    ["urls", opt(d.urls, (v) => value(v, path))],
    ["annotations", opt(d.annotations, (v) => sortedMap(v, `${path}.annotations`))],
    ["data", opt(d.data, (v) => value(v, path))],
    ["platform", opt(d.platform, (v) => platformNode(v, `${path}.platform`))],
    ["artifactType", opt(d.artifactType, (v) => value(v, path))]
  ], { from: d, path })

const descriptors = (ds: ReadonlyArray<Descriptor.Descriptor>, path: string) =>
  array(ds, (d, i) => descriptorNode(d, `${path}[${i}]`))

const finish = (
  node: Either.Either<Node, NotJson>,
  mediaType: string,
  options: BuildOptions | undefined
): Effect.Effect<Manifest.Any, RegistryError.ManifestInvalid> =>
  Either.match(node, {
    onLeft: (e) =>
      Effect.fail(
        new RegistryError.ManifestInvalid({
          reason: "Schema",
          mediaType,
          detail: `${e.path} is not representable as JSON`
        })
      ),
    onRight: (n) =>
      Manifest.decode(Json.utf8(write(n)), {
        contentType: mediaType,
        ...(options?.maxSize !== undefined ? { maxSize: options.maxSize } : {})
      })
  })

const wrongKind = (m: Manifest.Any) =>
  new RegistryError.ManifestInvalid({
    reason: "MediaType",
    mediaType: m.mediaType,
    detail: `built a ${m.kind} manifest`
  })

/**
 * Options shared by the builders.
 *
 * @since 0.1.0
 * @category models
 */
export interface BuildOptions {
  /** Refuse results larger than this (default `Manifest.DefaultMaxSize`). */
  readonly maxSize?: number | undefined
}

// ---------------------------------------------------------------------------
// manifests
// ---------------------------------------------------------------------------

/**
 * An OCI image manifest (or artifact manifest, with `artifactType`).
 *
 * @example
 * ```ts
 * import { ManifestBuilder, MediaType } from "@effect-registry/core"
 *
 * const m = ManifestBuilder.ociManifest({ config: MediaType.OciEmptyDescriptor, layers: [] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const ociManifest = (
  input: {
    readonly config: Descriptor.Descriptor
    readonly layers: ReadonlyArray<Descriptor.Descriptor>
    readonly annotations?: Readonly<Record<string, string>> | undefined
    readonly subject?: Descriptor.Descriptor | undefined
    readonly artifactType?: string | undefined
  },
  options?: BuildOptions
): Effect.Effect<Manifest.Decoded<"oci", Manifest.OciManifest>, RegistryError.ManifestInvalid> =>
  Effect.flatMap(
    finish(
      object([
        ["schemaVersion", value(2, "")],
        ["mediaType", value(MediaType.OciManifest, "")],
        ["artifactType", opt(input.artifactType, (v) => value(v, "artifactType"))],
        ["config", descriptorNode(input.config, "config")],
        ["layers", descriptors(input.layers, "layers")],
        ["subject", opt(input.subject, (v) => descriptorNode(v, "subject"))],
        ["annotations", opt(input.annotations, (v) => sortedMap(v, "annotations"))]
      ]),
      MediaType.OciManifest,
      options
    ),
    (m) => m.kind === "oci" ? Effect.succeed(m) : Effect.fail(wrongKind(m))
  )

/**
 * An OCI artifact manifest: the empty config (`application/vnd.oci.empty.v1+json`),
 * an `artifactType`, blobs as layers (the empty descriptor when none), and often a `subject`.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@effect-registry/core"
 *
 * const m = ManifestBuilder.artifact({ artifactType: "application/vnd.example+json", layers: [] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const artifact = (
  input: {
    readonly artifactType: string
    readonly layers: ReadonlyArray<Descriptor.Descriptor>
    readonly annotations?: Readonly<Record<string, string>> | undefined
    readonly subject?: Descriptor.Descriptor | undefined
  },
  options?: BuildOptions
): Effect.Effect<Manifest.Decoded<"oci", Manifest.OciManifest>, RegistryError.ManifestInvalid> =>
  ociManifest({
    ...input,
    config: MediaType.OciEmptyDescriptor,
    layers: input.layers.length > 0 ? input.layers : [MediaType.OciEmptyDescriptor]
  }, options)

/**
 * A Docker image manifest, schema 2.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@effect-registry/core"
 * import type { Descriptor } from "@effect-registry/core"
 *
 * declare const config: Descriptor.Descriptor
 * const m = ManifestBuilder.schema2({ config, layers: [] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const schema2 = (
  input: {
    readonly config: Descriptor.Descriptor
    readonly layers: ReadonlyArray<Descriptor.Descriptor>
  },
  options?: BuildOptions
): Effect.Effect<Manifest.Decoded<"schema2", Manifest.Schema2>, RegistryError.ManifestInvalid> =>
  Effect.flatMap(
    finish(
      object([
        ["schemaVersion", value(2, "")],
        ["mediaType", value(MediaType.DockerManifestSchema2, "")],
        ["config", descriptorNode(input.config, "config")],
        ["layers", descriptors(input.layers, "layers")]
      ]),
      MediaType.DockerManifestSchema2,
      options
    ),
    (m) => m.kind === "schema2" ? Effect.succeed(m) : Effect.fail(wrongKind(m))
  )

/**
 * An OCI image index.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@effect-registry/core"
 *
 * const index = ManifestBuilder.ociIndex({ manifests: [] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const ociIndex = (
  input: {
    readonly manifests: ReadonlyArray<Descriptor.Descriptor>
    readonly annotations?: Readonly<Record<string, string>> | undefined
    readonly subject?: Descriptor.Descriptor | undefined
    readonly artifactType?: string | undefined
  },
  options?: BuildOptions
): Effect.Effect<Manifest.Decoded<"index", Manifest.OciIndex>, RegistryError.ManifestInvalid> =>
  Effect.flatMap(
    finish(
      object([
        ["schemaVersion", value(2, "")],
        ["mediaType", value(MediaType.OciIndex, "")],
        ["artifactType", opt(input.artifactType, (v) => value(v, "artifactType"))],
        ["manifests", descriptors(input.manifests, "manifests")],
        ["subject", opt(input.subject, (v) => descriptorNode(v, "subject"))],
        ["annotations", opt(input.annotations, (v) => sortedMap(v, "annotations"))]
      ]),
      MediaType.OciIndex,
      options
    ),
    (m) => m.kind === "index" ? Effect.succeed(m) : Effect.fail(wrongKind(m))
  )

/**
 * A Docker manifest list. Entries should carry a `platform`.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@effect-registry/core"
 *
 * const list = ManifestBuilder.manifestList({ manifests: [] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const manifestList = (
  input: { readonly manifests: ReadonlyArray<Descriptor.Descriptor> },
  options?: BuildOptions
): Effect.Effect<Manifest.Decoded<"list", Manifest.ManifestList>, RegistryError.ManifestInvalid> =>
  Effect.flatMap(
    finish(
      object([
        ["schemaVersion", value(2, "")],
        ["mediaType", value(MediaType.DockerManifestList, "")],
        ["manifests", descriptors(input.manifests, "manifests")]
      ]),
      MediaType.DockerManifestList,
      options
    ),
    (m) => m.kind === "list" ? Effect.succeed(m) : Effect.fail(wrongKind(m))
  )

// ---------------------------------------------------------------------------
// image config
// ---------------------------------------------------------------------------

/**
 * A blob built in memory: its bytes, its descriptor and the decoded value.
 *
 * @since 0.1.0
 * @category models
 */
export interface Built<A> {
  readonly bytes: Uint8Array
  readonly descriptor: Descriptor.Descriptor
  readonly value: A
}

const runtimeConfigNode = (
  c: NonNullable<Manifest.ImageConfig["config"]>,
  path: string
): Either.Either<Node, NotJson> =>
  object([
    ["User", opt(c.User, (v) => value(v, path))],
    ["ExposedPorts", opt(c.ExposedPorts, (v) => v === null ? value(null, path) : sortedMap(v, `${path}.ExposedPorts`))],
    ["Env", opt(c.Env, (v) => value(v, path))],
    ["Entrypoint", opt(c.Entrypoint, (v) => value(v, path))],
    ["Cmd", opt(c.Cmd, (v) => value(v, path))],
    ["Volumes", opt(c.Volumes, (v) => v === null ? value(null, path) : sortedMap(v, `${path}.Volumes`))],
    ["WorkingDir", opt(c.WorkingDir, (v) => value(v, path))],
    ["Labels", opt(c.Labels, (v) => v === null ? value(null, path) : sortedMap(v, `${path}.Labels`))],
    ["StopSignal", opt(c.StopSignal, (v) => value(v, path))]
  ], { from: c, path })

/**
 * An image config (OCI by default, or Docker's with `mediaType`), as canonical
 * bytes with its descriptor.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@effect-registry/core"
 *
 * const config = ManifestBuilder.imageConfig({
 *   architecture: "amd64",
 *   os: "linux",
 *   rootfs: { type: "layers", diff_ids: [] }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const imageConfig = (
  config: Manifest.ImageConfig,
  options?: BuildOptions & { readonly mediaType?: string | undefined }
): Effect.Effect<Built<Manifest.ImageConfig>, RegistryError.ManifestInvalid> => {
  const mediaType = options?.mediaType ?? MediaType.OciConfig
  const node = object([
    ["created", opt(config.created, (v) => value(v, "created"))],
    ["author", opt(config.author, (v) => value(v, "author"))],
    ["architecture", value(config.architecture, "architecture")],
    ["os", value(config.os, "os")],
    ["os.version", opt(config["os.version"], (v) => value(v, "os.version"))],
    ["os.features", opt(config["os.features"], (v) => value(v, "os.features"))],
    ["variant", opt(config.variant, (v) => value(v, "variant"))],
    ["config", opt(config.config, (v) => runtimeConfigNode(v, "config"))],
    [
      "rootfs",
      object([
        ["type", value(config.rootfs.type, "rootfs")],
        ["diff_ids", value(config.rootfs.diff_ids, "rootfs")]
      ], { from: config.rootfs, path: "rootfs" })
    ],
    [
      "history",
      opt(config.history, (h) =>
        array(h, (entry, i) =>
          object([
            ["created", opt(entry.created, (v) => value(v, "history"))],
            ["created_by", opt(entry.created_by, (v) => value(v, "history"))],
            ["author", opt(entry.author, (v) => value(v, "history"))],
            ["comment", opt(entry.comment, (v) => value(v, "history"))],
            ["empty_layer", opt(entry.empty_layer, (v) => value(v, "history"))]
          ], { from: entry, path: `history[${i}]` })))
    ]
  ], { from: config, path: "" })
  if (Either.isLeft(node)) {
    return Effect.fail(
      new RegistryError.ManifestInvalid({
        reason: "Schema",
        mediaType,
        detail: `${node.left.path} is not representable as JSON`
      })
    )
  }
  const bytes = Json.utf8(write(node.right))
  return Effect.gen(function*() {
    const decoded = yield* Manifest.decodeImageConfig(bytes, options)
    const digest = yield* Digest.sha256(bytes)
    return { bytes, descriptor: { mediaType, digest, size: bytes.length }, value: decoded }
  })
}
