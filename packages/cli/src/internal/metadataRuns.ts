/**
 * What the metadata commands do once their command line is parsed: `digest REF`, `tags REPO`, `manifest REF`,
 * `config REF`, `ping HOST` and `catalog HOST`. Their `Command`s (`src/commands/*`) run these, and so does the
 * bin's quick path for them (`src/bin/metadata.ts`), which parses their plain command lines without @effect/cli;
 * nothing here loads it.
 */
import * as Manifest from "@effect-registry/core/Manifest"
import * as Reference from "@effect-registry/core/Reference"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as CliEnv from "./cliEnv.js"
import { CliError } from "./cliIo.js"
import {
  bad,
  collectConfig,
  decodeJson,
  imageManifest,
  parseHostTarget,
  parsePlatform,
  parseRef,
  parseRepo,
  result,
  target,
  withEnv,
  withRegistry
} from "./registryKit.js"

export const digest = ({ global, ref }: { readonly global: CliEnv.Global; readonly ref: string }) =>
  withRegistry(global, parseRef(ref), (env, client, r) =>
    Effect.gen(function*() {
      const d = yield* client.manifestDigest(r.repository, Reference.manifestReference(r))
      yield* result(env, d, { reference: Reference.format(r), digest: d })
    }))

export const tags = ({ global, repo }: { readonly global: CliEnv.Global; readonly repo: string }) =>
  withRegistry(global, parseRepo(repo), (env, client, r) =>
    Effect.gen(function*() {
      yield* client.tagsStream(r.repository).pipe(
        Stream.runForEach((tag) => result(env, tag, { repository: r.repository, tag }))
      )
    }))

export const manifest = (
  { global, pretty, ref }: {
    readonly global: CliEnv.Global
    readonly ref: Option.Option<string>
    readonly pretty: boolean
  }
) =>
  Option.match(ref, {
    onNone: () => Effect.fail(bad("manifest: give a REF to print, or use manifest put REF FILE")),
    onSome: (s) =>
      withRegistry(global, parseRef(s), (env, client, r) =>
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
  })

export const config = (
  { global, platform, ref }: {
    readonly global: CliEnv.Global
    readonly ref: string
    readonly platform: Option.Option<string>
  }
) =>
  Effect.gen(function*() {
    const r = yield* parseRef(ref)
    const wanted = yield* parsePlatform(platform)
    yield* withEnv(global, [target(r)], (env) =>
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

export const ping = ({ global, host }: { readonly global: CliEnv.Global; readonly host: string }) =>
  Effect.flatMap(parseHostTarget(host), (t) =>
    withEnv(global, [t], (env) =>
      Effect.gen(function*() {
        // making the client pings the registry (through auth)
        const client = yield* env.client(t.registry)
        yield* result(env, `${t.registry}: ok`, { registry: t.registry, url: client.url, ok: true })
      })))

export const catalog = (
  { global, host, n }: { readonly global: CliEnv.Global; readonly host: string; readonly n: Option.Option<number> }
) =>
  Effect.flatMap(parseHostTarget(host), (t) =>
    withEnv(global, [t], (env) =>
      Effect.gen(function*() {
        const client = yield* env.client(t.registry)
        yield* client.repositoriesStream(Option.isSome(n) ? { n: n.value } : {}).pipe(
          Stream.runForEach((repository) => result(env, repository, { repository }))
        )
      })))
