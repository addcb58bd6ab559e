/**
 * The `Hash` service in pure JavaScript, with `@noble/hashes` (an optional peer
 * dependency of core: install it to use this module). Runs in any runtime; on
 * Node prefer `NodeHash.layer` from `@effect-registry/node`, which uses the
 * native `node:crypto` and is several times faster.
 *
 * Reached as `@effect-registry/core/PortableHash` (not re-exported from the
 * package root, so that `@noble/hashes` stays optional).
 *
 * @since 0.1.0
 */
import { sha256, sha512 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import * as Layer from "effect/Layer"
import type * as Digest from "./Digest.js"
import * as Hash from "./Hash.js"

/**
 * Creates a hasher with `@noble/hashes`.
 *
 * @example
 * ```ts
 * import * as PortableHash from "@effect-registry/core/PortableHash"
 *
 * const hasher = PortableHash.hasher("sha256")
 * hasher.update(new Uint8Array([1, 2, 3]))
 * hasher.digestHex()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const hasher = (algorithm: Digest.Algorithm): Hash.Hasher => {
  const h = algorithm === "sha512" ? sha512.create() : sha256.create()
  return {
    update: (bytes) => {
      h.update(bytes)
    },
    digestHex: () => bytesToHex(h.digest())
  }
}

/**
 * The `Hash` service backed by `@noble/hashes`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Hash.Hash> = Layer.succeed(Hash.Hash, Hash.make(hasher))
