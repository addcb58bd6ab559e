/**
 * Cutting byte streams at byte offsets: what a resumed download skips, what a bounded read or an upload chunk
 * keeps.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

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
