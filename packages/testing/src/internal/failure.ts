/**
 * A failure of one of the launcher's helpers; the public modules map it to their own errors.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as RealRegistry from "../RealRegistry.js"

/**
 * The launcher's reasons: those of the public `RealRegistryError` but `TokenServer`.
 *
 * @internal
 */
export type FailureReason = Exclude<RealRegistry.RealRegistryErrorReason, "TokenServer">

/** @internal */
export class LaunchFailure extends Data.TaggedError("LaunchFailure")<{
  readonly reason: FailureReason
  readonly message: string
  readonly cause?: unknown
}> {}

/** @internal */
export const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)
