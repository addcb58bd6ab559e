/**
 * Manifest reads: `getManifest`, `manifest` (schema1), `manifestV2` (schema2), `manifestDigest` and
 * `manifestHead`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as AuthService from "../../AuthService.js"
import * as MediaType from "../../MediaType.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { GetManifestOptions } from "../../RegistryClientTypes.js"
import * as ErrorUnion from "../errorUnion.js"
import type * as Request from "../http/index.js"
import * as ManifestOps from "./manifests.js"
import { validRef } from "./validate.js"

const scopes = AuthService.scopes
const toGetManifestError = ErrorUnion.narrow(RegistryClientError.GetManifestErrorTags)
/**
 * The manifest reads of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  const getManifest = Effect.fn("RegistryClient.getManifest")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      return yield* ManifestOps.getManifest(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )
  const manifest = Effect.fn("RegistryClient.manifest")(function*(repository: string, reference: string) {
    yield* Effect.annotateCurrentSpan({ repository, reference })
    const { ref, repo } = yield* validRef(repository, reference)
    return yield* ManifestOps.getManifest(env, repo, ref, MediaType.AcceptSchema1, [scopes.pull(repo)])
  }, (effect) => Effect.mapError(effect, toGetManifestError))
  const manifestV2 = Effect.fn("RegistryClient.manifestV2")(function*(repository: string, reference: string) {
    yield* Effect.annotateCurrentSpan({ repository, reference })
    const { ref, repo } = yield* validRef(repository, reference)
    return yield* ManifestOps.getManifest(env, repo, ref, MediaType.AcceptSchema2, [scopes.pull(repo)])
  }, (effect) => Effect.mapError(effect, toGetManifestError))
  const manifestDigest = Effect.fn("RegistryClient.manifestDigest")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      const digest = yield* ManifestOps.manifestDigest(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
      yield* Effect.annotateCurrentSpan({ digest })
      return digest
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )
  const manifestHead = Effect.fn("RegistryClient.manifestHead")(
    function*(repository: string, reference: string, options?: GetManifestOptions) {
      yield* Effect.annotateCurrentSpan({ repository, reference })
      const { ref, repo } = yield* validRef(repository, reference)
      const head = yield* ManifestOps.manifestHead(env, repo, ref, options?.accept ?? MediaType.AcceptAll, [
        scopes.pull(repo)
      ])
      yield* Effect.annotateCurrentSpan({ digest: head.digest })
      return head
    },
    (effect) => Effect.mapError(effect, toGetManifestError)
  )
  return { getManifest, manifest, manifestV2, manifestDigest, manifestHead }
}
