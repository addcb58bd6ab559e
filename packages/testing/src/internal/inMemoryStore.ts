/**
 * State of the in-memory registry and small pure helpers (digests, names, bytes).
 * Runtime-neutral: only web-standard globals.
 *
 * @since 0.1.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** @internal */
export interface ManifestEntry {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly subject: string | undefined
  readonly artifactType: string | undefined
  readonly annotations: Readonly<Record<string, string>> | undefined
  /** index / list entries (digest + platform), for the schema2-only Accept fallback */
  readonly children: ReadonlyArray<{ readonly digest: string; readonly os?: string; readonly architecture?: string }>
}

/** @internal */
export interface RepositoryState {
  readonly manifests: ReadonlyMap<string, ManifestEntry>
  readonly tags: ReadonlyMap<string, string>
  readonly blobs: ReadonlySet<string>
}

/** @internal */
export interface UploadState {
  readonly uuid: string
  readonly repository: string
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly size: number
  /** changes on every PATCH: goes into the `_state` parameter of the Location */
  readonly generation: number
}

/** @internal */
export interface State {
  readonly blobs: ReadonlyMap<string, Uint8Array>
  readonly repositories: ReadonlyMap<string, RepositoryState>
  readonly uploads: ReadonlyMap<string, UploadState>
}

/** @internal */
export const emptyState: State = { blobs: new Map(), repositories: new Map(), uploads: new Map() }

/** @internal */
export const emptyRepository: RepositoryState = { manifests: new Map(), tags: new Map(), blobs: new Set() }

/** @internal */
export const mapSet = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V): ReadonlyMap<K, V> => {
  const copy = new Map(map)
  copy.set(key, value)
  return copy
}

/** @internal */
export const mapDelete = <K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> => {
  const copy = new Map(map)
  copy.delete(key)
  return copy
}

/** @internal */
export const setAdd = <A>(set: ReadonlySet<A>, value: A): ReadonlySet<A> => {
  const copy = new Set(set)
  copy.add(value)
  return copy
}

/** @internal */
export const setDelete = <A>(set: ReadonlySet<A>, value: A): ReadonlySet<A> => {
  const copy = new Set(set)
  copy.delete(value)
  return copy
}

/** @internal */
export const updateRepository = (
  state: State,
  name: string,
  f: (repository: RepositoryState) => RepositoryState
): State => ({
  ...state,
  repositories: mapSet(state.repositories, name, f(state.repositories.get(name) ?? emptyRepository))
})

/** @internal */
export const concatBytes: (chunks: ReadonlyArray<Uint8Array>) => Uint8Array = BlobSource.concatBytes

// ---------------------------------------------------------------------------
// names, tags, digests
// ---------------------------------------------------------------------------

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"

/** @internal */
export const repositoryPattern = new RegExp(`^${component}(?:/${component})*$`)

/** @internal */
export const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** @internal */
export const digestShapePattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/** @internal */
export type Algorithm = "sha256" | "sha512"

const algorithms: Record<Algorithm, { readonly webName: string; readonly hexLength: number }> = {
  sha256: { webName: "SHA-256", hexLength: 64 },
  sha512: { webName: "SHA-512", hexLength: 128 }
}

/** @internal */
export interface ParsedDigest {
  readonly algorithm: Algorithm
  readonly hex: string
  readonly digest: string
}

/** @internal */
export const parseDigest = (s: string): ParsedDigest | undefined => {
  const index = s.indexOf(":")
  if (index < 0) return undefined
  const algorithm = s.slice(0, index)
  const hex = s.slice(index + 1)
  if (algorithm !== "sha256" && algorithm !== "sha512") return undefined
  if (hex.length !== algorithms[algorithm].hexLength || !/^[0-9a-f]+$/.test(hex)) return undefined
  return { algorithm, hex, digest: s }
}

/** @internal */
export class DigestFailure extends Data.TaggedError("DigestFailure")<{ readonly cause: unknown }> {}

const toHex = (buffer: ArrayBuffer): string => {
  const bytes = new Uint8Array(buffer)
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0")
  return out
}

/** @internal */
export const computeDigest = (algorithm: Algorithm, bytes: Uint8Array): Effect.Effect<string, DigestFailure> =>
  Effect.tryPromise({
    try: () => globalThis.crypto.subtle.digest(algorithms[algorithm].webName, new Uint8Array(bytes)),
    catch: (cause) => new DigestFailure({ cause })
  }).pipe(Effect.map((buffer) => `${algorithm}:${toHex(buffer)}`))

/** @internal */
export const utf8 = new TextEncoder()

/** @internal */
export const decodeUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** @internal */
export const parseJson = (
  text: string
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly offset: number } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    // Go's json.SyntaxError.Offset counts the bytes read up to and including the bad one; V8 names
    // the bad character's position (when it names one: an early end of input is at the end).
    const match = /at position (\d+)/.exec(error instanceof Error ? error.message : "")
    return { ok: false, offset: match === null ? text.length : Math.min(Number(match[1]) + 1, text.length) }
  }
}

/** @internal */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const base64UrlDecode = (s: string): Uint8Array | undefined => {
  try {
    const normal = s.replace(/-/g, "+").replace(/_/g, "/")
    const padded = normal + "=".repeat((4 - (normal.length % 4)) % 4)
    const binary = atob(padded)
    const out = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
    return out
  } catch {
    return undefined
  }
}

/** @internal */
export const base64Encode = (s: string): string => btoa(String.fromCharCode(...utf8.encode(s)))

/** @internal */
export const randomId = (): string => globalThis.crypto.randomUUID()

/** @internal */
export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociArtifact: "application/vnd.oci.artifact.manifest.v1+json",
  schema2: "application/vnd.docker.distribution.manifest.v2+json",
  list: "application/vnd.docker.distribution.manifest.list.v2+json",
  schema1: "application/vnd.docker.distribution.manifest.v1+json",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws"
} as const

/** @internal */
export const normalizeMediaType = (contentType: string | undefined): string =>
  (contentType ?? "").split(";")[0].trim().toLowerCase()
