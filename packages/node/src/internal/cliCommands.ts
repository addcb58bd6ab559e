import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import * as Manifest from "@effect-registry/core/Manifest"
import * as MediaType from "@effect-registry/core/MediaType"
import * as Platform from "@effect-registry/core/Platform"
import * as Reference from "@effect-registry/core/Reference"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Key from "@effect-registry/signing/Key"
import * as Schema1 from "@effect-registry/signing/Schema1"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as PlatformCommand from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BlobFile from "../BlobFile.js"
import * as DockerConfig from "../DockerConfig.js"
import * as ImageCopy from "../ImageCopy.js"
import * as NodeHash from "../NodeHash.js"
import * as OciLayout from "../OciLayout.js"
import * as Progress from "../Progress.js"
import * as CliEnv from "./cliEnv.js"
import { CliError } from "./cliIo.js"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const bad = (detail: string) => new CliError({ reason: "BadInput", detail })

/** Run `f` with the environment for the registries `hosts`, with progress drawn to standard error. */
const withEnv = <A, E, R>(
  g: CliEnv.Global,
  hosts: ReadonlyArray<string>,
  f: (env: CliEnv.Env) => Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* CliEnv.make(g, hosts)
    return yield* f(env).pipe(Effect.provide(CliEnv.progressLayer(env.io)))
  }))

// Longest line of text output: a name from a registry (a tag is 128 characters at most) never needs more.
const MaxLine = 4096

/**
 * Print a result: its text, or with `--json` the JSON object on one line. The text often holds names a
 * registry sent (tags, repositories): each line is shown without control characters (no escape sequence
 * reaches the terminal) and bounded. JSON escapes control characters itself.
 */
const result = (env: CliEnv.Env, text: string, json: unknown) =>
  env.io.stdout(
    env.global.json
      ? JSON.stringify(json) + "\n"
      : env.scrub(text.split("\n").map((line) => RegistryError.printable(line, MaxLine)).join("\n")) + "\n"
  )

const parseRef = (s: string) => Reference.parse(s)

/** A `host/repository` without tag or digest. */
const parseRepo = (s: string) =>
  Effect.flatMap(Reference.parse(s, { defaultTag: false }), (r) =>
    r.tag !== undefined || r.digest !== undefined
      ? Effect.fail(bad(`${s}: expected a repository without tag or digest`))
      : Effect.succeed(r))

/** A `host/repository@digest`. */
const parseBlobRef = (s: string) =>
  Effect.flatMap(Reference.parse(s, { defaultTag: false }), (r) =>
    r.digest === undefined || r.tag !== undefined
      ? Effect.fail(bad(`${s}: expected REPOSITORY@DIGEST`))
      : Effect.succeed({ ref: r, digest: r.digest }))

type Client = Effect.Effect.Success<ReturnType<CliEnv.Env["client"]>>

