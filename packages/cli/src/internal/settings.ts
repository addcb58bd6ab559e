/**
 * Per-registry settings: a scheme written in a reference (`http://host:port/repo:tag`), the settings file
 * (`$EFFECT_REGISTRY_CONFIG`, else `$XDG_CONFIG_HOME/effect-registry/registries.json`, else
 * `~/.config/effect-registry/registries.json`) and the repeatable `--registry-opt HOST=SETTING` flag.
 *
 * Precedence for a host, most specific first: a scheme in the reference, `--registry-opt`, the global flags
 * (`--plain-http`, `--insecure`, `--ca-file`, which mean every registry), the settings file, the defaults (https,
 * verified TLS, Docker's credentials, no mirrors).
 */
import * as Reference from "@effect-registry/core/Reference"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Os from "node:os"
import * as Path from "node:path"
import { CliError } from "./cliIo.js"

export type Scheme = "http" | "https"

/** Where a registry's credentials come from. */
export type CredentialsSource = "docker-config" | "none" | { readonly helper: string }

/** The settings of one registry host. */
export interface HostSettings {
  readonly scheme?: Scheme | undefined
  readonly caFile?: string | undefined
  readonly insecure?: boolean | undefined
  readonly mirrors?: ReadonlyArray<string> | undefined
  readonly credentials?: CredentialsSource | undefined
}

const Helper = Schema.Struct({ helper: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)) })

const HostSettingsSchema = Schema.Struct({
  scheme: Schema.optional(Schema.Literal("http", "https")),
  caFile: Schema.optional(Schema.String),
  insecure: Schema.optional(Schema.Boolean),
  mirrors: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(16))),
  credentials: Schema.optional(Schema.Union(Schema.Literal("docker-config", "none"), Helper))
})

const FileSchema = Schema.Struct({
  registries: Schema.Record({ key: Schema.String, value: HostSettingsSchema })
})

/** The settings file holds a few hosts: it is read whole up to this size. */
export const MaxFileBytes = 256 * 1024

const envVar = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((s) => s.length > 0)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/** The settings file's path, and whether it was named explicitly (then it must exist). */
export const filePath: Effect.Effect<{ readonly path: string; readonly explicit: boolean }> = Effect.gen(function*() {
  const explicit = yield* envVar("EFFECT_REGISTRY_CONFIG")
  if (Option.isSome(explicit)) return { path: explicit.value, explicit: true }
  const xdg = yield* envVar("XDG_CONFIG_HOME")
  const home = Option.getOrElse(yield* envVar("HOME"), () => Os.homedir())
  const dir = Option.getOrElse(xdg, () => Path.join(home, ".config"))
  return { path: Path.join(dir, "effect-registry", "registries.json"), explicit: false }
})

const bad = (detail: string, cause?: unknown) => new CliError({ reason: "BadInput", detail, cause })

/** A host key, a mirror: `host[:port]`, optionally with `http://` or `https://`. */
export const parseEndpoint = (
  s: string
): Effect.Effect<{ readonly host: string; readonly scheme: Scheme | undefined }, RegistryError.ReferenceInvalid> => {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)
  const scheme = match?.[1]?.toLowerCase()
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    return Effect.fail(
      new RegistryError.ReferenceInvalid({
        reference: s,
        detail: `the scheme ${scheme}:// is not one a registry speaks; use http:// or https:// or none (https)`
      })
    )
  }
  const host = (match !== null ? s.slice(match[0].length) : s).replace(/\/+$/, "").toLowerCase()
  const problem = Reference.registryProblem(host)
  return problem !== undefined
    ? Effect.fail(new RegistryError.ReferenceInvalid({ reference: s, detail: problem }))
    : Effect.succeed({ host, scheme })
}

/** Reads the settings file: none when absent (unless named by `$EFFECT_REGISTRY_CONFIG`). */
export const load: Effect.Effect<
  ReadonlyMap<string, HostSettings>,
  CliError,
  FileSystem.FileSystem
> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const { explicit, path } = yield* filePath
  const exists = yield* Effect.orElseSucceed(fs.exists(path), () => false)
  if (!exists) {
    if (explicit) return yield* bad(`the settings file ${path} ($EFFECT_REGISTRY_CONFIG) does not exist`)
    return new Map()
  }
  const info = yield* fs.stat(path).pipe(Effect.mapError((cause) => bad(`cannot read ${path}`, cause)))
  if (Number(info.size) > MaxFileBytes) {
    return yield* bad(`the settings file ${path} is larger than ${MaxFileBytes} bytes`)
  }
  const text = yield* fs.readFileString(path).pipe(Effect.mapError((cause) => bad(`cannot read ${path}`, cause)))
  const json = yield* Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (cause) => bad(`the settings file ${path} is not JSON`, cause)
  })
  const decoded = yield* Schema.decodeUnknown(FileSchema, { onExcessProperty: "error" })(json).pipe(
    Effect.mapError((e) =>
      bad(
        `the settings file ${path} is not valid (expected {"registries": {"host[:port]": {"scheme", "caFile", ` +
          `"insecure", "mirrors", "credentials"}}}): ${ParseResult.TreeFormatter.formatErrorSync(e)}`
      )
    )
  )
  const out = new Map<string, HostSettings>()
  for (const [key, value] of Object.entries(decoded.registries)) {
    const endpoint = yield* parseEndpoint(key).pipe(
      Effect.mapError((e) => bad(`the settings file ${path}: ${e.message}`))
    )
    for (const mirror of value.mirrors ?? []) {
      yield* parseEndpoint(mirror).pipe(Effect.mapError((e) => bad(`the settings file ${path}: mirror ${e.message}`)))
    }
    const caFile = value.caFile !== undefined ? Path.resolve(Path.dirname(path), value.caFile) : undefined
    out.set(endpoint.host, {
      ...value,
      ...(caFile !== undefined ? { caFile } : {}),
      ...(endpoint.scheme !== undefined && value.scheme === undefined ? { scheme: endpoint.scheme } : {})
    })
  }
  return out
})

/**
 * One `--registry-opt HOST=SETTING`: `plain-http`, `https`, `insecure`, `ca-file=PATH`, `mirror=HOST`,
 * `credentials=docker-config|none|helper:NAME`.
 */
export const parseOpt = (s: string): Effect.Effect<readonly [string, HostSettings], CliError> =>
  Effect.gen(function*() {
    const usage = "expected --registry-opt HOST=SETTING, SETTING one of plain-http, https, insecure, " +
      "ca-file=PATH, mirror=HOST, credentials=docker-config|none|helper:NAME"
    const eq = s.indexOf("=")
    if (eq <= 0) return yield* bad(`${s}: ${usage}`)
    const { host } = yield* parseEndpoint(s.slice(0, eq)).pipe(Effect.mapError((e) => bad(e.message)))
    const rest = s.slice(eq + 1)
    const eq2 = rest.indexOf("=")
    const key = eq2 < 0 ? rest : rest.slice(0, eq2)
    const value = eq2 < 0 ? undefined : rest.slice(eq2 + 1)
    const needs = (v: string | undefined) =>
      v === undefined || v.length === 0 ? bad(`${s}: ${key} needs a value (${key}=...)`) : Effect.succeed(v)
    switch (key) {
      case "plain-http":
      case "http":
        return [host, { scheme: "http" }] as const
      case "https":
        return [host, { scheme: "https" }] as const
      case "insecure":
        return [host, { insecure: true }] as const
      case "ca-file":
        return [host, { caFile: yield* needs(value) }] as const
      case "mirror": {
        const mirror = yield* needs(value)
        yield* parseEndpoint(mirror).pipe(Effect.mapError((e) => bad(e.message)))
        return [host, { mirrors: [mirror] }] as const
      }
      case "credentials": {
        const v = yield* needs(value)
        if (v === "docker-config" || v === "none") return [host, { credentials: v }] as const
        if (/^helper:[A-Za-z0-9._-]{1,64}$/.test(v)) return [host, { credentials: { helper: v.slice(7) } }] as const
        return yield* bad(`${s}: credentials is docker-config, none or helper:NAME`)
      }
      default:
        return yield* bad(`${s}: ${usage}`)
    }
  })

/** `b` over `a`; mirrors add up (the command line's first). */
export const merge = (a: HostSettings | undefined, b: HostSettings | undefined): HostSettings => {
  const mirrors = [...(b?.mirrors ?? []), ...(a?.mirrors ?? [])]
  const out: { -readonly [K in keyof HostSettings]: HostSettings[K] } = { ...a, ...b }
  if (mirrors.length > 0) out.mirrors = mirrors
  else delete out.mirrors
  return out
}
