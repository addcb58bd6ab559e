/**
 * Registry credentials from Docker's `config.json` and podman's `auth.json`:
 * `auths` entries (base64 `auth`, `username`/`password`, `identitytoken`,
 * `registrytoken`), `credHelpers` and `credsStore` (run through
 * {@link CredentialHelper}), with Docker Hub's key variants and URL-shaped keys.
 * Also `login` / `logout`, which keep every other key of the file and write it
 * atomically with mode 0600.
 *
 * Files, in the order they are searched:
 * 1. `$REGISTRY_AUTH_FILE`
 * 2. `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`
 * 3. `$XDG_RUNTIME_DIR/containers/auth.json` (podman)
 *
 * Environment variables are read through Effect `Config`, so a `ConfigProvider`
 * (or the options) can point everything at another directory.
 *
 * @since 0.1.0
 */
import * as Credentials from "@effect-registry/core/Credentials"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Os from "node:os"
import * as Path from "node:path"
import * as CredentialHelper from "./CredentialHelper.js"
import { writeFileAtomic } from "./internal/atomicFile.js"

/**
 * Why reading or writing the configuration failed.
 *
 * - `Read`: a file exists but cannot be read.
 * - `Parse`: a file is not JSON, or an entry is not of the expected shape.
 * - `Helper`: a credential helper failed (`cause` is the `CredentialHelperError`).
 * - `Write`: the file could not be written.
 * - `Unsupported`: the credentials cannot be stored where asked (anonymous, or a
 *   static token to a credential helper).
 *
 * @since 0.1.0
 * @category models
 */
export type Reason = "Read" | "Parse" | "Helper" | "Write" | "Unsupported"

/**
 * Reading or writing Docker / podman credentials failed. Never carries a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class DockerConfigError extends Data.TaggedError("DockerConfigError")<{
  readonly reason: Reason
  readonly path?: string | undefined
  readonly host?: string | undefined
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<Reason, string> = {
      Read: "cannot read credentials file",
      Parse: "invalid credentials file",
      Helper: "credential helper failed",
      Write: "cannot write credentials file",
      Unsupported: "cannot store these credentials"
    }
    const where = [this.path, this.host !== undefined ? `registry ${this.host}` : undefined].filter(Predicate.isString)
    return `${why[this.reason]}${where.length > 0 ? ` (${where.join(", ")})` : ""}${
      this.detail !== undefined ? `: ${this.detail}` : ""
    }`
  }
}

/**
 * Options. Everything not given here comes from the environment (`DOCKER_CONFIG`,
 * `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `HOME`) through Effect `Config`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Docker's configuration directory (instead of `$DOCKER_CONFIG` or `~/.docker`). */
  readonly configDir?: string | undefined
  /** A podman-style auth file searched first and written by `login` (instead of `$REGISTRY_AUTH_FILE`). */
  readonly authFile?: string | undefined
  /** Exactly these files, in this order (the first is written by `login`); no discovery. */
  readonly files?: ReadonlyArray<string> | undefined
  /** Options for credential helpers (timeout, environment). */
  readonly helper?: CredentialHelper.Options | undefined
  /** In the `CredentialsProvider`, treat a failing credential helper as "no credentials". Default false. */
  readonly ignoreHelperErrors?: boolean | undefined
}

/**
 * The files searched, in order, and the one `login` / `logout` write.
 *
 * @since 0.1.0
 * @category models
 */
export interface Paths {
  readonly read: ReadonlyArray<string>
  readonly write: string
}

