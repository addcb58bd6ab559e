/**
 * Image references (`[registry/]repository[:tag][@digest]`), parsed by the
 * distribution reference grammar, with Docker Hub normalisation
 * (`ubuntu` → `docker.io/library/ubuntu:latest`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Digest from "./Digest.js"
import * as RegistryError from "./RegistryError.js"

// ---------------------------------------------------------------------------
// grammar
// ---------------------------------------------------------------------------

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const IPV6 = /^\[[a-fA-F0-9:]+\]$/
const TAG = /^[\w][\w.-]{0,127}$/

/**
 * The longest repository name, in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxNameLength = 255

/**
 * The registry Docker Hub references are normalised to.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerHub = "docker.io"

/**
 * The host that serves the registry API of Docker Hub.
 *
 * @since 0.1.0
 * @category constants
 */
export const DockerHubApiHost = "registry-1.docker.io"

/**
 * The tag assumed when a reference names neither a tag nor a digest.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultTag = "latest"

/**
 * Explains why a string is not a valid repository path, or `undefined`.
 *
 * @since 0.1.0
 * @category utils
 */
export const repositoryProblem = (s: string): string | undefined => {
  if (s.length === 0) return "empty repository name"
  if (s.length > MaxNameLength) return `repository name longer than ${MaxNameLength} characters (${s.length})`
  const components = s.split("/")
  for (let i = 0; i < components.length; i++) {
    const c = components[i]
    if (c.length === 0) return `empty path component at position ${i + 1}`
    if (!PATH_COMPONENT.test(c)) {
      return c !== c.toLowerCase() && PATH_COMPONENT.test(c.toLowerCase())
        ? `path component "${c}" must be lowercase`
        : `path component "${c}" must be lowercase letters and digits joined by ".", "_", "__" or "-"`
    }
  }
  return undefined
}

/**
 * Explains why a string is not a valid registry host (`host[:port]`), or `undefined`.
 *
 * @since 0.1.0
 * @category utils
 */
export const registryProblem = (s: string): string | undefined => {
  if (s.length === 0) return "empty registry host"
  let host = s
  let port: string | undefined
  if (s.startsWith("[")) {
    const close = s.indexOf("]")
    if (close < 0) return `unclosed IPv6 bracket in "${s}"`
    host = s.slice(0, close + 1)
    const rest = s.slice(close + 1)
    if (rest.length > 0) {
      if (!rest.startsWith(":")) return `unexpected "${rest}" after IPv6 address`
      port = rest.slice(1)
    }
    if (!IPV6.test(host)) return `malformed IPv6 address "${host}"`
  } else {
    const colon = s.indexOf(":")
    if (colon >= 0) {
      host = s.slice(0, colon)
      port = s.slice(colon + 1)
    }
    if (host.length === 0) return `empty host in "${s}"`
    for (const c of host.split(".")) {
      if (!DOMAIN_COMPONENT.test(c)) return `malformed host "${host}"`
    }
  }
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port)) return `port "${port}" must be a number`
    const n = Number(port)
    if (n < 1 || n > 65535) return `port ${port} out of range 1-65535`
  }
  return undefined
}

/**
 * Explains why a string is not a valid tag, or `undefined`.
 *
 * @since 0.1.0
 * @category utils
 */