/** Run `f` on the reference `parsed` yields, with the environment and the client for its registry. */
const withRegistry = <P extends { readonly registry: string }, A, E, R, E1>(
  g: CliEnv.Global,
  parsed: Effect.Effect<P, E1>,
  f: (env: CliEnv.Env, client: Client, ref: P) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(
    parsed,
    (ref) =>
      withEnv(g, [ref.registry], (env) => Effect.flatMap(env.client(ref.registry), (client) => f(env, client, ref)))
  )

/** Run `f` on the blob `host/repository@digest` named by `s`, with the client for its registry. */
const withBlob = <A, E, R>(
  g: CliEnv.Global,
  s: string,
  f: (env: CliEnv.Env, client: Client, repository: string, digest: Digest.Digest) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(
    parseBlobRef(s),
    ({ digest, ref }) => withRegistry(g, Effect.succeed(ref), (env, client) => f(env, client, ref.repository, digest))
  )

/** A registry host (`host[:port]`), an `https://` prefix and trailing slashes removed. */
const parseHost = (s: string) => {
  const host = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "")
  const problem = Reference.registryProblem(host)
  return problem !== undefined
    ? Effect.fail(new RegistryError.ReferenceInvalid({ reference: s, detail: problem }))
    : Effect.succeed(host)
}

const platformOption = Options.text("platform").pipe(
  Options.withDescription("os/arch[/variant] of the image to take from an index"),
  Options.optional
)

const defaultPlatform: Platform.Platform = { os: "linux", architecture: "amd64" }

const parsePlatform = (p: Option.Option<string>) =>
  Option.match(p, {
    onNone: () => Effect.succeed(Option.none<Platform.Platform>()),
    onSome: (s) => Effect.asSome(Platform.parse(s))
  })

const concurrencyOption = Options.integer("concurrency").pipe(
  Options.withDescription("Blobs transferred at once"),
  Options.withDefault(4)
)

const checkConcurrency = (n: number) =>
  n >= 1 && n <= 64 ? Effect.succeed(n) : Effect.fail(bad("--concurrency must be between 1 and 64"))

/** The manifest digest of a reference (its digest, else the tag resolved). */
const resolveDigest = (client: RegistryClient.Service, ref: Reference.Reference) =>
  ref.digest !== undefined
    ? Effect.succeed(ref.digest)
    : client.manifestDigest(ref.repository, Reference.manifestReference(ref))

/** An image manifest: an index is resolved to the child for `platform` (default linux/amd64). */
const imageManifest = (
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

/**
 * The bytes of a blob a descriptor points at, holding at most its size: a config larger than the manifest
 * limit is refused before reading, and a registry that sends more bytes than the descriptor says fails the
 * read as soon as they arrive.
 */
const collectConfig = (client: RegistryClient.Service, repository: string, descriptor: Descriptor.Descriptor) =>
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
      client.downloadBlob(repository, descriptor.digest),
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

const decodeJson = (bytes: Uint8Array, what: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
    catch: (cause) => new CliError({ reason: "Failed", detail: `${what} is not UTF-8 JSON`, cause })
  })

const readFile = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readFile(path).pipe(
      Effect.mapError((cause) => new CliError({ reason: "BadInput", detail: `cannot read ${path}`, cause }))
    ))

const descriptorJson = (d: Descriptor.Descriptor) => ({
  digest: d.digest,
  mediaType: d.mediaType,
  size: d.size,
  ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
  ...(d.annotations !== undefined ? { annotations: d.annotations } : {})
})

// ---------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------

const g = CliEnv.global

const ping = Command.make(
  "ping",
  { global: g, host: Args.text({ name: "HOST" }) },
  ({ global, host }) =>
    Effect.flatMap(parseHost(host), (h) =>
      withEnv(global, [h], (env) =>
        Effect.gen(function*() {
          // making the client pings the registry (through auth)
          const client = yield* env.client(h)
          yield* result(env, `${h}: ok`, { registry: h, url: client.url, ok: true })
        })))
).pipe(Command.withDescription("Check that HOST speaks the registry API (GET /v2/)"))

const catalog = Command.make(
  "catalog",
  {
    global: g,
    host: Args.text({ name: "HOST" }),
    n: Options.integer("page-size").pipe(Options.withDescription("Entries asked per page"), Options.optional)
  },
  ({ global, host, n }) =>
    Effect.flatMap(parseHost(host), (h) =>
      withEnv(global, [h], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(h)
          yield* client.repositoriesStream(Option.isSome(n) ? { n: n.value } : {}).pipe(
            Stream.runForEach((repository) => result(env, repository, { repository }))
          )
        })))
).pipe(Command.withDescription("List the repositories of HOST"))

const tags = Command.make(
  "tags",
  { global: g, repo: Args.text({ name: "REPO" }) },
  ({ global, repo }) =>
    withRegistry(global, parseRepo(repo), (env, client, r) =>
      Effect.gen(function*() {
        yield* client.tagsStream(r.repository).pipe(
          Stream.runForEach((tag) => result(env, tag, { repository: r.repository, tag }))
        )
      }))
).pipe(Command.withDescription("List the tags of REPO (host/repository)"))

