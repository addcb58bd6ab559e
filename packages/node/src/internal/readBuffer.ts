/**
 * The buffers a connection of `NodeHttp.layer` reads its socket into (Node's `onread` option).
 *
 * Node otherwise allocates a new buffer of up to 64 KiB for each read from the socket, which the HTTP parser drops
 * at once (it copies a body's bytes into buffers of their own), so a download made two buffers of garbage per piece,
 * and memory held by buffers waiting for V8 to collect them grew with the transfer rate (issue 19: about 9 MiB less
 * peak RSS for a pull of 8 × 64 MiB). Each connection reads into a 64 KiB buffer of its own instead, reused for
 * every read; the parser reads each piece before the next read, so the buffer is free again when Node fills it.
 *
 * A plain-HTTP connection reads 256 KiB at a time while the answer being read is claimed by a reader that frees
 * what it has written (`BlobSource.releasedOnceWritten`, told through `BlobSource.markFresh`'s `onClaimed`): the
 * pieces of that body are up to four times fewer and larger, which cuts the work done per piece on the way (the
 * stream's steps, the hash's calls, the socket writes of a copy: a copy of 8 × 64 MiB between two registries used a
 * third less CPU), and since the writer frees each piece once written, the larger pieces do not pile up (the
 * connection keeps a 256 KiB buffer once it has read wide). Other bodies (a download to a sink of the caller's,
 * which may keep or drop its pieces) stay at 64 KiB: with larger pieces a program allocates fewer JavaScript objects
 * per byte, V8 collects its young generation less often, and the dead pieces it has not collected yet held more
 * memory (a 1 GiB download to a sink peaked at 120–155 MiB with 128 or 256 KiB reads against 108–115 MiB with
 * 64 KiB). TLS connections do not widen: Node hands decrypted bytes over at most 16 KiB at a time whatever the
 * buffer. The size is chosen for each read from the claimed answer's state: once its last byte has been parsed
 * (`IncomingMessage.complete`) the connection reads at 64 KiB again, so the next answer on it starts small.
 *
 * @internal
 */
import type * as Net from "node:net"

/** Bytes of the buffer each connection reads into (the size Node reads at once). */
export const ReadBufferBytes = 64 * 1024

/** Bytes read at once while the body being read is claimed by a reader that frees its pieces once written. */
export const WideReadBufferBytes = 256 * 1024

/** An answer being read (Node's `IncomingMessage`: `complete` once its last byte was parsed). */
interface Answer {
  readonly complete: boolean
}

interface ReadState {
  // the answer whose reader claimed its pieces; reads are wide while it is not complete
  claimed: Answer | undefined
  readonly narrow: Buffer
  large: Buffer | undefined
}

// the read state of each connection this layer made that may read wide
const states = new WeakMap<object, ReadState>()

/**
 * `opts` with the read buffers of a new connection (see the module's comment); `attach` the socket made with them.
 * `wide: false` (TLS connections) keeps every read at 64 KiB.
 *
 * @internal
 */
export const withReadBuffer = <A extends object>(
  opts: A,
  wide: boolean
): { readonly opts: A & { readonly onread: Net.OnReadOpts }; readonly attach: <S extends object>(socket: S) => S } => {
  const state: ReadState = { claimed: undefined, narrow: Buffer.allocUnsafe(ReadBufferBytes), large: undefined }
  return {
    opts: {
      ...opts,
      onread: {
        // asked for after every read, for the next one
        buffer: () =>
          state.claimed !== undefined && !state.claimed.complete
            ? (state.large ??= Buffer.allocUnsafe(WideReadBufferBytes))
            : state.narrow,
        callback(this: Net.Socket, bytes: number, into: Uint8Array): boolean {
          this.emit("data", Buffer.from(into.buffer, into.byteOffset, bytes))
          return true
        }
      }
    },
    attach: (socket) => {
      if (wide) states.set(socket, state)
      return socket
    }
  }
}

/**
 * Forgets the answer `socket` widened for (when an answer ends: the state of an idle connection holds no answer).
 * Reads are narrow again as soon as that answer is complete, whether or not this is called.
 *
 * @internal
 */
export const narrow = (socket: object | null | undefined): void => {
  const state = socket == null ? undefined : states.get(socket)
  if (state !== undefined) state.claimed = undefined
}

/**
 * What to call when the reader of `answer`, being read on `socket`, claims its pieces: the connection then reads at
 * 256 KiB until the answer is complete. `undefined` for a socket that does not widen. The callback holds the
 * connection's state and the answer weakly: pieces a caller keeps do not keep them alive.
 *
 * @internal
 */
export const widenOnClaim = (socket: object | null | undefined, answer: Answer): (() => void) | undefined => {
  const state = socket == null ? undefined : states.get(socket)
  if (state === undefined) return undefined
  const stateRef = new WeakRef(state)
  const answerRef = new WeakRef(answer)
  return () => {
    const s = stateRef.deref()
    const a = answerRef.deref()
    if (s !== undefined && a !== undefined && !a.complete) s.claimed = a
  }
}
