/**
 * Frees the memory of a buffer now rather than at the garbage collector's next pass: for pieces marked with
 * `BlobSource.releasedOnceWritten`, once a request body's socket has taken them or a file writer has copied them.
 *
 * Detaching an `ArrayBuffer` drops its memory at once. ES2024's `ArrayBuffer.prototype.transfer(0)` does it
 * where the runtime has it (Node 22); Node 20 lacks it, and there a buffer is detached by posting it, in the
 * transfer list, on a `MessagePort` that is closed: the structured clone still takes the buffer (the spec's
 * rule for transfers to a closed port, which Node follows) and the message is dropped with it.
 * `release.test.ts` checks on the running Node that the memory is returned.
 *
 * @since 0.2.0
 */
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Predicate from "effect/Predicate"
import * as WorkerThreads from "node:worker_threads"

let closedPort: WorkerThreads.MessagePort | undefined

const detachByPort = (buffer: ArrayBuffer): void => {
  if (closedPort === undefined) {
    const channel = new WorkerThreads.MessageChannel()
    channel.port1.close()
    channel.port2.close()
    closedPort = channel.port1
  }
  try {
    closedPort.postMessage(null, [buffer])
  } catch {
    // not transferable (already detached, or not a plain ArrayBuffer): left to the garbage collector
  }
}

const transferOf = (buffer: ArrayBuffer): ((length: number) => unknown) | undefined => {
  const transfer: unknown = Predicate.hasProperty(buffer, "transfer") ? buffer.transfer : undefined
  return Predicate.isFunction(transfer) ? (length) => transfer.call(buffer, length) : undefined
}

/**
 * Frees `buffer`'s memory now; the buffer and every view of it read as empty afterwards. Never throws.
 *
 * @since 0.2.0
 */
export const release = (buffer: ArrayBuffer): void => {
  const transfer = transferOf(buffer)
  if (transfer === undefined) return detachByPort(buffer)
  try {
    transfer(0)
  } catch {
    // a buffer that cannot be transferred is left to the garbage collector
  }
}

/**
 * Frees each of `pieces` that was marked with `BlobSource.releasedOnceWritten` (the others are left as they
 * are), for a writer that is done with them.
 *
 * @since 0.2.0
 */
export const releaseWritten = (pieces: ReadonlyArray<Uint8Array>): void => {
  for (const piece of pieces) {
    const owned = BlobSource.takeReleasable(piece)
    if (owned !== undefined) release(owned)
  }
}
