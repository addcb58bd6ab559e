/**
 * Manifest reads and writes: Accept negotiation, one read of the body, digest checks.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Digest from "../../Digest.js"
import * as Manifest from "../../Manifest.js"
import * as MediaType from "../../MediaType.js"
import * as RateLimit from "../../RateLimit.js"
import type { ManifestError } from "../../RegistryClientError.js"
import * as RegistryError from "../../RegistryError.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"

/**
 * A validated tag or digest.
 *
 * @since 0.1.0
 */
export type Ref = { readonly _tag: "Tag"; readonly tag: string } | {
  readonly _tag: "Digest"
  readonly digest: Digest.Digest
}

/** @since 0.1.0 */
export const refString = (ref: Ref): string => ref._tag === "Tag" ? ref.tag : ref.digest

/** @since 0.1.0 */
export const manifestUrl = (env: Request.OpsEnv, repository: string, ref: string): string =>
  `${env.baseUrl}/v2/${repository}/manifests/${ref}`

/**
 * The digest of bytes (or of a schema1 payload) with the algorithm of `like`.
 *
 * @since 0.1.0
 */
export const digestLike = (
  bytes: Uint8Array,
  mediaType: string,
  like: Digest.Digest
): Effect.Effect<Digest.Digest, RegistryError.ManifestInvalid> =>
  Effect.gen(function*() {
    const payload = MediaType.isSchema1(mediaType) ? yield* Manifest.schema1Payload(bytes) : bytes
    return yield* Digest.compute(Digest.algorithm(like), payload)
  })

const headerDigest = (
  value: string | undefined,
  fields: Request.ErrorContext & { readonly request: string; readonly status: number }
): Effect.Effect<Option.Option<Digest.Digest>, RegistryError.UnexpectedResponse> => {
  if (value === undefined || value.trim().length === 0) return Effect.succeed(Option.none())
  return Digest.parse(value.trim()).pipe(
    Effect.map(Option.some),
    Effect.mapError(() =>
      new RegistryError.UnexpectedResponse({ ...fields, reason: "Header", detail: "malformed Docker-Content-Digest" })
    )
  )
}

/**
 * What a manifest read can fail with.
 *
 * @since 0.1.0
 */
export type GetError = ManifestError

/**
 * GET a manifest with the given Accept list; read its body once, bounded; decode;
 * check `Docker-Content-Digest` and, by digest, that the bytes hash to it.
 *
 * @since 0.1.0
 */
export const getManifest = (
  env: Request.OpsEnv,
  repository: string,
  ref: Ref,
  accept: ReadonlyArray<string>,
  scopes: ReadonlyArray<string>
): Effect.Effect<Manifest.Any, GetError> => {
  const reference = refString(ref)
  const ctx: Request.ErrorContext = { repository, reference }
  const url = manifestUrl(env, repository, reference)
  const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("accept", MediaType.acceptHeader(accept)))
  const fields = (status: number) => ({ ...ctx, request: Request.describeRequest("GET", url), status })
  return Effect.gen(function*() {
    const response = yield* Request.call(env, {
      request,
      scopes,
      context: ctx,
      ok: [200],
      retry: false,
      notFound: (f) => new RegistryError.ManifestUnknown(f)
    })
    const length = Range.parseLength(response.headers["content-length"])
    if (Option.isSome(length) && length.value > env.maxManifestSize) {
      return yield* new RegistryError.ManifestInvalid({
        ...fields(200),
        reason: "TooLarge",
        detail: `${length.value} bytes, the limit is ${env.maxManifestSize}`
      })
    }
    const body = yield* Request.readBody(response, env.maxManifestSize, env.bodyTimeout, ctx)
    if (body.truncated) {
      return yield* new RegistryError.ManifestInvalid({
        ...fields(200),
        reason: "TooLarge",
        detail: `more than ${env.maxManifestSize} bytes`
      })
    }
    const contentType = response.headers["content-type"]
    const decoded = yield* Manifest.decode(body.bytes, {
      maxSize: env.maxManifestSize,
      ...(contentType !== undefined ? { contentType } : {})
    }).pipe(Effect.mapError((e) => new RegistryError.ManifestInvalid({ ...e, ...fields(200), reason: e.reason })))
    const announced = yield* headerDigest(response.headers["docker-content-digest"], fields(200))
    if (Option.isSome(announced)) {
      const actual = announced.value === decoded.digest
        ? decoded.digest
        : yield* digestLike(decoded.bytes, decoded.mediaType, announced.value)
      if (actual !== announced.value) {
        return yield* new RegistryError.DigestMismatch({
          ...fields(200),
          expected: announced.value,
          actual,
          detail: "the manifest bytes do not hash to Docker-Content-Digest"
        })
      }
    }
    if (ref._tag === "Digest") {
      const actual = ref.digest === decoded.digest
        ? decoded.digest
        : yield* digestLike(decoded.bytes, decoded.mediaType, ref.digest)
      if (actual !== ref.digest) {
        return yield* new RegistryError.DigestMismatch({
          ...fields(200),
          expected: ref.digest,
          actual,
          detail: "the manifest fetched by digest does not hash to it"
        })
      }
    }
    const rateLimit = RateLimit.fromHeaders(response.headers)
    return rateLimit === undefined ? decoded : { ...decoded, rateLimit }
  }).pipe(Effect.retry(env.retry))
}

