/**
 * What the commands share apart from their flags (those are in `commandKit.ts`, with @effect/cli): parsing
 * references and hosts, running a command with the environment and client of a registry, printing results.
 * Nothing here loads @effect/cli, so that the bin's metadata commands run without it (`src/bin/metadata.ts`).
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Manifest from "@effect-registry/core/Manifest"
import * as Platform from "@effect-registry/core/Platform"
import * as Reference from "@effect-registry/core/Reference"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CliEnv from "./cliEnv.js"
import { announceInterrupt, CliError } from "./cliIo.js"
import * as ProgressView from "./progress.js"
import * as Settings from "./settings.js"

export const bad = (detail: string) => new CliError({ reason: "BadInput", detail })

/** Run `f` with the environment for the registries `hosts`, with progress drawn to standard error. */
export const withEnv = <A, E, R>(
  g: CliEnv.Global,
  hosts: ReadonlyArray<string | CliEnv.Target>,
  f: (env: CliEnv.Env) => Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* CliEnv.make(g, hosts)
    return yield* f(env).pipe(
      Effect.provide(ProgressView.layer(env.io)),
      // before the scope's clean-up (open uploads cancelled) reports
      Effect.onInterrupt(() => announceInterrupt(env.io))
    )
  }))

// Longest line of text output: a name from a registry (a tag is 128 characters at most) never needs more.
const MaxLine = 4096

/**
 * Print a result: its text, or with `--json` the JSON object on one line. The text often holds names a
 * registry sent (tags, repositories): each line is shown without control characters (no escape sequence
 * reaches the terminal) and bounded. JSON escapes control characters itself.
 */
export const result = (env: CliEnv.Env, text: string, json: unknown) =>
  env.io.stdout(
    env.global.json
      ? JSON.stringify(json) + "\n"
      : env.scrub(text.split("\n").map((line) => RegistryError.printable(line, MaxLine)).join("\n")) + "\n"
  )

/**
 * The bytes of a config blob a descriptor points at, holding at most its size: a config larger than the
 * manifest limit is refused before reading, and a registry that sends more bytes than the descriptor says
 * fails the read as soon as they arrive.
 */
export const collectConfig = (
  client: RegistryClient.Service,
  repository: string,
  descriptor: Descriptor.Descriptor
) =>
  descriptor.size > Manifest.DefaultMaxSize
    ? Effect.fail(
      new RegistryError.ManifestInvalid({
        reason: "TooLarge",
        repository,
        digest: descriptor.digest,
        detail: `the config blob is ${descriptor.size} bytes, the limit is ${Manifest.DefaultMaxSize}`
      })
    )
    : BlobSource.collectBytesAtMost(
      client.downloadBlob(repository, descriptor.digest, { size: descriptor.size }),
      descriptor.size,
      (received) =>
        new RegistryError.SizeMismatch({
          repository,
          digest: descriptor.digest,
          expected: descriptor.size,
          actual: received,
          detail: "the registry sent more bytes than the descriptor says (reading stopped there)"
        })
    )

// the scheme a reference was written with (`http://host:port/repo:tag`), by the parsed reference
const schemes = new WeakMap<Reference.Reference, Settings.Scheme>()

/** A reference, optionally with `http://` or `https://` before its host (plain http or https for that registry). */
const parseWithScheme = (s: string, options?: { readonly defaultTag?: boolean }) =>
  Effect.gen(function*() {
    const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)
    if (match === null) return yield* Reference.parse(s, options)
    const slash = s.indexOf("/", match[0].length)
    const { scheme } = yield* Settings.parseEndpoint(slash < 0 ? s : s.slice(0, slash))
    const ref = yield* Reference.parse(s.slice(match[0].length), options)
    if (scheme !== undefined) schemes.set(ref, scheme)
    return ref
  })

/** The registry of a parsed reference, with the scheme it was written with. */
export const target = (r: Reference.Reference): CliEnv.Target => ({ registry: r.registry, scheme: schemes.get(r) })

export const parseRef = (s: string) => parseWithScheme(s)

/** A `host/repository` without tag or digest. */
export const parseRepo = (s: string) =>
  Effect.flatMap(parseWithScheme(s, { defaultTag: false }), (r) =>
    r.tag !== undefined || r.digest !== undefined
      ? Effect.fail(bad(`${s}: expected a repository without tag or digest`))
      : Effect.succeed(r))