const envVar = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((s) => s.length > 0)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/**
 * Work out which files to read and write.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const paths = DockerConfig.paths({ configDir: "/tmp/docker" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const paths = (options: Options = {}): Effect.Effect<Paths> =>
  Effect.gen(function*() {
    if (options.files !== undefined && options.files.length > 0) {
      return { read: options.files, write: options.files[0] }
    }
    const home = Option.getOrElse(yield* envVar("HOME"), () => Os.homedir())
    const configDir = options.configDir ??
      Option.getOrElse(yield* envVar("DOCKER_CONFIG"), () => Path.join(home, ".docker"))
    const dockerFile = Path.join(configDir, "config.json")
    const authFile = options.authFile ?? Option.getOrUndefined(yield* envVar("REGISTRY_AUTH_FILE"))
    const runtimeDir = yield* envVar("XDG_RUNTIME_DIR")
    const podmanFile = Option.map(runtimeDir, (dir) => Path.join(dir, "containers", "auth.json"))
    const read = [authFile, dockerFile, Option.getOrUndefined(podmanFile)].filter(Predicate.isString)
    return { read: Array.from(new Set(read)), write: authFile ?? dockerFile }
  })

const hubAliases = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])

/**
 * The key Docker uses for Docker Hub in `auths` and with credential helpers.
 *
 * @since 0.1.0
 * @category utils
 */
export const DockerHubKey = "https://index.docker.io/v1/"

/**
 * Reduce an `auths` key or a registry host to a comparable host: scheme and path
 * removed, lower case, and every Docker Hub variant (`https://index.docker.io/v1/`,
 * `index.docker.io`, `registry-1.docker.io`...) as `docker.io`.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * DockerConfig.normalizeHost("https://index.docker.io/v1/") // "docker.io"
 * DockerConfig.normalizeHost("http://Registry.example.com:5000/v2/") // "registry.example.com:5000"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const normalizeHost = (keyOrHost: string): string => {
  const host = keyOrHost.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "").toLowerCase()
  return hubAliases.has(host) ? "docker.io" : host
}

/**
 * The server URL under which credentials for `host` are stored: Docker Hub's
 * `https://index.docker.io/v1/`, the host itself otherwise.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * DockerConfig.serverUrl("registry-1.docker.io") // "https://index.docker.io/v1/"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const serverUrl = (host: string): string => {
  const normalized = normalizeHost(host)
  return normalized === "docker.io" ? DockerHubKey : normalized
}

/** A key names a host (possibly URL-shaped), not a podman repository namespace like `quay.io/org`. */
const isHostKey = (key: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(key.trim()) || !key.includes("/")

const AuthEntry = Schema.Struct({
  auth: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  password: Schema.optional(Schema.String),
  identitytoken: Schema.optional(Schema.String),
  registrytoken: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String)
})

/**
 * An `auths` entry as it is in the file.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthEntry = typeof AuthEntry.Type

const ConfigShape = Schema.Struct({
  auths: Schema.optional(Schema.Record({ key: Schema.String, value: AuthEntry })),
  credsStore: Schema.optional(Schema.String),
  credHelpers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

/**
 * One credentials file, read. A file that does not exist reads as empty.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigFile {
  readonly path: string
  readonly exists: boolean
  readonly auths: Readonly<Record<string, AuthEntry>>
  readonly credsStore: string | undefined
  readonly credHelpers: Readonly<Record<string, string>>
  /** The whole JSON object, for rewriting with other keys kept. */
  readonly raw: Readonly<Record<string, unknown>>
}

const issuePaths = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => issue.path.map(String).join("."))
    .filter((p) => p.length > 0)
    .join(", ")

const parseFile = (path: string, text: string): Either.Either<ConfigFile, DockerConfigError> =>
  Either.gen(function*() {
    const json = yield* Either.try({
      try: (): unknown => JSON.parse(text),
      catch: () => new DockerConfigError({ reason: "Parse", path, detail: "not valid JSON" })
    })
    if (!Predicate.isRecord(json) || Array.isArray(json)) {
      return yield* Either.left(new DockerConfigError({ reason: "Parse", path, detail: "not a JSON object" }))
    }
    const decoded = yield* Schema.decodeUnknownEither(ConfigShape)(json).pipe(
      Either.mapLeft((error) =>
        new DockerConfigError({ reason: "Parse", path, detail: `unexpected value at ${issuePaths(error)}` })
      )
    )
    return {
      path,
      exists: true,
      auths: decoded.auths ?? {},
      credsStore: decoded.credsStore !== undefined && decoded.credsStore.length > 0 ? decoded.credsStore : undefined,
      credHelpers: decoded.credHelpers ?? {},
      raw: json
    }
  })

