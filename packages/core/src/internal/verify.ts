/**
 * The verifying pass-through of `Hash.verify` as one channel stage: each chunk is counted, checked against
 * the expected size and hashed in the step that hands it on, and the verdict follows the upstream's end. One
 * stage instead of a mapping stage followed by a concatenated verdict stream: a download of 1 GiB passes
 * ~16 000 chunks (one per socket read), and every stage costs each of them a few microseconds.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Digest from "../Digest.js"
import * as RegistryError from "../RegistryError.js"

/** What the channel needs of a running hash (`Hash.Hasher`). */
export interface Hasher {
  readonly update: (bytes: Uint8Array) => void
  readonly digestHex: () => string
}

/** @since 0.1.0 */
export interface VerifyOptions {
  readonly digest: Digest.Digest
  readonly size?: number | undefined
  readonly repository?: string | undefined
}

/** The bytes counted so far; shared with the caller (a download resumes from it). */
export interface Counter {
  bytes: number
}

/** @since 0.1.0 */
export const finish = (algorithm: Digest.Algorithm, hasher: Hasher): Effect.Effect<Digest.Digest> =>
  Effect.suspend(() => {
    const hex = hasher.digestHex().toLowerCase()
    return Digest.fromHex(algorithm, hex).pipe(
      Effect.catchAll((e) => Effect.dieMessage(`Hash service returned a malformed digest: ${e.detail ?? hex}`))
    )
  })

type Failure = RegistryError.DigestMismatch | RegistryError.SizeMismatch

/**
 * Hashes and counts every byte passing through (into `counter`); fails with `SizeMismatch` as soon as more
 * than `options.size` bytes passed (that chunk is not handed on) or, at the end, when fewer did, and with
 * `DigestMismatch` when the digest differs. Upstream failures pass through unchanged.
 *
 * @since 0.1.0
 */
export const verifyChannel = <E>(
  hasher: Hasher,
  options: VerifyOptions,
  counter: Counter = { bytes: 0 }
): Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E | Failure, E, unknown, unknown> => {
  const algorithm = Digest.algorithm(options.digest)
  const context = {
    digest: options.digest,
    ...(options.repository !== undefined ? { repository: options.repository } : {})
  }
  const expected = options.size
  const verdict = Channel.suspend((): Channel.Channel<never, unknown, Failure, unknown, unknown, unknown> => {
    if (expected !== undefined && counter.bytes !== expected) {
      return Channel.fail(new RegistryError.SizeMismatch({ ...context, expected, actual: counter.bytes }))
    }
    return Channel.fromEffect(Effect.flatMap(finish(algorithm, hasher), (actual) =>
      actual === options.digest
        ? Effect.void
        : Effect.fail(new RegistryError.DigestMismatch({ ...context, expected: options.digest, actual }))))
  })
  const loop: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E | Failure, E, unknown, unknown> =
    Channel.readWithCause({
      onInput: (chunk: Chunk.Chunk<Uint8Array>) => {
        for (const bytes of chunk) {
          counter.bytes += bytes.length
          if (expected !== undefined && counter.bytes > expected) {
            return Channel.fail(
              new RegistryError.SizeMismatch({
                ...context,
                expected,
                actual: counter.bytes,
                detail: "more bytes than expected (counted so far)"
              })
            )
          }
          hasher.update(bytes)
        }
        return Channel.flatMap(Channel.write(chunk), () => loop)
      },
      onFailure: Channel.failCause,
      onDone: () => verdict
    })
  return loop
}