const manifest = Command.make(
  "manifest",
  {
    global: g,
    ref: Args.text({ name: "REF" }),
    pretty: Options.boolean("pretty").pipe(Options.withDescription("Indent the JSON (the bytes then differ)"))
  },
  ({ global, pretty, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const m = yield* client.getManifest(r.repository, Reference.manifestReference(r))
        if (global.json) {
          const parsed = yield* decodeJson(m.bytes, "the manifest")
          yield* result(env, "", {
            reference: Reference.format(r),
            digest: m.digest,
            mediaType: m.mediaType,
            size: m.bytes.length,
            manifest: parsed
          })
        } else if (pretty) {
          const parsed = yield* decodeJson(m.bytes, "the manifest")
          yield* env.io.stdout(JSON.stringify(parsed, null, 2) + "\n")
        } else {
          yield* env.io.stdout(m.bytes)
        }
      }))
).pipe(Command.withDescription("Print the manifest of REF: its exact bytes (or --pretty, or --json with digest)"))

const digest = Command.make(
  "digest",
  { global: g, ref: Args.text({ name: "REF" }) },
  ({ global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* client.manifestDigest(r.repository, Reference.manifestReference(r))
        yield* result(env, d, { reference: Reference.format(r), digest: d })
      }))
).pipe(Command.withDescription("Print the digest of the manifest of REF"))

const config = Command.make(
  "config",
  { global: g, ref: Args.text({ name: "REF" }), platform: platformOption },
  ({ global, platform, ref }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const wanted = yield* parsePlatform(platform)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const m = yield* imageManifest(client, r, wanted)
          const descriptor = Manifest.config(m)
          if (Option.isNone(descriptor)) {
            return yield* new CliError({
              reason: "Failed",
              detail: `${Reference.format(r)}: a ${m.kind} manifest has no config blob`
            })
          }
          const bytes = yield* collectConfig(client, r.repository, descriptor.value)
          if (global.json) {
            const parsed = yield* decodeJson(bytes, "the config")
            yield* result(env, "", { reference: Reference.format(r), digest: descriptor.value.digest, config: parsed })
          } else {
            yield* env.io.stdout(bytes)
          }
        }))
    })
).pipe(Command.withDescription("Print the image config blob of REF (from an index: --platform, default linux/amd64)"))

const blobGet = Command.make(
  "get",
  {
    global: g,
    ref: Args.text({ name: "REF@DIGEST" }),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("Write to this file (atomically, after the digest is verified)"),
      Options.optional
    )
  },
  ({ global, output, ref }) =>
    withBlob(global, ref, (env, client, repository, d) =>
      Effect.gen(function*() {
        const stream = client.downloadBlob(repository, d)
        if (Option.isNone(output)) {
          yield* Stream.runForEach(stream, (bytes) => env.io.stdout(bytes))
          return
        }
        const total = yield* Effect.option(Effect.map(client.blobMetadata(repository, d), (m) => m.size))
        const size = Option.getOrUndefined(total)
        yield* Progress.emit({ _tag: "BlobStart", digest: d, bytes: 0, total: size })
        const written = yield* BlobFile.writeAtomic(
          output.value,
          stream.pipe(Progress.track({ digest: d, total: size })),
          // downloadBlob verifies the digest as the bytes pass: hash them once, not twice
          { digest: d, size, verified: true }
        ).pipe(Effect.provide(NodeHash.layer))
        yield* Progress.emit({
          _tag: "BlobDone",
          digest: d,
          bytes: written.size,
          total: size,
          outcome: "Transferred"
        })
        if (global.json) yield* result(env, "", { digest: d, size: written.size, path: written.path })
      }))
).pipe(Command.withDescription("Download a blob (verified) to standard output or -o FILE"))

