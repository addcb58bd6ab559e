import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as Reference from "@effect-registry/core/Reference"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as CredentialHelper from "@effect-registry/node/CredentialHelper"
import * as DockerConfig from "@effect-registry/node/DockerConfig"
import * as NodeHash from "@effect-registry/node/NodeHash"
import * as NodeHttp from "@effect-registry/node/NodeHttp"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { CliError, Io, type IoService, scrubber, Secrets } from "./cliIo.js"
import * as Settings from "./settings.js"

/** The options every command takes. */
export interface Global {
  readonly username: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted<string>>
  readonly passwordStdin: boolean
  readonly insecure: boolean
  readonly plainHttp: boolean
  readonly caFile: Option.Option<string>
  readonly registryOpt: ReadonlyArray<string>
  readonly json: boolean
  readonly verbose: boolean
}

/** A registry named on the command line, with the scheme its reference gave, if any. */
export interface Target {
  readonly registry: string
  readonly scheme?: Settings.Scheme | undefined
}

/** Everything a command needs besides its arguments. */
export interface Env {
  readonly global: Global
  readonly io: IoService
  /** A client for a registry host (`host[:port]`), made once per host. */
  readonly client: (host: string) => Effect.Effect<RegistryClient.Service, RegistryClient.ResponseError>
  /**
   * The client to read an image from: the first mirror of `host` (settings file or `--registry-opt
   * HOST=mirror=...`, in order) that has the manifest `reference` of `repository`, else the registry itself.
   */
  readonly pullClient: (
    host: string,
    repository: string,
    reference: string
  ) => Effect.Effect<RegistryClient.Service, RegistryClient.ResponseError>
  /** The explicit credentials given with --username, if any. */
  readonly credentials: Option.Option<Credentials.Credentials>
  /** Secrets known to the CLI, scrubbed from text output. */
  readonly scrub: (s: string) => string
}

const newline = /\r?\n$/

/** The password for `--username`: from `-p`, standard input, or a prompt on a terminal. */
export const readCredentials = (
  g: Global,
  io: IoService
): Effect.Effect<Option.Option<Credentials.Credentials>, CliError> =>
  Effect.gen(function*() {
    const sources = [Option.isSome(g.password), g.passwordStdin].filter(Boolean).length
    if (sources > 1) {
      return yield* new CliError({ reason: "BadInput", detail: "--password and --password-stdin exclude each other" })
    }
    if (Option.isNone(g.username)) {
      if (sources > 0) {
        return yield* new CliError({ reason: "BadInput", detail: "a password needs --username (-u)" })
      }
      return Option.none()
    }
    const username = g.username.value
    if (Option.isSome(g.password)) {
      yield* io.stderr(
        "warning: a password on the command line is visible to other users of this machine (process list, " +
          "shell history); use --password-stdin or the prompt\n"
      )
      if (Redacted.value(g.password.value).length === 0) {
        return yield* new CliError({ reason: "BadInput", detail: "empty --password" })
      }
      return Option.some(Credentials.basic(username, g.password.value))
    }
    if (!g.passwordStdin) {
      if (io.readSecret === undefined) {
        return yield* new CliError({
          reason: "BadInput",
          detail: "--username needs a password: --password-stdin (standard input is not a terminal to prompt on)"
        })
      }
      const typed = yield* io.readSecret(`Password for ${username}: `)
      if (typed.length === 0) {
        return yield* new CliError({ reason: "BadInput", detail: "empty password" })
      }
      return Option.some(Credentials.basic(username, Redacted.make(typed)))
    }
    const bytes = yield* io.stdin
    const decoded = yield* Effect.try({
      try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      catch: () => new CliError({ reason: "BadInput", detail: "the password on standard input is not UTF-8" })
    })
    const password = decoded.replace(newline, "")
    if (password.length === 0) {
      return yield* new CliError({ reason: "BadInput", detail: "empty password on standard input" })
    }
    return Option.some(Credentials.basic(username, Redacted.make(password)))
  })

const secretsOf = (credentials: Option.Option<Credentials.Credentials>): ReadonlyArray<string> => {
  if (Option.isNone(credentials)) return []
  const c = credentials.value
  switch (c._tag) {
    case "Basic": {
      const p = Redacted.value(c.password)
      return [p, Buffer.from(`${c.username}:${p}`, "utf8").toString("base64")]
    }
    case "IdentityToken":
    case "Bearer":
      return [Redacted.value(c.token)]
    case "Anonymous":
      return []
  }
}

/** The URL of a request without credentials, query or fragment. */
export const safeUrl = (url: string): string => {
  const q = url.search(/[?#]/)
  const bare = q >= 0 ? url.slice(0, q) : url
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1")
}

const logRequests = (io: IoService, scrub: (s: string) => string) => (client: HttpClient.HttpClient) =>
  HttpClient.transform(client, (effect, request) =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(effect)
      const ms = (yield* Clock.currentTimeMillis) - start
      const outcome = Exit.isSuccess(exit)
        ? String(exit.value.status)
        : Exit.isInterrupted(exit)
        ? "interrupted"
        : "failed"
      yield* io.stderr(scrub(`${request.method} ${safeUrl(request.url)} ${outcome} ${ms}ms`) + "\n")
      return yield* exit
    }))

