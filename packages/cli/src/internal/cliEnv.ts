import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as Progress from "@effect-registry/core/Progress"
import * as Reference from "@effect-registry/core/Reference"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as DockerConfig from "@effect-registry/node/DockerConfig"
import * as NodeHash from "@effect-registry/node/NodeHash"
import * as NodeHttp from "@effect-registry/node/NodeHttp"
import * as Options from "@effect/cli/Options"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
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

/** The options every command takes. */
export interface Global {
  readonly username: Option.Option<string>
  readonly passwordStdin: boolean
  readonly insecure: boolean
  readonly plainHttp: boolean
  readonly caFile: Option.Option<string>
  readonly json: boolean
  readonly verbose: boolean
}

export const global: Options.Options<Global> = Options.all({
  username: Options.text("username").pipe(
    Options.withDescription("User name for the registries named on the command line (needs --password-stdin)"),
    Options.optional
  ),
  passwordStdin: Options.boolean("password-stdin").pipe(
    Options.withDescription("Read the password from standard input (never from the command line)")
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withDescription("Do not verify the registry's TLS certificate")
  ),
  plainHttp: Options.boolean("plain-http").pipe(
    Options.withDescription("Speak plain http to the registries (default https)")
  ),
  caFile: Options.text("ca-file").pipe(
    Options.withDescription("A PEM file of certificate authorities to trust in addition to the system's"),
    Options.optional
  ),
  json: Options.boolean("json").pipe(
    Options.withDescription("Machine-readable output: one JSON object per line and result")
  ),
  verbose: Options.boolean("verbose").pipe(
    Options.withAlias("v"),
    Options.withDescription("Log each HTTP request to standard error (method, URL without query, status, time)")
  )
})

/** Everything a command needs besides its arguments. */
export interface Env {
  readonly global: Global
  readonly io: IoService
  /** A client for a registry host (`host[:port]`), made once per host. */
  readonly client: (host: string) => Effect.Effect<RegistryClient.Service, RegistryClient.ResponseError>
  /** The explicit credentials given with --username / --password-stdin, if any. */
  readonly credentials: Option.Option<Credentials.Credentials>
  /** Secrets known to the CLI, scrubbed from text output. */
  readonly scrub: (s: string) => string
}

const newline = /\r?\n$/

/** Reads the password from standard input when `--password-stdin` is given. */
export const readCredentials = (
  g: Global,
  io: IoService
): Effect.Effect<Option.Option<Credentials.Credentials>, CliError> =>
  Effect.gen(function*() {
    if (!g.passwordStdin) {
      if (Option.isSome(g.username)) {
        return yield* new CliError({ reason: "BadInput", detail: "--username needs --password-stdin" })
      }
      return Option.none()
    }
    if (Option.isNone(g.username)) {
      return yield* new CliError({ reason: "BadInput", detail: "--password-stdin needs --username" })
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
    return Option.some(Credentials.basic(g.username.value, Redacted.make(password)))
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

/** Hosts as the user wrote them and as the client asks the credentials provider about them. */
export const hostAliases = (registry: string): ReadonlyArray<string> => [registry, Reference.apiHost(registry)]

/**
 * Build the environment: HTTP client (TLS options, request log), credentials
 * (explicit for `hosts`, else Docker's config), one registry client per host.
 */
export const make = (
  g: Global,
  hosts: ReadonlyArray<string>
): Effect.Effect<
  Env,
  CliError,
  Io | Secrets | Scope.Scope | FileSystem.FileSystem | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const io = yield* Io
    const credentials = yield* readCredentials(g, io)
    const secrets = yield* Secrets
    yield* Ref.update(secrets, (known) => [...known, ...secretsOf(credentials)])
    const scrub = scrubber(secretsOf(credentials))
    const named = new Set(hosts.flatMap(hostAliases))
    const docker = yield* DockerConfig.make()
    const provider = Credentials.CredentialsProvider.of({
      get: (host) =>
        Option.isSome(credentials) && named.has(host) ? Effect.succeed(credentials.value) : docker.get(host)
    })
    const tls: NodeHttp.TlsOptions = {
      insecure: g.insecure,
      ...(Option.isSome(g.caFile) ? { ca: g.caFile.value } : {})
    }
    // node:http, not undici: loads in a fraction of the time and leaves nothing to finish at exit (issue 18)
    const base = NodeHttp.layerNodeHttp({ tls }).pipe(
      Layer.mapError((e) => new CliError({ reason: "BadInput", detail: e.message, cause: e }))
    )
    const http = g.verbose
      ? Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, logRequests(io, scrub))).pipe(
        Layer.provide(base)
      )
      : base
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
          url: NodeHttp.registryUrl(Reference.apiHost(host), { plainHttp: g.plainHttp })
        }).pipe(Effect.provide(context))
        yield* Ref.update(cache, (m) => new Map(m).set(host, made))
        return made
      })
    return { global: g, io, client, credentials, scrub }
  })

/** A progress sink drawing to standard error: a bar on a terminal, plain lines otherwise. */
export const progressLayer = (io: IoService): Layer.Layer<Progress.Progress> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const blobs = yield* Ref.make(new Map<string, { bytes: number; total: number | undefined; done: boolean }>())
    const lastDraw = yield* Ref.make(0)
    const short = (d: string) => d.slice(0, 19)
    const draw = (force: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!force && now - (yield* Ref.get(lastDraw)) < 100) return
        yield* Ref.set(lastDraw, now)
        const all = Array.from((yield* Ref.get(blobs)).values())
        const bytes = all.reduce((n, b) => n + b.bytes, 0)
        const total = all.reduce((n, b) => n + (b.total ?? b.bytes), 0)
        const done = all.filter((b) => b.done).length
        const width = Math.max(10, Math.min(40, io.columns - 40))
        const filled = total > 0 ? Math.min(width, Math.round((bytes / total) * width)) : 0
        const bar = "#".repeat(filled) + "-".repeat(width - filled)
        yield* io.stderr(`\r[${bar}] ${formatBytes(bytes)}/${formatBytes(total)} ${done}/${all.length} blobs`)
      })
    const emit = (event: Progress.Event): Effect.Effect<void> =>
      Effect.gen(function*() {
        switch (event._tag) {
          case "BlobStart":
          case "BlobProgress": {
            yield* Ref.update(blobs, (m) =>
              new Map(m).set(event.digest, { bytes: event.bytes, total: event.total, done: false }))
            if (io.stderrIsTTY) {
              yield* draw(false)
            } else if (event._tag === "BlobStart") {
              yield* io.stderr(`${short(event.digest)} started\n`)
            }
            return
          }
          case "BlobDone": {
            yield* Ref.update(blobs, (m) =>
              new Map(m).set(event.digest, { bytes: event.total ?? event.bytes, total: event.total, done: true }))
            if (io.stderrIsTTY) {
              yield* draw(true)
            } else {yield* io.stderr(
                `${short(event.digest)} ${event.outcome.toLowerCase()} ${formatBytes(event.bytes)}\n`
              )}
            return
          }
          case "ImageDone": {
            if (io.stderrIsTTY) {
              yield* io.stderr("\n")
            }
            yield* io.stderr(`${event.digest} done, ${formatBytes(event.bytes)} moved\n`)
            yield* Ref.set(blobs, new Map())
            return
          }
        }
      })
    return Layer.succeed(Progress.Progress, Progress.Progress.of({ emit }))
  }))

/** `1.2 MiB` style sizes. */
export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}
