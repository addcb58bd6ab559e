/**
 * The command `effect-registry sync SRC_REPO... DST`.
 */
import type * as Reference from "@effect-registry/core/Reference"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import * as RepositorySync from "@effect-registry/core/RepositorySync"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import type { CliError } from "../internal/cliIo.js"
import {
  arg,
  bad,
  checkConcurrency,
  concurrencyOption,
  globalOptions,
  parseHost,
  parseRepo,
  target as targetOf,
  withEnv
} from "../internal/commandKit.js"
import { checkSync, printSync } from "../internal/syncOutput.js"

/** DST: a registry host (same repository names), or host/path. */
interface Destination {
  readonly registry: string
  readonly scheme: "http" | "https" | undefined
  readonly path: string | undefined
}

/** DST: a registry host (same repository names), or host/path; `http://` or `https://` before it sets its scheme. */
const destination = (s: string): Effect.Effect<Destination, CliError | RegistryError.ReferenceInvalid> => {
  const given = /^(https?):\/\//i.exec(s)?.[1]?.toLowerCase()
  const scheme = given === "http" || given === "https" ? given : undefined
  const bare = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "")
  return bare.includes("/")
    ? Effect.map(parseRepo(bare), (r): Destination => ({ registry: r.registry, scheme, path: r.repository }))
    : Effect.map(parseHost(bare), (registry): Destination => ({ registry, scheme, path: undefined }))
}

export const sync = Command.make(
  "sync",
  {
    global: globalOptions,
    repos: arg(
      "SRC_REPO... DST",
      "The repositories to copy ([http://|https://]host[:port]/repository), then the destination: a registry " +
        "(same repository names there) or host/path"
    ).pipe(Args.atLeast(2)),
    concurrency: concurrencyOption,
    tagConcurrency: Options.integer("tag-concurrency").pipe(
      Options.withDescription("Tags copied at once"),
      Options.withDefault(2)
    ),
    maxWait: Options.integer("max-wait").pipe(
      Options.withDescription("Longest wait in seconds after a 429 before trying a tag again"),
      Options.withDefault(60)
    ),
    attempts: Options.integer("attempts").pipe(
      Options.withDescription("Attempts per tag when the registry answers 429"),
      Options.withDefault(5)
    )
  },
  ({ attempts, concurrency, global, maxWait, repos, tagConcurrency }) =>
    Effect.gen(function*() {
      const dst = yield* destination(repos[repos.length - 1])
      const sources: ReadonlyArray<Reference.Reference> = yield* Effect.forEach(repos.slice(0, -1), parseRepo)
      const n = yield* checkConcurrency(concurrency)
      const tags = yield* checkConcurrency(tagConcurrency)
      if (maxWait < 0 || maxWait > 3600) return yield* bad("--max-wait must be between 0 and 3600 seconds")
      if (attempts < 1 || attempts > 100) return yield* bad("--attempts must be between 1 and 100")
      const target = (src: Reference.Reference) =>
        dst.path === undefined ? src.repository : sources.length === 1 ? dst.path : `${dst.path}/${src.repository}`
      const hosts = [...sources.map(targetOf), { registry: dst.registry, scheme: dst.scheme }]
      yield* withEnv(global, hosts, (env) =>
        Effect.gen(function*() {
          const to = yield* env.client(dst.registry)
          const results = yield* Effect.forEach(sources, (src) =>
            Effect.gen(function*() {
              const from = yield* env.client(src.registry)
              const r = yield* RepositorySync.copyAllTags({
                from: { client: from, repository: src.repository },
                to: { client: to, repository: target(src) },
                concurrency: tags,
                blobConcurrency: n,
                maxAttempts: attempts,
                maxWait: `${maxWait} seconds`
              })
              yield* printSync(
                env,
                `${src.registry}/${src.repository}`,
                `${dst.registry}/${target(src)}`,
                r
              )
              return r
            }))
          yield* checkSync(results)
        }))
    })
).pipe(
  Command.withDescription(
    "Copy every tag of each SRC_REPO to DST (a registry host: same repository names; or host/path: that " +
      "repository for one SRC_REPO, path/SRC_REPO for several). Tags the destination already has with the " +
      "same digest are skipped, so re-running resumes; a 429 is waited out."
  )
)