/** Open upload sessions by `origin + path`: their last `Location`. */
type Sessions = Ref.Ref<ReadonlyMap<string, string>>

const sessionKey = (url: string, base: string): string | undefined => {
  try {
    const u = new URL(url, base)
    return u.origin + u.pathname
  } catch {
    return undefined
  }
}

/**
 * Follows the upload sessions the client opens (`POST .../blobs/uploads/` answered 202 with a `Location`) until
 * they close (the final `PUT`, a `DELETE`), so that an interrupted command (Ctrl-C) can cancel the ones left.
 */
const trackUploads = (sessions: Sessions) => (client: HttpClient.HttpClient) =>
  HttpClient.transform(client, (effect, request) =>
    request.url.includes("/blobs/uploads/")
      ? Effect.tap(effect, (response) =>
        Ref.update(sessions, (open) => {
          const location = response.headers["location"]
          const next = new Map(open)
          const current = sessionKey(request.url, request.url)
          const method = request.method
          if ((method === "PATCH" || method === "PUT" || method === "DELETE") && current !== undefined) {
            next.delete(current)
          }
          const keepsOpen = (method === "POST" || method === "PATCH") && response.status === 202
          if (keepsOpen && location !== undefined && location.length > 0) {
            const key = sessionKey(location, request.url)
            if (key !== undefined) next.set(key, new URL(location, request.url).href)
          }
          return next
        }))
      : effect)

/** `host` as the credentials provider and the HTTP layer see it (Docker Hub's API host for `docker.io`). */
const keysOf = (host: string) => Array.from(new Set(hostAliases(host).map((h) => h.toLowerCase())))

/** Hosts as the user wrote them and as the client asks the credentials provider about them. */
export const hostAliases = (registry: string): ReadonlyArray<string> => [registry, Reference.apiHost(registry)]

/**
 * Build the environment: per-registry settings (reference schemes, `--registry-opt`, global flags, the settings
 * file), HTTP client (TLS per host, request log, upload sessions followed), credentials (explicit for the named
 * registries, else each registry's source), one registry client per host. Upload sessions still open when the
 * scope closes on a failure or an interruption are cancelled (`DELETE`).
 */