const blobPut = Command.make(
  "put",
  {
    global: g,
    repo: Args.text({ name: "REPO" }),
    file: Args.file({ name: "FILE", exists: "yes" }),
    chunkSize: Options.integer("chunk-size").pipe(
      Options.withDescription("Upload in PATCH requests of this many bytes"),
      Options.optional
    )
  },
  ({ chunkSize, file, global, repo }) =>
    withRegistry(global, parseRepo(repo), (env, client, r) =>
      Effect.gen(function*() {
        const { digest: d, size } = yield* BlobFile.digest(file).pipe(Effect.provide(NodeHash.layer))
        const source = yield* BlobFile.source(file)
        yield* Progress.emit({ _tag: "BlobStart", digest: d, bytes: 0, total: size })
        const tracked = {
          _tag: "Reopenable" as const,
          open: (offset: number) => source.open(offset).pipe(Progress.track({ digest: d, total: size, offset }))
        }
        const uploaded = yield* client.uploadBlob(r.repository, d, tracked, {
          size,
          ...(Option.isSome(chunkSize) ? { chunkSize: chunkSize.value } : {})
        })
        yield* Progress.emit({
          _tag: "BlobDone",
          digest: d,
          bytes: uploaded.skipped ? 0 : size,
          total: size,
          outcome: uploaded.skipped ? "Existed" : "Transferred"
        })
        yield* result(env, d, { digest: d, size, skipped: uploaded.skipped })
      }))
).pipe(Command.withDescription("Upload FILE as a blob of REPO (host/repository); prints its digest"))

const blobHead = Command.make(
  "head",
  { global: g, ref: Args.text({ name: "REF@DIGEST" }) },
  ({ global, ref }) =>
    withBlob(global, ref, (env, client, repository, d) =>
      Effect.flatMap(
        client.blobMetadata(repository, d),
        (m) => result(env, `${m.digest} ${m.size} ${m.mediaType}`, m)
      ))
).pipe(Command.withDescription("Print digest, size and media type of a blob (exit 3 when absent)"))

const blobDelete = Command.make(
  "delete",
  { global: g, ref: Args.text({ name: "REF@DIGEST" }) },
  ({ global, ref }) =>
    withBlob(global, ref, (env, client, repository, d) =>
      Effect.zipRight(
        client.deleteBlob(repository, d),
        result(env, `deleted ${d}`, { digest: d, deleted: true })
      ))
).pipe(Command.withDescription("Delete a blob from a repository"))

const blobMount = Command.make(
  "mount",
  {
    global: g,
    repo: Args.text({ name: "DST_REPO" }),
    digest: Args.text({ name: "DIGEST" }),
    from: Options.text("from").pipe(Options.withDescription("The source repository (same registry)"))
  },
  ({ digest: digestText, from, global, repo }) =>
    Effect.gen(function*() {
      const r = yield* parseRepo(repo)
      const d = yield* Digest.parse(digestText)
      const source = from.startsWith(`${r.registry}/`) ? from.slice(r.registry.length + 1) : from
      const fromRepo = yield* Reference.repository(source)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const mounted = yield* client.mountBlob(r.repository, d, fromRepo)
          if (!mounted.mounted) {
            return yield* new CliError({
              reason: "Failed",
              detail: `the registry did not mount ${d} from ${fromRepo} into ${r.repository}`
            })
          }
          yield* result(env, `mounted ${d}`, { digest: d, from: fromRepo, repository: r.repository, mounted: true })
        }))
    })
).pipe(Command.withDescription("Mount DIGEST from --from SRC_REPO into DST_REPO (same registry, no bytes moved)"))

const blob = Command.make("blob").pipe(
  Command.withDescription("Blob operations"),
  Command.withSubcommands([blobGet, blobPut, blobHead, blobDelete, blobMount])
)