/**
 * Read one credentials file. A missing file (or an empty one) is an empty
 * configuration.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const file = DockerConfig.readFile("/home/me/.docker/config.json")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const readFile = (path: string): Effect.Effect<ConfigFile, DockerConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const empty: ConfigFile = { path, exists: false, auths: {}, credsStore: undefined, credHelpers: {}, raw: {} }
    const text = yield* fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (error) => error._tag === "SystemError" && error.reason === "NotFound",
        () => Effect.succeed(Option.none<string>())
      ),
      Effect.mapError((cause) => new DockerConfigError({ reason: "Read", path, cause }))
    )
    if (Option.isNone(text)) return empty
    if (text.value.trim().length === 0) return { ...empty, exists: true }
    return yield* parseFile(path, text.value)
  })

const decodeBasicAuth = (
  path: string,
  key: string,
  auth: string
): Either.Either<{ readonly username: string; readonly password: string }, DockerConfigError> => {
  const bad = new DockerConfigError({
    reason: "Parse",
    path,
    detail: `the auth field of "${key}" is not base64 of user:password`
  })
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(auth.trim())) return Either.left(bad)
  const decoded = Buffer.from(auth.trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return Either.left(bad)
  return Either.right({ username: decoded.slice(0, colon), password: decoded.slice(colon + 1) })
}

/**
 * The credentials an `auths` entry holds, `None` for an empty entry (as Docker
 * writes when a credential store holds the secret).
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const credentials = DockerConfig.entryCredentials("config.json", "ghcr.io", { auth: "YWxpY2U6czNjcmV0" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const entryCredentials = (
  path: string,
  key: string,
  entry: AuthEntry
): Either.Either<Option.Option<Credentials.Credentials>, DockerConfigError> =>
  Either.gen(function*() {
    const basic = entry.auth !== undefined && entry.auth.length > 0
      ? Option.some(yield* decodeBasicAuth(path, key, entry.auth))
      : entry.username !== undefined && entry.username.length > 0
      ? Option.some({ username: entry.username, password: entry.password ?? "" })
      : Option.none()
    if (entry.identitytoken !== undefined && entry.identitytoken.length > 0) {
      const username = Option.getOrUndefined(Option.map(basic, (b) => b.username))
      return Option.some(
        Credentials.identityToken(
          Redacted.make(entry.identitytoken),
          username !== undefined && username.length > 0 ? username : undefined
        )
      )
    }
    if (entry.registrytoken !== undefined && entry.registrytoken.length > 0) {
      return Option.some(Credentials.bearer(Redacted.make(entry.registrytoken)))
    }
    return Option.map(basic, (b) => Credentials.basic(b.username, Redacted.make(b.password)))
  })

/** Keys of `record` that name `host`, exact spellings first. */
const matchingKeys = (record: Readonly<Record<string, unknown>>, host: string): Array<string> => {
  const wanted = normalizeHost(host)
  const keys = Object.keys(record).filter((key) => isHostKey(key) && normalizeHost(key) === wanted)
  const rank = (key: string) => key === host ? 0 : key === serverUrl(host) ? 1 : 2
  return keys.sort((a, b) => rank(a) - rank(b))
}

const helperFor = (file: ConfigFile, host: string): string | undefined => {
  const key = matchingKeys(file.credHelpers, host)[0]
  return key !== undefined ? file.credHelpers[key] : file.credsStore
}

const helperError = (path: string, host: string) => (cause: CredentialHelper.CredentialHelperError) =>
  new DockerConfigError({ reason: "Helper", path, host, detail: cause.message, cause })

