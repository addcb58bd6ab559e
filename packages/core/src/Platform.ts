/**
 * Platforms (`os`, `architecture`, `variant`, `os.version`, `os.features`) and the
 * rules for picking a manifest for a platform out of an index or manifest list.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The platform of an image, as found in index entries and image configs.
 * Unknown fields are kept.
 *
 * @since 0.1.0
 * @category models
 */
export const Platform = Schema.Struct(
  {
    architecture: Schema.String,
    os: Schema.String,
    "os.version": Schema.optional(Schema.String),
    "os.features": Schema.optional(Schema.Array(Schema.String)),
    variant: Schema.optional(Schema.String),
    features: Schema.optional(Schema.Array(Schema.String))
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({ identifier: "Platform" })

/**
 * @since 0.1.0
 * @category models
 */
export type Platform = typeof Platform.Type

/**
 * A platform string (`os/arch[/variant]`) that cannot be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlatformInvalid extends Data.TaggedError("PlatformInvalid")<{
  readonly input: string
  readonly detail: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid platform "${this.input}": ${this.detail}`
  }
}

const ARCH_ALIASES: Record<string, { readonly architecture: string; readonly variant?: string }> = {
  "x86_64": { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
  i386: { architecture: "386" },
  i686: { architecture: "386" }
}

const DEFAULT_VARIANT: Record<string, string> = { arm64: "v8", arm: "v7", amd64: "v1" }

/**
 * Normalises a platform: lower-case os and architecture, architecture aliases
 * (`x86_64` → `amd64`, `aarch64` → `arm64`, `armhf` → `arm/v7`), `darwin`'s
 * `macos` alias, and the variant dropped when it is the architecture's default
 * (`arm64/v8`, `amd64/v1`) except `arm`, whose default `v7` is made explicit.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalize = (p: Platform): Platform => {
  const os0 = p.os.toLowerCase()
  const os = os0 === "macos" ? "darwin" : os0
  const arch0 = p.architecture.toLowerCase()
  const alias = ARCH_ALIASES[arch0]
  const architecture = alias?.architecture ?? arch0
  let variant = p.variant?.toLowerCase() ?? alias?.variant
  if (architecture === "arm64" && (variant === "v8" || variant === "8")) variant = undefined
  if (architecture === "amd64" && variant === "v1") variant = undefined
  if (architecture === "arm" && variant === undefined) variant = "v7"
  if (architecture === "arm" && variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`
  const { variant: _v, ...rest } = p
  return variant === undefined ? { ...rest, os, architecture } : { ...rest, os, architecture, variant }
}

const effectiveVariant = (p: Platform): string | undefined => p.variant ?? DEFAULT_VARIANT[p.architecture]

/**
 * Reads `os/arch[/variant]`, with an optional `os.version` in parentheses after
 * the os (`windows(10.0.17763)/amd64`). The result is normalised.
 *
 * @example
 * ```ts
 * import { Platform } from "@effect-registry/core"
 *
 * const p = Platform.parse("linux/arm64/v8")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (s: string): Effect.Effect<Platform, PlatformInvalid> => {
  const m = /^([A-Za-z0-9_-]+)(?:\(([^()]*)\))?\/([A-Za-z0-9_-]+)(?:\/([A-Za-z0-9_.-]+))?$/.exec(s.trim())
  if (m === null) {
    return Effect.fail(
      new PlatformInvalid({ input: s, detail: "expected os/architecture[/variant], e.g. linux/arm64/v8" })
    )
  }
  const [, os, osVersion, architecture, variant] = m
  const base: Platform = { os, architecture }
  const withVersion: Platform = osVersion !== undefined && osVersion.length > 0
    ? { ...base, "os.version": osVersion }
    : base
  return Effect.succeed(normalize(variant !== undefined ? { ...withVersion, variant } : withVersion))
}

/**
 * Formats as `os/arch[/variant]` (with `(os.version)` when present).
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (p: Platform): string => {
  const version = p["os.version"] !== undefined ? `(${p["os.version"]})` : ""
  const variant = p.variant !== undefined ? `/${p.variant}` : ""
  return `${p.os}${version}/${p.architecture}${variant}`
}

const versionPrefix = (v: string): string => v.split(".").slice(0, 3).join(".")

const includesAll = (have: ReadonlyArray<string> | undefined, want: ReadonlyArray<string> | undefined): boolean =>
  want === undefined || want.every((f) => have !== undefined && have.includes(f))

/**
 * Whether a `candidate` (an index entry's platform) satisfies the `wanted` one.
 *
 * - os and architecture must be equal after normalisation;
 * - variants are compared with their defaults filled in (`arm64` ≡ `arm64/v8`,
 *   `arm` ≡ `arm/v7`, `amd64` ≡ `amd64/v1`); a wanted platform without a variant,
 *   on an architecture without a default, accepts any variant;
 * - a wanted `os.version` must equal the candidate's on its first three parts when
 *   the candidate has one;
 * - wanted `os.features` / `features` must all be present in the candidate.
 *
 * @since 0.1.0
 * @category utils
 */
export const matches = (wanted: Platform, candidate: Platform): boolean => {
  const w = normalize(wanted)
  const c = normalize(candidate)
  if (w.os !== c.os || w.architecture !== c.architecture) return false
  const wv = effectiveVariant(w)
  if (wv !== undefined || wanted.variant !== undefined) {
    if (wv !== effectiveVariant(c)) return false
  }
  const wVersion = w["os.version"]
  const cVersion = c["os.version"]
  if (wVersion !== undefined && cVersion !== undefined && versionPrefix(wVersion) !== versionPrefix(cVersion)) {
    return false
  }
  return includesAll(c["os.features"], w["os.features"]) && includesAll(c.features, w.features)
}

/**
 * Whether a `candidate` can run where `wanted` is asked for, also accepting older
 * variants of `arm` (`arm/v7` runs `arm/v6` and `arm/v5`). Returns a rank (0 is an
 * exact match, higher is a fallback) or `undefined`.
 *
 * @since 0.1.0
 * @category utils
 */
export const compatibility = (wanted: Platform, candidate: Platform): number | undefined => {
  if (matches(wanted, candidate)) return 0
  const w = normalize(wanted)
  const c = normalize(candidate)
  if (w.os !== c.os || w.architecture !== "arm" || c.architecture !== "arm") return undefined
  const wv = Number((effectiveVariant(w) ?? "v7").slice(1))
  const cv = Number((effectiveVariant(c) ?? "v7").slice(1))
  if (!Number.isInteger(wv) || !Number.isInteger(cv) || cv > wv) return undefined
  return matches({ ...wanted, variant: `v${cv}` }, candidate) ? wv - cv : undefined
}

/**
 * Picks the entry of an index or manifest list for a platform: an exact match
 * first, in index order, then the closest compatible one (older `arm` variants).
 *
 * @example
 * ```ts
 * import { Platform } from "@effect-registry/core"
 *
 * const entry = Platform.select(
 *   { manifests: [{ digest: "sha256:…", platform: { os: "linux", architecture: "arm64" } }] },
 *   { os: "linux", architecture: "arm64", variant: "v8" }
 * )
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const select = <D extends { readonly platform?: Platform | undefined }>(
  index: { readonly manifests: ReadonlyArray<D> },
  wanted: Platform
): Option.Option<D> => {
  let best: D | undefined
  let bestRank = Number.POSITIVE_INFINITY
  for (const entry of index.manifests) {
    if (entry.platform === undefined) continue
    const rank = compatibility(wanted, entry.platform)
    if (rank !== undefined && rank < bestRank) {
      best = entry
      bestRank = rank
    }
  }
  return Option.fromNullable(best)
}