/** An OCI layout directory, or a `.tar` of one extracted to a scoped temp dir. */
const layoutDir = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((cause) => new CliError({ reason: "BadInput", detail: `cannot read ${path}`, cause }))
    )
    if (info.type === "Directory") return path
    const temp = yield* fs.makeTempDirectoryScoped({ prefix: "effect-registry-" }).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot make a temp dir", cause }))
    )
    const code = yield* PlatformCommand.exitCode(PlatformCommand.make("tar", "-xf", path, "-C", temp)).pipe(
      Effect.mapError((cause) => new CliError({ reason: "Failed", detail: "cannot run tar", cause }))
    )
    if (code !== 0) return yield* bad(`${path}: not a directory nor a tar archive tar could extract`)
    return temp
  })

const push = Command.make(
  "push",
  {
    global: g,
    dir: Args.text({ name: "DIR" }),
    ref: Args.text({ name: "REF" }),
    concurrency: concurrencyOption,
    refName: Options.text("ref-name").pipe(
      Options.withDescription("The index.json entry to push (default: the one named like the tag, else the only one)"),
      Options.optional
    )
  },
  ({ concurrency, dir, global, ref, refName }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const layout = yield* layoutDir(dir)
          const pushed = yield* OciLayout.push(
            client,
            layout,
            r.repository,
            r.digest === undefined ? r.tag : undefined,
            {
              concurrency: n,
              ...(Option.isSome(refName) ? { ref: refName.value } : {})
            }
          )
          yield* result(env, pushed, { reference: Reference.format(r), digest: pushed })
        }))
    })
).pipe(Command.withDescription("Push an image or index from an OCI layout directory (or a .tar of one) to REF"))

const pull = Command.make(
  "pull",
  {
    global: g,
    ref: Args.text({ name: "REF" }),
    dir: Args.text({ name: "DIR" }),
    platform: platformOption,
    concurrency: concurrencyOption
  },
  ({ concurrency, dir, global, platform, ref }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const wanted = yield* parsePlatform(platform)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          const pulled = yield* OciLayout.pull(client, r.repository, Reference.manifestReference(r), dir, {
            concurrency: n,
            ...(Option.isSome(wanted) ? { platform: wanted.value } : {}),
            ...(r.tag !== undefined && r.digest === undefined ? { ref: r.tag } : {})
          })
          yield* result(env, pulled.digest, {
            reference: Reference.format(r),
            digest: pulled.digest,
            refName: pulled.refName ?? null,
            manifests: pulled.manifests,
            blobs: pulled.blobs
          })
        }))
    })
).pipe(Command.withDescription("Pull REF (with everything it references) into an OCI layout directory"))

const copy = Command.make(
  "copy",
  {
    global: g,
    src: Args.text({ name: "SRC" }),
    dst: Args.text({ name: "DST" }),
    platform: Options.text("platform").pipe(
      Options.withDescription("Copy only the image for os/arch[/variant] from an index (repeatable)"),
      Options.repeated
    ),
    allPlatforms: Options.boolean("all-platforms").pipe(
      Options.withDescription("Copy an index with every image (the default)")
    ),
    referrers: Options.boolean("referrers").pipe(Options.withDescription("Also copy the referrers")),
    concurrency: concurrencyOption
  },
  ({ allPlatforms, concurrency, dst, global, platform, referrers, src }) =>
    Effect.gen(function*() {
      const from = yield* parseRef(src)
      const to = yield* parseRef(dst)
      if (allPlatforms && platform.length > 0) return yield* bad("--platform and --all-platforms exclude each other")
      const platforms = yield* Effect.forEach(platform, Platform.parse)
      const n = yield* checkConcurrency(concurrency)
      yield* withEnv(global, [from.registry, to.registry], (env) =>
        Effect.gen(function*() {
          const source = yield* env.client(from.registry)
          const target = yield* env.client(to.registry)
          const copied = yield* ImageCopy.copy({
            from: { client: source, repository: from.repository, reference: Reference.manifestReference(from) },
            to: { client: target, repository: to.repository, tag: to.digest === undefined ? to.tag : undefined },
            platforms: platforms.length > 0 ? platforms : "all",
            concurrency: n,
            referrers
          })
          if (to.digest !== undefined && to.digest !== copied.digest) {
            return yield* new CliError({
              reason: "Failed",
              detail: `copied ${copied.digest}, not the digest ${to.digest} of the destination`
            })
          }
          yield* result(env, copied.digest, {
            source: Reference.format(from),
            destination: Reference.format(to),
            digest: copied.digest,
            mediaType: copied.mediaType,
            tag: copied.tag ?? null,
            manifests: copied.manifests.length,
            transferred: copied.transferred,
            existed: copied.existed,
            mounted: copied.mounted,
            bytes: copied.bytes
          })
        }))
    })
).pipe(Command.withDescription("Copy an image or index from SRC to DST (blobs mounted on the same registry)"))