export const tagProblem = (s: string): string | undefined => {
  if (s.length === 0) return "empty tag"
  if (s.length > 128) return `tag longer than 128 characters (${s.length})`
  if (!TAG.test(s)) return `tag "${s}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
  return undefined
}

// ---------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------

const check = (problem: (s: string) => string | undefined, identifier: string) =>
  Schema.String.pipe(Schema.filter((s) => problem(s) ?? true, { identifier }))

/**
 * A registry host with an optional port (`registry.example:5000`, `localhost`, `[::1]:5000`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RegistryHost = check(registryProblem, "RegistryHost")

/**
 * A repository path (`library/ubuntu`), at most 255 characters.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RepositoryName = check(repositoryProblem, "RepositoryName")

/**
 * A tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tag = check(tagProblem, "Tag")

/**
 * A parsed, normalised image reference. `registry` is always set (`docker.io`
 * for Docker Hub); at least one of `tag` and `digest` is set when it comes from
 * {@link parse} (`latest` by default). When both are set, the digest is what a
 * pull fetches.
 *
 * @since 0.1.0
 * @category models
 */
export class Reference extends Schema.Class<Reference>("@effect-registry/core/Reference")({
  registry: RegistryHost,
  repository: RepositoryName,
  tag: Schema.optional(Tag),
  digest: Schema.optional(Digest.Digest)
}) {
  /**
   * @since 0.1.0
   */
  override toString(): string {
    return format(this)
  }
}

/**
 * The fields of a reference, as plain data.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fields {
  readonly registry: string
  readonly repository: string
  readonly tag?: string | undefined
  readonly digest?: string | undefined
}

const invalid = (reference: string, detail: string) => new RegistryError.ReferenceInvalid({ reference, detail })

const isDomain = (first: string): boolean =>
  first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()

const build = (
  registry: string,
  repository: string,
  tag: string | undefined,
  digest: Digest.Digest | undefined
): Reference =>
  new Reference(
    {
      registry,
      repository,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {})
    },
    { disableValidation: true }
  )

const parseEither = (
  s: string,
  options?: { readonly defaultTag?: boolean | undefined }
): Either.Either<Reference, RegistryError.ReferenceInvalid> => {
  if (s.length === 0) return Either.left(invalid(s, "empty reference"))
  if (s.length > 1024) return Either.left(invalid(s.slice(0, 64) + "…", "reference longer than 1024 characters"))
  let rest = s
  let digest: Digest.Digest | undefined
  const at = rest.indexOf("@")
  if (at >= 0) {
    const d = rest.slice(at + 1)
    const problem = Digest.problem(d)
    if (problem !== undefined) return Either.left(invalid(s, `digest: ${problem}`))
    digest = Digest.unsafeMake(d)
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf("/")
  const colon = rest.indexOf(":", lastSlash + 1)
  if (colon >= 0 && !(lastSlash < 0 && rest.startsWith("["))) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    const problem = tagProblem(tag)
    if (problem !== undefined) return Either.left(invalid(s, problem))
  }
  let registry: string = DockerHub
  let repository = rest
  const firstSlash = rest.indexOf("/")
  if (firstSlash >= 0 && isDomain(rest.slice(0, firstSlash))) {
    registry = rest.slice(0, firstSlash)
    repository = rest.slice(firstSlash + 1)
    const problem = registryProblem(registry)
    if (problem !== undefined) return Either.left(invalid(s, problem))
  } else if (firstSlash < 0 && rest.startsWith("[")) {
    return Either.left(invalid(s, "a registry host needs a repository after it"))
  }
  if (registry === "index.docker.io") registry = DockerHub
  if (registry === DockerHub && repository.length > 0 && !repository.includes("/")) {
    repository = `library/${repository}`
  }
  const problem = repositoryProblem(repository)
  if (problem !== undefined) return Either.left(invalid(s, problem))
  if (tag === undefined && digest === undefined && options?.defaultTag !== false) tag = DefaultTag
  return Either.right(build(registry, repository, tag, digest))
}

/**
 * Parses and normalises an image reference: `ubuntu` is
 * `docker.io/library/ubuntu:latest`, `index.docker.io/x/y` is `docker.io/x/y`.
 * Without a tag or digest the tag is `latest` (unless `defaultTag: false`).
 *
 * @example
 * ```ts
 * import { Reference } from "@effect-registry/core"
 *
 * const ref = Reference.parse("localhost:5000/team/app:1.0")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (
  s: string,
  options?: { readonly defaultTag?: boolean | undefined }
): Effect.Effect<Reference, RegistryError.ReferenceInvalid> => parseEither(s, options)

/**
 * Builds a reference from its parts, validating each; `registry` defaults to
 * Docker Hub (with `library/` for single-component names).
 *
 * @example
 * ```ts
 * import { Reference } from "@effect-registry/core"
 *
 * const ref = Reference.make({ registry: "localhost:5000", repository: "app", tag: "v1" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly registry?: string | undefined
  readonly repository: string
  readonly tag?: string | undefined
  readonly digest?: string | undefined
}): Effect.Effect<Reference, RegistryError.ReferenceInvalid> => {
  const shown = format({ ...fields, registry: fields.registry ?? DockerHub })
  let registry = fields.registry ?? DockerHub
  const rp = registryProblem(registry)
  if (rp !== undefined) return Effect.fail(invalid(shown, rp))
  if (registry === "index.docker.io") registry = DockerHub
  const repository = registry === DockerHub && !fields.repository.includes("/") && fields.repository.length > 0
    ? `library/${fields.repository}`
    : fields.repository
  const np = repositoryProblem(repository)
  if (np !== undefined) return Effect.fail(invalid(shown, np))
  if (fields.tag !== undefined) {
    const tp = tagProblem(fields.tag)
    if (tp !== undefined) return Effect.fail(invalid(shown, tp))
  }
  if (fields.digest !== undefined) {
    const dp = Digest.problem(fields.digest)
    if (dp !== undefined) return Effect.fail(invalid(shown, `digest: ${dp}`))
  }
  return Effect.succeed(
    build(registry, repository, fields.tag, fields.digest !== undefined ? Digest.unsafeMake(fields.digest) : undefined)
  )
}

/**
 * The fully qualified string form: `registry/repository[:tag][@digest]`.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (r: Fields): string =>
  `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ""}${
    r.digest !== undefined ? `@${r.digest}` : ""
  }`

/**
 * The short form people type: Docker Hub's registry and `library/` are left out
 * (`docker.io/library/ubuntu:latest` → `ubuntu:latest`).
 *
 * @since 0.1.0
 * @category utils
 */
export const familiar = (r: Fields): string => {
  const suffix = `${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`
  return `${familiarName(r)}${suffix}`
}

/**
 * The short repository name (`ubuntu`, `user/app`, `ghcr.io/org/app`).
 *
 * @since 0.1.0
 * @category utils
 */
export const familiarName = (r: Fields): string => {
  if (r.registry !== DockerHub) return `${r.registry}/${r.repository}`
  const repo = r.repository.startsWith("library/") && r.repository.split("/").length === 2
    ? r.repository.slice("library/".length)
    : r.repository
  // A first component that would read as a host must keep the registry.
  const first = repo.split("/")[0]
  return repo.includes("/") && isDomain(first) ? `${r.registry}/${r.repository}` : repo
}

/**
 * The host (and port) that serves the registry API for a reference's registry:
 * `registry-1.docker.io` for Docker Hub, the registry itself otherwise.
 *
 * @since 0.1.0
 * @category utils
 */
export const apiHost = (r: Fields | string): string => {
  const registry = typeof r === "string" ? r : r.registry
  return registry === DockerHub || registry === "index.docker.io" ? DockerHubApiHost : registry
}

/**
 * What to put in a manifest URL: the digest when there is one, else the tag,
 * else `latest`.
 *
 * @since 0.1.0
 * @category utils
 */
export const manifestReference = (r: Fields): string => r.digest ?? r.tag ?? DefaultTag

/**
 * The same reference with another tag (the digest is dropped).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTag = (r: Reference, tag: string): Effect.Effect<Reference, RegistryError.TagInvalid> =>
  Effect.map(
    tagOf(tag),
    (tag) => build(r.registry, r.repository, tag, undefined)
  )

/**
 * The same reference pinned to a digest (the tag is kept for display).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withDigest = (r: Reference, digest: Digest.Digest): Reference =>
  build(r.registry, r.repository, r.tag, digest)

/**
 * Parses an image reference from a string in a Schema; encodes with {@link format}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromString: Schema.Schema<Reference, string> = Schema.transformOrFail(
  Schema.String,
  Schema.typeSchema(Reference),
  {
    strict: true,
    decode: (s, _, ast) =>
      Either.mapLeft(parseEither(s), (e) => new ParseResult.Type(ast, s, e.detail ?? "invalid image reference")),
    encode: (r) => ParseResult.succeed(format(r))
  }
).annotations({ identifier: "ReferenceFromString" })

// ---------------------------------------------------------------------------
// parts
// ---------------------------------------------------------------------------

/**
 * Validates a repository path (`team/app`, at most 255 characters).
 *
 * @example
 * ```ts
 * import { Reference } from "@effect-registry/core"
 *
 * const repo = Reference.repository("library/alpine")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const repository = (s: string): Effect.Effect<string, RegistryError.NameInvalid> => {
  const problem = repositoryProblem(s)
  return problem === undefined
    ? Effect.succeed(s)
    : Effect.fail(
      new RegistryError.NameInvalid({ repository: s.length > 300 ? s.slice(0, 64) + "…" : s, detail: problem })
    )
}

const tagOf = (s: string): Effect.Effect<string, RegistryError.TagInvalid> => {
  const problem = tagProblem(s)
  return problem === undefined
    ? Effect.succeed(s)
    : Effect.fail(new RegistryError.TagInvalid({ reference: RegistryError.printable(s, 160), detail: problem }))
}

/**
 * Validates a tag.
 *
 * @example
 * ```ts
 * import { Reference } from "@effect-registry/core"
 *
 * const t = Reference.tag("v1.2.3")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const tag: (s: string) => Effect.Effect<string, RegistryError.TagInvalid> = tagOf

/**
 * What may follow a repository in a manifest URL.
 *
 * @since 0.1.0
 * @category models
 */
export type TagOrDigest =
  | { readonly _tag: "Tag"; readonly tag: string }
  | { readonly _tag: "Digest"; readonly digest: Digest.Digest }

/**
 * Reads a tag or a digest (anything with a `:` is read as a digest, since tags
 * cannot contain one).
 *
 * @example
 * ```ts
 * import { Reference } from "@effect-registry/core"
 *
 * const t = Reference.tagOrDigest("latest") // { _tag: "Tag", tag: "latest" }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const tagOrDigest = (
  s: string
): Effect.Effect<TagOrDigest, RegistryError.TagInvalid | RegistryError.DigestInvalid> =>
  s.includes(":")
    ? Effect.map(Digest.parse(s), (digest): TagOrDigest => ({ _tag: "Digest", digest }))
    : Effect.map(tagOf(s), (tag): TagOrDigest => ({ _tag: "Tag", tag }))
