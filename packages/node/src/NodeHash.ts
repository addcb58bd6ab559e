/**
 * Core's `Hash` port on `node:crypto`: native sha256 / sha512 hashing for
 * streams of blob bytes.
 *
 * @since 0.1.0
 */
import type * as Digest from "@effect-registry/core/Digest"
import * as Hash from "@effect-registry/core/Hash"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"

/**
 * A hasher on `node:crypto`'s `createHash`.
 *
 * @example
 * ```ts
 * import { NodeHash } from "@effect-registry/node"
 *
 * const hasher = NodeHash.makeHasher("sha256")
 * hasher.update(new TextEncoder().encode("abc"))
 * hasher.digestHex() // "ba7816bf..."
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHasher = (algorithm: Digest.Algorithm): Hash.Hasher => {
  const hash = Crypto.createHash(algorithm)
  return {
    update: (bytes) => {
      hash.update(bytes)
    },
    digestHex: () => hash.digest("hex")
  }
}

/**
 * The `Hash` service on `node:crypto`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const service: Hash.Service = Hash.make(makeHasher)

/**
 * Provides core's `Hash` service with `node:crypto`.
 *
 * @example
 * ```ts
 * import { Hash } from "@effect-registry/core"
 * import { NodeHash } from "@effect-registry/node"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const digest = Hash.digestOf(Stream.make(new Uint8Array([1, 2, 3]))).pipe(Effect.provide(NodeHash.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Hash.Hash> = Layer.succeed(Hash.Hash, service)