/**
 * Look the credentials of one file up for `host`: its credential helper
 * (`credHelpers`, else `credsStore`) first, then its `auths` entries.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 *
 * const found = Effect.flatMap(DockerConfig.readFile("config.json"), (file) => DockerConfig.lookupIn(file, "ghcr.io"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const lookupIn = (
  file: ConfigFile,
  host: string,
  options: Options = {}
): Effect.Effect<Option.Option<Credentials.Credentials>, DockerConfigError, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const helper = helperFor(file, host)
    if (helper !== undefined) {
      const fromHelper = yield* CredentialHelper.get(helper, serverUrl(host), options.helper).pipe(
        Effect.mapError(helperError(file.path, host))
      )
      if (Option.isSome(fromHelper)) return fromHelper
    }
    for (const key of matchingKeys(file.auths, host)) {
      const found = yield* entryCredentials(file.path, key, file.auths[key])
      if (Option.isSome(found)) return found
    }
    return Option.none()
  })

/**
 * The credentials for a registry host (`host[:port]`), from the first file
 * that has some. `None` when no file has any.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 * import * as NodeContext from "@effect/platform-node/NodeContext"
 * import * as Effect from "effect/Effect"
 *
 * const credentials = DockerConfig.lookup("ghcr.io").pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const lookup = (
  host: string,
  options: Options = {}
): Effect.Effect<
  Option.Option<Credentials.Credentials>,
  DockerConfigError,
  FileSystem.FileSystem | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const { read } = yield* paths(options)
    for (const path of read) {
      const file = yield* readFile(path)
      const found = yield* lookupIn(file, host, options)
      if (Option.isSome(found)) return found
    }
    return Option.none()
  }).pipe(Effect.withSpan("DockerConfig.lookup", { attributes: { host } }))

/**
 * A `CredentialsProvider` over Docker / podman configuration. Paths are settled
 * when the provider is made; the files are read on every lookup (so a fresh
 * `docker login` is seen). A failure (unreadable file, failing helper) is an
 * `Unauthorized` with reason `MissingCredentials` and the cause; with
 * `ignoreHelperErrors`, a failing helper answers anonymous instead.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 * import * as NodeContext from "@effect/platform-node/NodeContext"
 * import * as Effect from "effect/Effect"
 *
 * const provider = DockerConfig.make().pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  Context.Tag.Service<typeof Credentials.CredentialsProvider>,
  never,
  FileSystem.FileSystem | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<FileSystem.FileSystem | CommandExecutor.CommandExecutor>()
    const settled = yield* paths(options)
    const fixed: Options = { ...options, files: settled.read }
    return Credentials.CredentialsProvider.of({
      get: (host) =>
        (settled.read.length === 0 ? Effect.succeed(Option.none()) : lookup(host, fixed)).pipe(
          Effect.map(Option.getOrElse(() => Credentials.anonymous)),
          Effect.catchAll((error) =>
            error.reason === "Helper" && options.ignoreHelperErrors === true
              ? Effect.succeed(Credentials.anonymous)
              : Effect.fail(
                new RegistryError.Unauthorized({ reason: "MissingCredentials", detail: error.message, cause: error })
              )
          ),
          Effect.provide(context)
        )
    })
  })

/**
 * Provides core's `CredentialsProvider` from Docker / podman configuration,
 * with the Node file system and process runner built in.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const CredentialsLive = DockerConfig.layer({ helper: { timeout: "5 seconds" } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Credentials.CredentialsProvider> =>
  Layer.effect(Credentials.CredentialsProvider, make(options)).pipe(Layer.provide(NodeContext.layer))

const encodeEntry = (credentials: Credentials.Credentials): Option.Option<Record<string, string>> => {
  switch (credentials._tag) {
    case "Basic":
      return Option.some({
        auth: Buffer.from(`${credentials.username}:${Redacted.value(credentials.password)}`, "utf8").toString("base64")
      })
    case "IdentityToken":
      return Option.some({
        ...(credentials.username !== undefined
          ? { auth: Buffer.from(`${credentials.username}:`, "utf8").toString("base64") }
          : {}),
        identitytoken: Redacted.value(credentials.token)
      })
    case "Bearer":
      return Option.some({ registrytoken: Redacted.value(credentials.token) })
    case "Anonymous":
      return Option.none()
  }
}

const writeConfig = (
  path: string,
  raw: Readonly<Record<string, unknown>>
): Effect.Effect<void, DockerConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const writeError = (cause: unknown) => new DockerConfigError({ reason: "Write", path, cause })
    // Write through a symbolic link (dotfile managers) rather than replacing it.
    const target = yield* fs.realPath(path).pipe(Effect.orElseSucceed(() => path))
    yield* fs.makeDirectory(Path.dirname(target), { recursive: true, mode: 0o700 }).pipe(Effect.mapError(writeError))
    const text = JSON.stringify(raw, null, "\t")
    yield* writeFileAtomic(target, new TextEncoder().encode(text), 0o600).pipe(Effect.mapError(writeError))
  })

const withoutHost = (
  raw: Readonly<Record<string, unknown>>,
  auths: Readonly<Record<string, unknown>>,
  host: string
): { readonly raw: Record<string, unknown>; readonly auths: Record<string, unknown>; readonly removed: boolean } => {
  const keys = matchingKeys(auths, host)
  const next: Record<string, unknown> = { ...auths }
  for (const key of keys) delete next[key]
  return { raw: { ...raw }, auths: next, removed: keys.length > 0 }
}

const rawAuths = (file: ConfigFile): Readonly<Record<string, unknown>> =>
  Predicate.isRecord(file.raw.auths) ? file.raw.auths : {}

/**
 * Store credentials for `host`, as `docker login` does: through the file's
 * credential helper when it names one for the host (`credHelpers`, else
 * `credsStore`), otherwise as an `auths` entry. Other keys of the file are kept;
 * other spellings of the same host are replaced; the file is written atomically
 * with mode 0600.
 *
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const loggedIn = DockerConfig.login("ghcr.io", Credentials.basic("alice", "s3cret"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const login = (
  host: string,
  credentials: Credentials.Credentials,
  options: Options = {}
): Effect.Effect<void, DockerConfigError, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const { write } = yield* paths(options)
    const file = yield* readFile(write)
    const helper = helperFor(file, host)
    const rest = withoutHost(file.raw, rawAuths(file), host)
    if (helper !== undefined) {
      const entry = CredentialHelper.entry(serverUrl(host), credentials)
      if (Option.isNone(entry)) {
        return yield* new DockerConfigError({
          reason: "Unsupported",
          path: write,
          host,
          detail: `the credential helper ${helper} stores only usernames with passwords or identity tokens`
        })
      }
      yield* CredentialHelper.store(helper, entry.value, options.helper).pipe(
        Effect.mapError(helperError(write, host))
      )
      // Do not leave an older plain-text secret for the host next to the helper's.
      if (rest.removed) yield* writeConfig(write, { ...rest.raw, auths: rest.auths })
      return
    }
    const encoded = encodeEntry(credentials)
    if (Option.isNone(encoded)) {
      return yield* new DockerConfigError({
        reason: "Unsupported",
        path: write,
        host,
        detail: "anonymous credentials cannot be stored (use logout)"
      })
    }
    yield* writeConfig(write, { ...rest.raw, auths: { ...rest.auths, [serverUrl(host)]: encoded.value } })
  }).pipe(Effect.withSpan("DockerConfig.login", { attributes: { host } }))

/**
 * Remove the credentials for `host`, as `docker logout` does: from the
 * credential helper the file names for the host, and every `auths` entry for
 * the host. Succeeds when there was nothing to remove.
 *
 * @example
 * ```ts
 * import { DockerConfig } from "@effect-registry/node"
 *
 * const loggedOut = DockerConfig.logout("ghcr.io")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const logout = (
  host: string,
  options: Options = {}
): Effect.Effect<void, DockerConfigError, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const { write } = yield* paths(options)
    const file = yield* readFile(write)
    const helper = helperFor(file, host)
    if (helper !== undefined) {
      yield* CredentialHelper.erase(helper, serverUrl(host), options.helper).pipe(
        Effect.mapError(helperError(write, host))
      )
    }
    const rest = withoutHost(file.raw, rawAuths(file), host)
    if (rest.removed) yield* writeConfig(write, { ...rest.raw, auths: rest.auths })
  }).pipe(Effect.withSpan("DockerConfig.logout", { attributes: { host } }))