/**
 * What a manifest HEAD tells (every manifest type accepted): digest, media type, size and rate-limit
 * headers; a GET when the registry sends no `Docker-Content-Digest` for a tag.
 *
 * @since 0.2.0
 */
export const manifestHead = (
  env: Request.OpsEnv,
  repository: string,
  ref: Ref,
  accept: ReadonlyArray<string>,
  scopes: ReadonlyArray<string>
): Effect.Effect<RateLimit.ManifestHead, GetError> =>
  Effect.gen(function*() {
    const reference = refString(ref)
    const ctx: Request.ErrorContext = { repository, reference }
    const url = manifestUrl(env, repository, reference)
    const response = yield* Request.call(env, {
      request: HttpClientRequest.head(url).pipe(
        HttpClientRequest.setHeader("accept", MediaType.acceptHeader(accept))
      ),
      scopes,
      context: ctx,
      ok: [200],
      notFound: (f) => new RegistryError.ManifestUnknown(f)
    })
    // (read once: a platform answer builds its headers anew on every read)
    const headers = response.headers
    const contentType = headers["content-type"]
    const mediaType = contentType === undefined ? undefined : (contentType.split(";")[0] ?? "").trim().slice(0, 256)
    const size = Option.getOrUndefined(Range.parseLength(headers["content-length"]))
    const head = (digest: Digest.Digest): RateLimit.ManifestHead => ({
      digest,
      mediaType,
      size,
      rateLimit: RateLimit.fromHeaders(headers)
    })
    const announced = yield* headerDigest(headers["docker-content-digest"], {
      ...ctx,
      request: Request.describeRequest("HEAD", url),
      status: response.status
    })
    if (Option.isSome(announced)) {
      if (ref._tag === "Digest" && announced.value !== ref.digest) {
        // a registry may announce another algorithm (sha256 for a sha512 reference)
        if (Digest.algorithm(announced.value) === Digest.algorithm(ref.digest)) {
          return yield* new RegistryError.DigestMismatch({
            ...ctx,
            expected: ref.digest,
            actual: announced.value,
            detail: "the registry announced another digest for the manifest"
          })
        }
        return head(ref.digest)
      }
      return head(announced.value)
    }
    if (ref._tag === "Digest") return head(ref.digest)
    const manifest = yield* getManifest(env, repository, ref, accept, scopes)
    return {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.bytes.length,
      rateLimit: manifest.rateLimit ?? RateLimit.fromHeaders(headers)
    }
  })

/**
 * The digest of a manifest: HEAD with every manifest type accepted, falling back to
 * a GET when the registry sends no `Docker-Content-Digest`.
 *
 * @since 0.1.0
 */
export const manifestDigest = (
  env: Request.OpsEnv,
  repository: string,
  ref: Ref,
  accept: ReadonlyArray<string>,
  scopes: ReadonlyArray<string>
): Effect.Effect<Digest.Digest, GetError> =>
  Effect.map(manifestHead(env, repository, ref, accept, scopes), (head) => head.digest)

/** @since 0.1.0 */
export interface PutInput {
  readonly bytes: Uint8Array
  readonly mediaType: string
}

/** @since 0.1.0 */
export type PutError = Request.ResponseFailure | RegistryError.DigestMismatch | RegistryError.ManifestInvalid

/**
 * PUT exact bytes with their media type; the returned digest is checked.
 * Returns the digest and the answer's headers.
 *
 * @since 0.1.0
 */
export const putManifest = (
  env: Request.OpsEnv,
  repository: string,
  ref: Ref,
  input: PutInput,
  digest: Digest.Digest,
  scopes: ReadonlyArray<string>
): Effect.Effect<{ readonly digest: Digest.Digest; readonly subjectHeader: boolean }, PutError> =>
  Effect.gen(function*() {
    const reference = refString(ref)
    const ctx: Request.ErrorContext = { repository, reference, digest }
    if (ref._tag === "Digest" && ref.digest !== digest) {
      const actual = yield* digestLike(input.bytes, input.mediaType, ref.digest)
      if (actual !== ref.digest) {
        return yield* new RegistryError.DigestMismatch({
          ...ctx,
          expected: ref.digest,
          actual,
          detail: "the manifest bytes do not hash to the digest reference they are pushed to"
        })
      }
    }
    const url = manifestUrl(env, repository, reference)
    const response = yield* Request.call(env, {
      request: HttpClientRequest.put(url).pipe(HttpClientRequest.bodyUint8Array(input.bytes, input.mediaType)),
      scopes,
      context: ctx,
      ok: [200, 201, 202, 204],
      // a PUT of the same bytes is idempotent
      retry: true
    })
    const announced = yield* headerDigest(response.headers["docker-content-digest"], {
      ...ctx,
      request: Request.describeRequest("PUT", url),
      status: response.status
    })
    if (Option.isSome(announced) && announced.value !== digest) {
      const actual = yield* digestLike(input.bytes, input.mediaType, announced.value)
      if (actual !== announced.value) {
        return yield* new RegistryError.DigestMismatch({
          ...ctx,
          expected: digest,
          actual: announced.value,
          detail: "the registry stored the manifest under another digest"
        })
      }
    }
    return { digest, subjectHeader: response.headers["oci-subject"] !== undefined }
  })