const deleteCommand = Command.make(
  "delete",
  { global: g, ref: Args.text({ name: "REF" }) },
  ({ global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* resolveDigest(client, r)
        yield* client.deleteManifest(r.repository, d)
        yield* result(env, `deleted ${d}`, { reference: Reference.format(r), digest: d, deleted: true })
      }))
).pipe(Command.withDescription("Delete the manifest of REF (a tag is resolved to its digest first)"))

const referrers = Command.make(
  "referrers",
  {
    global: g,
    ref: Args.text({ name: "REF" }),
    artifactType: Options.text("artifact-type").pipe(
      Options.withDescription("Only this artifact type"),
      Options.optional
    )
  },
  ({ artifactType, global, ref }) =>
    withRegistry(global, parseRef(ref), (env, client, r) =>
      Effect.gen(function*() {
        const d = yield* resolveDigest(client, r)
        const found = yield* client.referrers(r.repository, d, {
          artifactType: Option.getOrUndefined(artifactType)
        })
        yield* Effect.forEach(found, (entry) =>
          result(
            env,
            `${entry.digest} ${entry.artifactType ?? entry.mediaType} ${entry.size}`,
            { subject: d, ...descriptorJson(entry) }
          ), { discard: true })
      }))
).pipe(Command.withDescription("List the manifests that refer to REF (referrers API or tag fallback)"))

