/**
 * Cutting byte streams at byte offsets: what a resumed download skips, what a bounded read or an upload chunk
 * keeps.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

/**
 * The bytes of a byte stream after its first `n` (the piece that crosses `n` cut).
 *
 * @since 0.1.0
 */
export const dropBytes =
  (n: number) => <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      let left = n
      return Stream.filterMap(self, (bytes) => {
        if (left <= 0) return Option.some(bytes)
        if (bytes.length <= left) {
          left -= bytes.length
          return Option.none()
        }
        const rest = bytes.subarray(left)
        left = 0
        return Option.some(rest)
      })
    })

/**
 * The first `n` bytes of a byte stream (the piece that crosses `n` cut); the rest is not pulled.
 *
 * @since 0.2.0
 */
export const takeBytes =
  (n: number) => <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    n <= 0 ? Stream.empty : Stream.suspend(() => {
      let left = n
      let seen = 0
      return self.pipe(
        Stream.mapChunks((chunk) => {
          const out: Array<Uint8Array> = []
          for (const bytes of chunk) {
            if (left <= 0) break
            const piece = bytes.length <= left ? bytes : bytes.subarray(0, left)
            left -= piece.length
            out.push(piece)
          }
          return Chunk.unsafeFromArray(out)
        }),
        Stream.takeUntil((piece) => (seen += piece.length) >= n)
      )
    })

/**
 * `stream` with `context` provided, for a stream that is run later by another (an HTTP client running a request
 * body): when the fiber that runs it already has every service of `context` (the same instances: the fiber that
 * built it, or one forked from it; its parent span may be a span below), the stream runs as it is, since `Stream.provideContext` would otherwise set
 * and restore the context around every effect of every pull (issue 19: a third of what a streamed copy allocated
 * in the JavaScript heap); any other fiber gets `context` provided.
 */
export const provideContextOnce = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  context: Context.Context<R>
): Stream.Stream<A, E> =>
  Stream.unwrap(Effect.map(Effect.context<never>(), (current) => {
    for (const [key, service] of context.unsafeMap) {
      // the parent span aside: the request runs in a span of its own, below the one `context` has
      if (key !== Tracer.ParentSpan.key && current.unsafeMap.get(key) !== service) {
        return Stream.provideContext(stream, context)
      }
    }
    // every service the stream may need is the one `context` has: running it here is running it with `context`
    return stream as Stream.Stream<A, E>
  }))
