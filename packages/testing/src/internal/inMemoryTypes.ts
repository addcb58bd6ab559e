/**
 * Types shared by the in-memory registry's internals. The public module re-exports them.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"

/** @since 0.1.0 */
export interface AccessScope {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/** @since 0.1.0 */
export interface BasicAuth {
  readonly _tag: "Basic"
  readonly users: Readonly<Record<string, string | Redacted.Redacted<string>>>
  readonly realm?: string | undefined
}

/** @since 0.1.0 */
export interface TokenAuth {
  readonly _tag: "Token"
  readonly users: Readonly<Record<string, string | Redacted.Redacted<string>>>
  readonly service?: string | undefined
  readonly path?: string | undefined
  readonly expiresIn?: number | undefined
  readonly access?: ((subject: string | undefined, scope: AccessScope) => ReadonlyArray<string>) | undefined
}

/** @since 0.1.0 */
export type Fault =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly retryAfter?: number | string | undefined
    readonly code?: string | undefined
    readonly message?: string | undefined
  }
  | { readonly _tag: "Reset"; readonly afterHandling?: boolean | undefined }
  | { readonly _tag: "Delay"; readonly delay: Duration.DurationInput }
  | { readonly _tag: "Slow"; readonly delay: Duration.DurationInput; readonly chunkSize?: number | undefined }
  | { readonly _tag: "Truncate"; readonly bytes: number }

/** @since 0.1.0 */
export interface RequestInfo {
  readonly origin: "registry" | "blobs"
  readonly method: string
  readonly path: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** @since 0.1.0 */
export interface FaultRule {
  readonly method?: string | undefined
  readonly path?: string | RegExp | undefined
  readonly origin?: "registry" | "blobs" | undefined
  readonly times?: number | undefined
  readonly fault: Fault
}

/** @since 0.1.0 */
export type FaultFunction = (request: RequestInfo) => Fault | undefined

/** @since 0.1.0 */
export interface Options {
  readonly url?: string | undefined
  readonly relativeLocations?: boolean | undefined
  readonly deleteEnabled?: boolean | undefined
  readonly tagDelete?: "reject" | "unsupported" | "allow" | undefined
  readonly referrers?: boolean | undefined
  readonly schema1?: boolean | undefined
  readonly maxPageSize?: number | undefined
  readonly maxManifestSize?: number | undefined
  readonly chunkMinLength?: number | undefined
  readonly auth?: BasicAuth | TokenAuth | undefined
  readonly redirectBlobs?: boolean | { readonly url?: string | undefined } | undefined
  readonly faults?: ReadonlyArray<FaultRule> | FaultFunction | undefined
}

/** @since 0.1.0 */
export interface Request {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: Stream.Stream<Uint8Array, unknown>
}

/** @since 0.1.0 */
export class ConnectionReset {
  readonly _tag = "ConnectionReset"
}

/** @since 0.1.0 */
export type Response =
  | { readonly _tag: "Reset" }
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    /** undefined: no body (HEAD, 202, 204...) */
    readonly body: Uint8Array | Stream.Stream<Uint8Array, ConnectionReset> | undefined
  }

/** @since 0.1.0 */
export interface LoggedRequest extends RequestInfo {
  readonly status: number | undefined
}