export const make = (
  g: Global,
  targets: ReadonlyArray<string | Target>
): Effect.Effect<
  Env,
  CliError | RegistryError.ReferenceInvalid,
  Io | Secrets | Scope.Scope | FileSystem.FileSystem | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const io = yield* Io
    const named = targets.map((t): Target => typeof t === "string" ? { registry: t } : t)
    // the password from argv is a secret from the start, even if what follows fails
    if (Option.isSome(g.password)) {
      const p = Redacted.value(g.password.value)
      yield* Ref.update(yield* Secrets, (known) => [...known, p])
    }
    const credentials = yield* readCredentials(g, io)
    const secrets = yield* Secrets
    yield* Ref.update(secrets, (known) => [...known, ...secretsOf(credentials)])
    const scrub = scrubber(secretsOf(credentials))

    // settings: the file, then --registry-opt, then the schemes of the references
    const file = yield* Settings.load
    const opts = new Map<string, Settings.HostSettings>()
    for (const text of g.registryOpt) {
      const [host, setting] = yield* Settings.parseOpt(text)
      opts.set(host, Settings.merge(opts.get(host), setting))
    }
    const fromRefs = new Map<string, Settings.Scheme>()
    for (const t of named) if (t.scheme !== undefined) fromRefs.set(t.registry.toLowerCase(), t.scheme)
    const settingsOf = (host: string): Settings.HostSettings => {
      const h = host.toLowerCase()
      const fromFile = file.get(h)
      const flags: Settings.HostSettings = {
        ...(g.plainHttp ? { scheme: "http" as const } : {}),
        ...(g.insecure ? { insecure: true } : {}),
        ...(Option.isSome(g.caFile) ? { caFile: g.caFile.value } : {})
      }
      const merged = Settings.merge(Settings.merge(fromFile, flags), opts.get(h))
      const scheme = fromRefs.get(h)
      return scheme !== undefined ? { ...merged, scheme } : merged
    }
    // mirrors as written (`http://mirror:5000` names its scheme)
    const mirrorScheme = new Map<string, Settings.Scheme>()
    const mirrorsOf = (host: string) => settingsOf(host).mirrors ?? []
    // the hosts this command may address: the named registries, their mirrors, and those set on the command line
    const hosts = new Set<string>([...named.map((t) => t.registry.toLowerCase()), ...opts.keys()])
    for (const t of named) {
      for (const m of mirrorsOf(t.registry)) {
        const e = yield* Settings.parseEndpoint(m)
        hosts.add(e.host)
        if (e.scheme !== undefined) mirrorScheme.set(e.host, e.scheme)
      }
    }
    const registries: Record<string, NodeHttp.RegistryOptions> = {}
    for (const host of hosts) {
      const s = settingsOf(host)
      const tls: NodeHttp.RegistryOptions = {
        ...(s.insecure === true ? { insecure: true } : {}),
        ...(s.caFile !== undefined ? { ca: s.caFile } : {})
      }
      for (const key of keysOf(host)) registries[key] = tls
    }
    const schemeOf = (host: string): Settings.Scheme =>
      fromRefs.get(host.toLowerCase()) ?? mirrorScheme.get(host.toLowerCase()) ?? settingsOf(host).scheme ?? "https"

    // credentials: explicit ones for the registries named on the command line, else each registry's source
    const explicitFor = new Set(named.flatMap((t) => keysOf(t.registry)))
    const sourceFor = new Map<string, Settings.CredentialsSource>()
    for (const host of hosts) {
      const source = settingsOf(host).credentials
      if (source !== undefined) { for (const key of keysOf(host)) sourceFor.set(key, source) }
    }
    const docker = yield* DockerConfig.make()
    const executor = yield* CommandExecutor.CommandExecutor
    const provider = Credentials.CredentialsProvider.of({
      get: (host) => {
        const key = host.toLowerCase()
        if (Option.isSome(credentials) && explicitFor.has(key)) return Effect.succeed(credentials.value)
        const source = sourceFor.get(key)
        if (source === "none") return Effect.succeed(Credentials.anonymous)
        if (source === undefined || source === "docker-config") return docker.get(host)
        return CredentialHelper.get(source.helper, DockerConfig.serverUrl(host)).pipe(
          Effect.map(Option.getOrElse(() => Credentials.anonymous)),
          Effect.mapError((cause) =>
            new RegistryError.Unauthorized({ reason: "MissingCredentials", detail: cause.message, cause })
          ),
          Effect.provideService(CommandExecutor.CommandExecutor, executor)
        )
      }
    })

    // the global flags hold for every origin (a token realm, a blob redirect), the settings per host over them
    const tls: NodeHttp.TlsOptions = {
      insecure: g.insecure,
      ...(Option.isSome(g.caFile) ? { ca: g.caFile.value } : {})
    }
    // on node:http: loads in a fraction of undici's time and leaves nothing to finish at exit (issue 18)
    const base = NodeHttp.layer({ tls, registries }).pipe(
      Layer.mapError((e) => new CliError({ reason: "BadInput", detail: e.message, cause: e }))
    )
    const sessions: Sessions = yield* Ref.make<ReadonlyMap<string, string>>(new Map())
    const http = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (c) => {
        const tracked = trackUploads(sessions)(c)
        return g.verbose ? logRequests(io, scrub)(tracked) : tracked
      })
    ).pipe(Layer.provide(base))
    const services = Layer.mergeAll(
      AuthService.layerProvider.pipe(Layer.provide(Layer.succeed(Credentials.CredentialsProvider, provider))),
      NodeHash.layer
    ).pipe(Layer.provideMerge(http))
    const context = yield* Layer.build(services)
    const cache = yield* Ref.make(new Map<string, RegistryClient.Service>())
    const client = (host: string) =>
      Effect.gen(function*() {
        const known = (yield* Ref.get(cache)).get(host)
        if (known !== undefined) return known
        const made = yield* RegistryClient.make({
          url: NodeHttp.registryUrl(Reference.apiHost(host), { plainHttp: schemeOf(host) === "http" })
        }).pipe(Effect.provide(context))
        yield* Ref.update(cache, (m) => new Map(m).set(host, made))
        return made
      })
    const pullClient = (host: string, repository: string, reference: string) =>
      Effect.gen(function*() {
        for (const mirror of mirrorsOf(host)) {
          const endpoint = yield* Effect.option(Settings.parseEndpoint(mirror))
          if (Option.isNone(endpoint)) continue
          const found = yield* Effect.option(
            Effect.flatMap(client(endpoint.value.host), (c) => Effect.as(c.manifestDigest(repository, reference), c))
          )
          if (Option.isSome(found)) {
            if (g.verbose) yield* io.stderr(`${host}: reading from the mirror ${endpoint.value.host}\n`)
            return found.value
          }
          if (g.verbose) yield* io.stderr(`${host}: the mirror ${endpoint.value.host} does not answer, next\n`)
        }
        return yield* client(host)
      })

    // after the HTTP layer (finalizers run in reverse): a failed or interrupted command cancels its sessions
    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.gen(function*() {
        const open = Array.from((yield* Ref.get(sessions)).values())
        if (open.length === 0) return
        const clients = Array.from((yield* Ref.get(cache)).values())
        const cancelled = yield* Effect.forEach(open, (location) =>
          Effect.gen(function*() {
            const origin = new URL(location).origin
            const owner = clients.find((c) => new URL(c.url).origin === origin)
            if (owner === undefined) return false
            return yield* owner.cancelUpload(location).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
          }), { concurrency: 4 }).pipe(
            Effect.interruptible,
            Effect.timeout("10 seconds"),
            Effect.orElseSucceed(() => [])
          )
        const n = cancelled.filter(Boolean).length
        yield* io.stderr(`cancelled ${n} of ${open.length} open upload session${open.length === 1 ? "" : "s"}\n`)
      })
    )
    return { global: g, io, client, pullClient, credentials, scrub }
  })
