/**
 * The command `effect-registry blob get|put|head|delete|mount`.
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Digest from "@effect-registry/core/Digest"
import * as Progress from "@effect-registry/core/Progress"
import * as Reference from "@effect-registry/core/Reference"
import * as BlobFile from "@effect-registry/node/BlobFile"
import * as NodeHash from "@effect-registry/node/NodeHash"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { CliError } from "../internal/cliIo.js"
import {
  arg,
  blobArg,
  globalOptions,
  parseRepo,
  repoArg,
  result,
  target,
  withBlob,
  withEnv,
  withRegistry
} from "../internal/commandKit.js"

const blobGet = Command.make(
  "get",
  {
    global: globalOptions,
    ref: blobArg,
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
          // the pieces go to the file alone: the writer frees each once copied
          stream.pipe(Progress.track({ digest: d, total: size }), BlobSource.releasedOnceWritten),
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
    global: globalOptions,
    repo: repoArg(),
    file: Args.file({ name: "FILE", exists: "yes" }).pipe(Args.withDescription("The file to upload")),
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
  { global: globalOptions, ref: blobArg },
  ({ global, ref }) =>
    withBlob(global, ref, (env, client, repository, d) =>
      Effect.flatMap(
        client.blobMetadata(repository, d),
        (m) => result(env, `${m.digest} ${m.size} ${m.mediaType}`, m)
      ))
).pipe(Command.withDescription("Print digest, size and media type of a blob (exit 3 when absent)"))

const blobDelete = Command.make(
  "delete",
  { global: globalOptions, ref: blobArg },
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
    global: globalOptions,
    repo: repoArg("DST_REPO", "The repository to mount into"),
    digest: arg("DIGEST", "The blob digest, sha256:..."),
    from: Options.text("from").pipe(Options.withDescription("The source repository (same registry)"))
  },
  ({ digest: digestText, from, global, repo }) =>
    Effect.gen(function*() {
      const r = yield* parseRepo(repo)
      const d = yield* Digest.parse(digestText)
      const source = from.startsWith(`${r.registry}/`) ? from.slice(r.registry.length + 1) : from
      const fromRepo = yield* Reference.repository(source)
      yield* withEnv(global, [target(r)], (env) =>
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

export const blob = Command.make("blob").pipe(
  Command.withDescription("Blob operations"),
  Command.withSubcommands([blobGet, blobPut, blobHead, blobDelete, blobMount])
)
