/**
 * Incremental hashing as a service, so that core never imports `node:crypto`.
 *
 * `@effect-registry/node` provides it with `node:crypto` (`NodeHash.layer`, native
 * speed); other runtimes use `@effect-registry/core/PortableHash` (`@noble/hashes`).
 * The stream helpers here hash bytes as they pass, with a fresh hasher for every
 * run of the stream, so a retried stream is hashed anew.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as Digest from "./Digest.js"
import * as Verify from "./internal/verify.js"
import * as RegistryError from "./RegistryError.js"

/**
 * One running hash computation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hasher {
  readonly update: (bytes: Uint8Array) => void
  /** The lowercase hex digest of everything passed to `update`. Call once. */
  readonly digestHex: () => string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly make: (algorithm: Digest.Algorithm) => Hasher
}

/**
 * The incremental hashing port.
 *
 * @since 0.1.0
 * @category tags
 */
export class Hash extends Context.Tag("@effect-registry/core/Hash")<Hash, Service>() {}

/**
 * Builds the service from a function that creates hashers.
 *
 * @example
 * ```ts
 * import { Hash } from "@effect-registry/core"
 * import * as Layer from "effect/Layer"
 *
 * declare const make: (algorithm: "sha256" | "sha512") => Hash.Hasher
 * const layer = Layer.succeed(Hash.Hash, Hash.make(make))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (make: (algorithm: Digest.Algorithm) => Hasher): Service => Hash.of({ make })

const isStream = (u: unknown): u is Stream.Stream<unknown, unknown, unknown> =>
  Predicate.hasProperty(u, Stream.StreamTypeId)

const finish = Verify.finish

/**
 * Options of {@link verify}.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  /** The digest the bytes must hash to. */
  readonly digest: Digest.Digest
  /** The exact number of bytes expected, when known. */
  readonly size?: number | undefined
  /** Added to the errors for context. */
  readonly repository?: string | undefined
}

/**
 * A pass-through that hashes every byte and, at the end of the stream, fails with
 * `SizeMismatch` when the byte count differs from `size` (as soon as more bytes
 * than `size` have passed, without emitting them) or `DigestMismatch` when the
 * digest differs. Consumers see the bytes before the verdict: write them somewhere
 * provisional and commit only when the stream ends without error.
 *
 * @example
 * ```ts
 * import { Digest, Hash } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * declare const digest: Digest.Digest
 * const verified = Stream.make(new Uint8Array([1, 2])).pipe(Hash.verify({ digest, size: 2 }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify: {
  (options: VerifyOptions): <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | RegistryError.DigestMismatch | RegistryError.SizeMismatch, R | Hash>
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    options: VerifyOptions
  ): Stream.Stream<Uint8Array, E | RegistryError.DigestMismatch | RegistryError.SizeMismatch, R | Hash>
} = dual(2, <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options: VerifyOptions
): Stream.Stream<Uint8Array, E | RegistryError.DigestMismatch | RegistryError.SizeMismatch, R | Hash> =>
  Stream.unwrap(Effect.map(Hash, (service) =>
    Stream.suspend(() =>
      Stream.pipeThroughChannel(
        self,
        Verify.verifyChannel<E>(service.make(Digest.algorithm(options.digest)), options)
      )
    ))))

/**
 * Hashes a whole stream, returning its digest and byte count.
 *
 * @example
 * ```ts
 * import { Hash } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * const result = Hash.digestOf(Stream.make(new Uint8Array([1, 2, 3])))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const digestOf: {
  (algorithm?: Digest.Algorithm): <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, E, R | Hash>
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    algorithm?: Digest.Algorithm
  ): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, E, R | Hash>
} = dual((args) => isStream(args[0]), <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  algorithm: Digest.Algorithm = "sha256"
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, E, R | Hash> =>
  Effect.flatMap(Hash, (service) =>
    Effect.suspend(() => {
      const hasher = service.make(algorithm)
      let size = 0
      return Stream.runForEachChunk(self, (chunk) =>
        Effect.sync(() => {
          for (const bytes of chunk) {
            size += bytes.length
            hasher.update(bytes)
          }
        })).pipe(
          Effect.zipRight(Effect.suspend(() => finish(algorithm, hasher))),
          Effect.map((digest) => ({ digest, size }))
        )
    })))

/**
 * Hashes bytes held in memory with the `Hash` service.
 *
 * @example
 * ```ts
 * import { Hash } from "@effect-registry/core"
 *
 * const digest = Hash.digestBytes(new Uint8Array([1, 2, 3]))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const digestBytes = (
  bytes: Uint8Array,
  algorithm: Digest.Algorithm = "sha256"
): Effect.Effect<Digest.Digest, never, Hash> =>
  Effect.flatMap(Hash, (service) =>
    Effect.suspend(() => {
      const hasher = service.make(algorithm)
      hasher.update(bytes)
      return finish(algorithm, hasher)
    }))

/**
 * A pass-through that hashes the bytes and, when the stream ends, runs `onDone`
 * with their digest and count. Fresh state per run.
 *
 * @example
 * ```ts
 * import { Hash } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const s = Stream.make(new Uint8Array([1])).pipe(
 *   Hash.tap("sha256", (digest, size) => Effect.log(digest, size))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const tap: {
  <E2, R2>(
    algorithm: Digest.Algorithm,
    onDone: (digest: Digest.Digest, size: number) => Effect.Effect<unknown, E2, R2>
  ): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E | E2, R | R2 | Hash>
  <E, R, E2, R2>(
    self: Stream.Stream<Uint8Array, E, R>,
    algorithm: Digest.Algorithm,
    onDone: (digest: Digest.Digest, size: number) => Effect.Effect<unknown, E2, R2>
  ): Stream.Stream<Uint8Array, E | E2, R | R2 | Hash>
} = dual(3, <E, R, E2, R2>(
  self: Stream.Stream<Uint8Array, E, R>,
  algorithm: Digest.Algorithm,
  onDone: (digest: Digest.Digest, size: number) => Effect.Effect<unknown, E2, R2>
): Stream.Stream<Uint8Array, E | E2, R | R2 | Hash> =>
  Stream.unwrap(Effect.map(Hash, (service) =>
    Stream.suspend(() => {
      const hasher = service.make(algorithm)
      let size = 0
      const hashed = Stream.mapChunks(self, (chunk) => {
        for (const bytes of chunk) {
          size += bytes.length
          hasher.update(bytes)
        }
        return chunk
      })
      return Stream.concat(
        hashed,
        Stream.drain(Stream.fromEffect(Effect.flatMap(finish(algorithm, hasher), (digest) => onDone(digest, size))))
      )
    }))))
