/**
 * Progress of long transfers (OCI layout push and pull, image copy): events per
 * blob (`BlobStart`, `BlobProgress`, `BlobDone`) and per image (`ImageDone`),
 * delivered to a `Progress` service.
 *
 * Operations look the service up with `Effect.serviceOption`, so providing it
 * is optional: without it, events go nowhere. {@link queue} exposes the events
 * as a `Stream` (what a CLI draws); {@link callback} hands each to a function.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as Digest from "./Digest.js"

/**
 * A blob transfer begins. `bytes` is 0; `total` is the blob's size when known.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobStart {
  readonly _tag: "BlobStart"
  readonly digest: Digest.Digest
  readonly bytes: number
  readonly total: number | undefined
}

/**
 * Bytes of a blob went through: `bytes` is the position reached in the blob
 * (a restarted transfer starts again from its offset).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobProgress {
  readonly _tag: "BlobProgress"
  readonly digest: Digest.Digest
  readonly bytes: number
  readonly total: number | undefined
}

/**
 * How a blob reached its destination: its bytes were moved (`Transferred`), the
 * destination already had it (`Existed`), or the registry mounted it from
 * another repository (`Mounted`).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "Transferred" | "Existed" | "Mounted"

/**
 * A blob is at its destination. `bytes` counts the bytes moved by this
 * process (0 when it `Existed` or was `Mounted`).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobDone {
  readonly _tag: "BlobDone"
  readonly digest: Digest.Digest
  readonly bytes: number
  readonly total: number | undefined
  readonly outcome: Outcome
}

/**
 * An image (or index with its children) is done. `digest` is its manifest's
 * digest, `bytes` the blob bytes moved, `total` the size of all its blobs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImageDone {
  readonly _tag: "ImageDone"
  readonly digest: Digest.Digest
  readonly bytes: number
  readonly total: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Event = BlobStart | BlobProgress | BlobDone | ImageDone

/**
 * The sink of progress events.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly emit: (event: Event) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Progress extends Context.Tag("@effect-registry/core/Progress")<Progress, Service>() {}

/**
 * The events of a {@link queue} layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventsService {
  /** Every event as it comes (never ends; take what you need). */
  readonly stream: Stream.Stream<Event>
  /** The events queued so far, removed from the queue. */
  readonly takeAll: Effect.Effect<ReadonlyArray<Event>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Events extends Context.Tag("@effect-registry/core/Progress/Events")<Events, EventsService>() {}

/**
 * A `Progress` that drops every event.
 *
 * @since 0.1.0
 * @category layers
 */
export const none: Layer.Layer<Progress> = Layer.succeed(Progress, Progress.of({ emit: () => Effect.void }))

/**
 * Events handed to a function (plain or effectful).
 *
 * @example
 * ```ts
 * import { Progress } from "@effect-registry/core"
 *
 * let moved = 0
 * const ProgressLive = Progress.callback((event) => {
 *   if (event._tag === "BlobDone") moved += event.bytes
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const callback = (f: (event: Event) => void | Effect.Effect<void>): Layer.Layer<Progress> =>
  Layer.succeed(
    Progress,
    Progress.of({
      emit: (event) =>
        Effect.suspend(() => {
          const out = f(event)
          return Effect.isEffect(out) ? out : Effect.void
        })
    })
  )

/**
 * Events put in a queue, read through the {@link Events} service as a
 * `Stream`. With `capacity`, the queue keeps only the newest events (a slow
 * reader loses old ones rather than slowing transfers); without it, the
 * queue is unbounded. The queue is shut down with the layer.
 *
 * @example
 * ```ts
 * import { Progress } from "@effect-registry/core"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const draw = Effect.flatMap(Progress.Events, (events) =>
 *   events.stream.pipe(Stream.runForEach((event) => Effect.log(event._tag, event.bytes)))
 * ).pipe(Effect.provide(Progress.queue({ capacity: 1024 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const queue = (options?: { readonly capacity?: number | undefined }): Layer.Layer<Progress | Events> =>
  Layer.scopedContext(Effect.gen(function*() {
    const capacity = options?.capacity
    const q = yield* Effect.acquireRelease(
      capacity !== undefined ? Queue.sliding<Event>(Math.max(1, Math.floor(capacity))) : Queue.unbounded<Event>(),
      Queue.shutdown
    )
    const progress = Progress.of({ emit: (event) => Effect.asVoid(Queue.offer(q, event)) })
    const events = Events.of({
      stream: Stream.fromQueue(q),
      takeAll: Effect.map(Queue.takeAll(q), (chunk) => Array.from(chunk))
    })
    return Context.make(Progress, progress).pipe(Context.add(Events, events))
  }))

/**
 * Sends an event to the `Progress` service in context, if there is one.
 *
 * @since 0.1.0
 * @category utils
 */
export const emit = (event: Event): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(Progress),
    Option.match({ onNone: () => Effect.void, onSome: (service) => service.emit(event) })
  )

/**
 * Options of {@link track}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrackOptions {
  readonly digest: Digest.Digest
  readonly total: number | undefined
  /** The position of the first byte (a resumed transfer). Default 0. */
  readonly offset?: number | undefined
  /** Called with the count of new bytes, for totals kept by the caller. */
  readonly onBytes?: ((n: number) => void) | undefined
}

/**
 * Counts the bytes of a blob as they pass: a `BlobProgress` event per chunk
 * with the position reached (starting at `offset`). Fresh count per run.
 *
 * @example
 * ```ts
 * import { Progress } from "@effect-registry/core"
 * import type { Digest } from "@effect-registry/core"
 * import * as Stream from "effect/Stream"
 *
 * declare const digest: Digest.Digest
 * const counted = Stream.make(new Uint8Array(3)).pipe(Progress.track({ digest, total: 3 }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const track: {
  (options: TrackOptions): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, options: TrackOptions): Stream.Stream<Uint8Array, E, R>
} = dual(
  2,
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, options: TrackOptions): Stream.Stream<Uint8Array, E, R> =>
    Stream.unwrap(Effect.map(Effect.serviceOption(Progress), (service) =>
      Stream.suspend(() => {
        let position = options.offset ?? 0
        return Stream.mapChunksEffect(self, (chunk) => {
          let n = 0
          for (const bytes of chunk) n += bytes.length
          if (n === 0) return Effect.succeed(chunk)
          position += n
          options.onBytes?.(n)
          return Option.isNone(service) ? Effect.succeed(chunk) : Effect.as(
            service.value.emit({ _tag: "BlobProgress", digest: options.digest, bytes: position, total: options.total }),
            chunk
          )
        })
      })))
)
