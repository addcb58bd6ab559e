/**
 * Manifest writes: `putManifest` (which also keeps the referrers fallback index
 * of the manifest's subject up to date when the registry does not) and `deleteManifest`.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as AuthService from "../../AuthService.js"
import type * as Descriptor from "../../Descriptor.js"
import * as Digest from "../../Digest.js"
import * as Manifest from "../../Manifest.js"
import * as Reference from "../../Reference.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { ManifestInput } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"
import * as ManifestOps from "./manifests.js"
import * as ReferrersOps from "./referrers.js"
import { validRef } from "./validate.js"

const scopes = AuthService.scopes
const toPutManifestError = ErrorUnion.narrow(RegistryClientError.PutManifestErrorTags)
const toDeleteManifestError = ErrorUnion.narrow(RegistryClientError.DeleteManifestErrorTags)
/**
 * The manifest writes of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  const putManifest = Effect.fn("RegistryClient.putManifest")(
    function*(repository: string, reference: string, input: ManifestInput) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      if (input.bytes.length > env.maxManifestSize) {
        return yield* new RegistryError.ManifestInvalid({
          repository: repo,
          reference,
          reason: "TooLarge",
          detail: `${input.bytes.length} bytes, the limit is ${env.maxManifestSize}`
        })
      }
      const decoded: Option.Option<Manifest.Any> = "kind" in input
        ? Option.some(input)
        : yield* Effect.option(Manifest.decode(input.bytes, {
          contentType: input.mediaType,
          maxSize: env.maxManifestSize
        }))
      const digest = "kind" in input ? input.digest : yield* Manifest.digestOf(input.bytes, input.mediaType)
      yield* Effect.annotateCurrentSpan({ digest })
      const pushScopes = [scopes.push(repo)]
      const result = yield* ManifestOps.putManifest(
        env,
        repo,
        ref,
        {
          bytes: input.bytes,
          mediaType: input.mediaType
        },
        digest,
        pushScopes
      )
      const subject = Option.flatMap(decoded, Manifest.subject)
      if (Option.isSome(subject) && !result.subjectHeader && Option.isSome(decoded)) {
        const m = decoded.value
        const annotations = m.kind === "oci" || m.kind === "index" ? m.manifest.annotations : undefined
        const artifactType = Option.getOrUndefined(Manifest.artifactType(m))
        const entry: Descriptor.Descriptor = {
          mediaType: m.mediaType,
          digest: result.digest,
          size: m.bytes.length,
          ...(artifactType !== undefined ? { artifactType } : {}),
          ...(annotations !== undefined ? { annotations } : {})
        }
        yield* ReferrersOps.addToFallback(env, repo, subject.value.digest, entry, pushScopes)
      }
      return result.digest
    },
    (effect) => Effect.mapError(effect, toPutManifestError)
  )

  const deleteManifest = Effect.fn("RegistryClient.deleteManifest")(function*(repository: string, digest: string) {
    yield* Effect.annotateCurrentSpan({ repository, digest })
    const repo = yield* Reference.repository(repository)
    const d = yield* Digest.parse(digest)
    yield* Request.call(env, {
      request: HttpClientRequest.del(ManifestOps.manifestUrl(env, repo, d)),
      scopes: [scopes.delete(repo)],
      context: { repository: repo, digest: d, reference: d },
      ok: [200, 202, 204],
      retry: true,
      notFound: (fields) => new RegistryError.ManifestUnknown(fields)
    })
  }, (effect) => Effect.mapError(effect, toDeleteManifestError))
  return { putManifest, deleteManifest }
}