const sign = Command.make(
  "sign",
  {
    global: g,
    ref: Args.text({ name: "REF" }),
    key: Options.text("key").pipe(Options.withDescription("PEM file of the private key (EC P-256/384/521 or RSA)")),
    layer: Options.text("layer").pipe(
      Options.withDescription("Build the schema 1 manifest from these layer digests, bottom first (repeatable)"),
      Options.repeated
    ),
    configFile: Options.text("config").pipe(
      Options.withDescription("With --layer: the image config JSON file (default {})"),
      Options.optional
    ),
    file: Options.text("file").pipe(
      Options.withDescription("Sign this schema 1 manifest JSON file (unsigned or signed) instead"),
      Options.optional
    ),
    tag: Options.text("tag").pipe(
      Options.withDescription("Push the signed manifest under this tag (default: REF's tag)"),
      Options.optional
    ),
    dryRun: Options.boolean("dry-run").pipe(
      Options.withDescription("Print the signed manifest instead of pushing it")
    )
  },
  ({ configFile, dryRun, file, global, key, layer, ref, tag: tagOption }) =>
    Effect.gen(function*() {
      const r = yield* parseRef(ref)
      const tag = Option.isSome(tagOption)
        ? yield* Reference.tag(tagOption.value)
        : r.digest === undefined
        ? r.tag
        : undefined
      if (tag === undefined) return yield* bad("sign needs a tag: REF with a tag, or --tag")
      if (Option.isSome(file) && layer.length > 0) return yield* bad("--file and --layer exclude each other")
      if (Option.isSome(configFile) && layer.length === 0) return yield* bad("--config needs --layer")
      const layers = yield* Effect.forEach(layer, Digest.parse)
      const pem = new TextDecoder().decode(yield* readFile(key))
      const privateKey = yield* Key.privateKeyFromPem(pem)
      yield* withEnv(global, [r.registry], (env) =>
        Effect.gen(function*() {
          const client = yield* env.client(r.registry)
          let input: Schema1.Input
          if (Option.isSome(file)) {
            input = yield* readFile(file.value)
          } else if (layers.length > 0) {
            const configBytes = Option.isSome(configFile) ? yield* readFile(configFile.value) : "{}"
            input = yield* Schema1.build({ name: r.repository, tag, layers, config: configBytes })
          } else {
            const m = yield* imageManifest(client, r, Option.none())
            if (m.kind === "schema1") {
              input = m.bytes
            } else {
              const descriptor = Manifest.config(m)
              if (Option.isNone(descriptor)) {
                return yield* new CliError({ reason: "Failed", detail: `a ${m.kind} manifest has no config blob` })
              }
              const configBytes = yield* collectConfig(client, r.repository, descriptor.value)
              const layerDigests = Manifest.children(m).filter((d) => d.digest !== descriptor.value.digest)
                .map((d) => d.digest)
              input = yield* Schema1.build({ name: r.repository, tag, layers: layerDigests, config: configBytes })
            }
          }
          const signed = yield* Schema1.sign(input, privateKey)
          if (dryRun) {
            yield* env.io.stdout(signed.bytes)
            return
          }
          const pushed = yield* client.putManifest(r.repository, tag, signed)
          yield* result(env, pushed, {
            reference: Reference.format(r),
            digest: pushed,
            mediaType: MediaType.DockerManifestSchema1Signed,
            keyIds: signed.keyIds
          })
        }))
    })
).pipe(Command.withDescription(
  "Sign a schema 1 manifest with --key and push it to REF's repository under --tag (default REF's tag). " +
    "Its content: by default REF's image (its config and layers, converted to schema 1); or --file (a schema 1 " +
    "JSON file, signed or not); or --layer DIGEST... [--config FILE] (built). --dry-run prints it instead."
))

const login = Command.make(
  "login",
  { global: g, host: Args.text({ name: "HOST" }) },
  ({ global, host }) =>
    Effect.gen(function*() {
      const h = yield* parseHost(host)
      if (!global.passwordStdin || Option.isNone(global.username)) {
        return yield* bad("login needs --username and --password-stdin")
      }
      yield* withEnv(global, [h], (env) =>
        Effect.gen(function*() {
          // making the client pings the registry with the credentials: bad ones fail here
          yield* env.client(h)
          if (Option.isNone(env.credentials)) return yield* bad("no credentials given")
          yield* DockerConfig.login(h, env.credentials.value)
          yield* result(env, "Login Succeeded", { registry: h, loggedIn: true })
        }))
    })
).pipe(Command.withDescription(
  "Check the credentials against HOST and store them in Docker's config.json (or its credential helper)"
))

const logout = Command.make(
  "logout",
  { global: g, host: Args.text({ name: "HOST" }) },
  ({ global, host }) =>
    Effect.gen(function*() {
      const h = yield* parseHost(host)
      yield* DockerConfig.logout(h)
      yield* withEnv(global, [], (env) => result(env, `Removed credentials for ${h}`, { registry: h, loggedOut: true }))
    })
).pipe(Command.withDescription("Remove the credentials of HOST from Docker's config.json"))

/** The command tree. */
export const root = Command.make("effect-registry").pipe(
  Command.withDescription(
    "A client for OCI / Docker registries. References are host[:port]/repository[:tag|@digest]; https unless " +
      "--plain-http. Credentials: --username with --password-stdin, else Docker's config.json. Exit codes: 0 ok, " +
      "2 bad input, 3 not found, 4 unauthorized or denied, 1 other failures."
  ),
  Command.withSubcommands([
    ping,
    catalog,
    tags,
    manifest,
    digest,
    config,
    blob,
    push,
    pull,
    copy,
    deleteCommand,
    referrers,
    sign,
    login,
    logout
  ])
)
