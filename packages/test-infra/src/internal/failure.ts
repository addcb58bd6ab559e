/**
 * A failure of one of the launcher's helpers; the public modules map it to their own errors.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * The launcher's reasons (`RealRegistry.RealRegistryErrorReason` is these and `TokenServer`).
 *
 * @since 0.1.0
 */
export type FailureReason =
  | "BinaryMissing"
  | "OpensslMissing"
  | "Certificates"
  | "FileSystem"
  | "Port"
  | "Spawn"
  | "Exited"
  | "StartTimeout"
  | "Listen"

/** @internal */
export class LaunchFailure extends Data.TaggedError("LaunchFailure")<{
  readonly reason: FailureReason
  readonly message: string
  readonly cause?: unknown
}> {}

/** @internal */
export const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)
