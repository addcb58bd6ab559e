/**
 * What the request pipeline and the operations are given: the `HttpClient`, the
 * `AuthService` port, the registry's URL and the limits.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as BlobSource from "../../BlobSource.js"
import type * as Hash from "../../Hash.js"
import type * as RegistryError from "../../RegistryError.js"

/**
 * What the pipeline needs of the `AuthService`.
 *
 * @since 0.1.0
 */
export interface Authorizer {
  readonly authorize: (
    request: HttpClientRequest.HttpClientRequest,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<HttpClientRequest.HttpClientRequest, AuthFailure>
  readonly challenge: (
    response: HttpClientResponse.HttpClientResponse,
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<void, AuthFailure>
}

/** @since 0.1.0 */
export type AuthFailure = RegistryError.Unauthorized | RegistryError.TransportError | RegistryError.UnexpectedResponse
/** @since 0.1.0 */
export interface Env {
  readonly http: HttpClient.HttpClient
  readonly auth: Authorizer
  /**
   * The registry's URL. Only requests to its origin (Docker Hub's aliases
   * counting as one) go through `auth`; any other request goes out with no
   * credentials, and nothing goes over plain http when this is https.
   */
  readonly registry: string
  /** Builds the `Unauthorized` for a 401 answer (from its challenge). */
  readonly unauthorized: (
    response: HttpClientResponse.HttpClientResponse,
    scopes: ReadonlyArray<string>
  ) => RegistryError.Unauthorized
  /** Retry policy for idempotent requests (already filtering transient errors). */
  readonly retry: Schedule.Schedule<unknown, RegistryError.RegistryError>
  /** At most this many bytes of an error body are read. */
  readonly errorBodyLimit: number
  /** Longest time reading a whole bounded body (manifest, listing, error) takes. Default {@link DefaultBodyTimeout}. */
  readonly bodyTimeout?: Duration.Duration | undefined
}

/**
 * Everything the operations share.
 *
 * @since 0.1.0
 */
export interface OpsEnv extends Env {
  /** `scheme://host[:port][/prefix]` without a trailing slash. */
  readonly baseUrl: string
  readonly hash: Hash.Service
  readonly maxManifestSize: number
  readonly maxRedirects: number
  readonly maxResumes: number
  readonly maxPages: number
  readonly uploadRetry: Schedule.Schedule<unknown, RegistryError.RegistryError>
  /** Longest pause between two pieces of a blob being read. */
  readonly readIdleTimeout: Duration.Duration
  /** Times an upload restarts in a new session at most. */
  readonly maxUploadRestarts: number
  /**
   * The buffers an upload from a source with `BlobSource.openIntoOf` reads into (none: a new buffer per
   * piece); when the transport tells `RequestBodyReuse`.
   */
  readonly bodyBuffers?: BlobSource.BufferPool | undefined
}