/** A `host/repository@digest`. */
export const parseBlobRef = (s: string) =>
  Effect.flatMap(parseWithScheme(s, { defaultTag: false }), (r) =>
    r.digest === undefined || r.tag !== undefined
      ? Effect.fail(bad(`${s}: expected REPOSITORY@DIGEST`))
      : Effect.succeed({ ref: r, digest: r.digest }))

export type Client = Effect.Effect.Success<ReturnType<CliEnv.Env["client"]>>

/** Run `f` on the reference `parsed` yields, with the environment and the client for its registry. */
export const withRegistry = <P extends Reference.Reference, A, E, R, E1>(
  g: CliEnv.Global,
  parsed: Effect.Effect<P, E1>,
  f: (env: CliEnv.Env, client: Client, ref: P) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(
    parsed,
    (ref) =>
      withEnv(g, [target(ref)], (env) => Effect.flatMap(env.client(ref.registry), (client) => f(env, client, ref)))
  )

/** Run `f` on the blob `host/repository@digest` named by `s`, with the client for its registry. */
export const withBlob = <A, E, R>(
  g: CliEnv.Global,
  s: string,
  f: (env: CliEnv.Env, client: Client, repository: string, digest: Digest.Digest) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(
    parseBlobRef(s),
    ({ digest, ref }) => withRegistry(g, Effect.succeed(ref), (env, client) => f(env, client, ref.repository, digest))
  )

/** A registry host (`host[:port]`), an `https://` prefix and trailing slashes removed. */
export const parseHost = (s: string) => Effect.map(Settings.parseEndpoint(s), (e) => e.host)

/** A registry host with the scheme written before it, if any (`http://127.0.0.1:5000`). */
export const parseHostTarget = (s: string) =>
  Effect.map(Settings.parseEndpoint(s), (e): CliEnv.Target => ({ registry: e.host, scheme: e.scheme }))

const defaultPlatform: Platform.Platform = { os: "linux", architecture: "amd64" }

export const parsePlatform = (p: Option.Option<string>) =>
  Option.match(p, {
    onNone: () => Effect.succeed(Option.none<Platform.Platform>()),
    onSome: (s) => Effect.asSome(Platform.parse(s))
  })

export const checkConcurrency = (n: number) =>
  n >= 1 && n <= 64 ? Effect.succeed(n) : Effect.fail(bad("--concurrency must be between 1 and 64"))

/** The manifest digest of a reference (its digest, else the tag resolved). */
export const resolveDigest = (client: RegistryClient.Service, ref: Reference.Reference) =>
  ref.digest !== undefined
    ? Effect.succeed(ref.digest)
    : client.manifestDigest(ref.repository, Reference.manifestReference(ref))

/** An image manifest: an index is resolved to the child for `platform` (default linux/amd64). */
export const imageManifest = (
  client: RegistryClient.Service,
  ref: Reference.Reference,
  platform: Option.Option<Platform.Platform>
) =>
  Effect.gen(function*() {
    const m = yield* client.getManifest(ref.repository, Reference.manifestReference(ref))
    if (!Manifest.isIndex(m)) return m
    const wanted = Option.getOrElse(platform, () => defaultPlatform)
    const chosen = Platform.select(m.manifest, wanted)
    if (Option.isNone(chosen)) {
      return yield* new CliError({
        reason: "NotFound",
        detail: `${Reference.format(ref)}: no manifest for platform ${Platform.format(wanted)}`
      })
    }
    return yield* client.getManifest(ref.repository, chosen.value.digest)
  })

export const decodeJson = (bytes: Uint8Array, what: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
    catch: (cause) => new CliError({ reason: "Failed", detail: `${what} is not UTF-8 JSON`, cause })
  })

export const readFile = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readFile(path).pipe(
      Effect.mapError((cause) => new CliError({ reason: "BadInput", detail: `cannot read ${path}`, cause }))
    ))

export const descriptorJson = (d: Descriptor.Descriptor) => ({
  digest: d.digest,
  mediaType: d.mediaType,
  size: d.size,
  ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
  ...(d.annotations !== undefined ? { annotations: d.annotations } : {})
})
