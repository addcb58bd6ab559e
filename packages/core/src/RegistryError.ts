/**
 * Every failure of effect-registry as a tagged error.
 *
 * Each error carries what a person needs to act on it: the repository, the
 * reference or digest, the HTTP status, and the registry's own `errors[]`
 * entries when it sent any. The `message` is built from those fields and never
 * contains credentials or tokens.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-registry/core/RegistryError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * One entry of a distribution error body: `{"errors":[{"code","message","detail"}]}`.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorEntry = Schema.Struct({
  code: Schema.String,
  message: Schema.optionalWith(Schema.String, { default: () => "" }),
  detail: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorEntry = typeof ErrorEntry.Type

/**
 * The distribution error body.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorBody = Schema.Struct({
  errors: Schema.Array(ErrorEntry)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorBody = typeof ErrorBody.Type

/**
 * Fields every registry error may carry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  /** The repository the operation addressed, e.g. `library/alpine`. */
  readonly repository?: string | undefined
  /** The tag or digest the operation addressed. */
  readonly reference?: string | undefined
  /** The digest in question, when there is one. */
  readonly digest?: string | undefined
  /** The HTTP method and path (no query string, no credentials). */
  readonly request?: string | undefined
  /** The HTTP status the registry answered with. */
  readonly status?: number | undefined
  /** The registry's `errors[]` entries, when it sent a distribution error body. */
  readonly errors?: ReadonlyArray<ErrorEntry> | undefined
  /** A short human explanation added by effect-registry. */
  readonly detail?: string | undefined
  /** The underlying cause (never shown in `message`). */
  readonly cause?: unknown
}

const describe = (headline: string, self: Context): string => {
  const parts: Array<string> = [headline]
  const where: Array<string> = []
  if (self.repository !== undefined) where.push(`repository ${self.repository}`)
  if (self.reference !== undefined) where.push(`reference ${self.reference}`)
  if (self.digest !== undefined && self.digest !== self.reference) where.push(`digest ${self.digest}`)
  if (where.length > 0) parts.push(`(${where.join(", ")})`)
  if (self.detail !== undefined && self.detail.length > 0) parts.push(`: ${self.detail}`)
  const entries = (self.errors ?? []).map((e) => e.message.length > 0 ? `${e.code}: ${e.message}` : e.code)
  const tail: Array<string> = []
  if (self.status !== undefined) tail.push(`HTTP ${self.status}`)
  if (self.request !== undefined) tail.push(self.request)
  if (entries.length > 0) tail.push(`registry said ${entries.join("; ")}`)
  return parts.join(" ").replace(" :", ":") + (tail.length > 0 ? ` [${tail.join(", ")}]` : "")
}

/**
 * Why a request was not authorized.
 *
 * - `MissingCredentials`: the registry wants credentials and none are configured.
 * - `RejectedCredentials`: the registry or token server refused the credentials.
 * - `InsufficientScope`: the token does not grant the access the operation needs.
 * - `InvalidToken`: the registry refused the token (expired, wrong audience, garbage).
 * - `UnsupportedChallenge`: the registry asked for an authentication scheme we do not speak.
 * - `InsecureRealm`: the token realm is on plain http while the registry is on https, which is refused.
 *
 * @since 0.1.0
 * @category models
 */
export type UnauthorizedReason =
  | "MissingCredentials"
  | "RejectedCredentials"
  | "InsufficientScope"
  | "InvalidToken"
  | "UnsupportedChallenge"
  | "InsecureRealm"

/**
 * The registry (or its token server) refused to authenticate the request.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Data.TaggedError("Unauthorized")<
  Context & {
    readonly reason: UnauthorizedReason
    /** The `WWW-Authenticate` challenge, without any secret. */
    readonly challenge?: string | undefined
    /** The scopes that were asked for. */
    readonly scopes?: ReadonlyArray<string> | undefined
  }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<UnauthorizedReason, string> = {
      MissingCredentials: "the registry requires credentials and none are configured",
      RejectedCredentials: "the credentials were rejected",
      InsufficientScope: "the token does not grant the required access",
      InvalidToken: "the registry rejected the token",
      UnsupportedChallenge: "the registry asked for an unsupported authentication scheme",
      InsecureRealm: "refusing a plain-http token realm for an https registry"
    }
    const scopes = this.scopes !== undefined && this.scopes.length > 0 ? ` (scopes ${this.scopes.join(" ")})` : ""
    return describe(`Unauthorized: ${why[this.reason]}${scopes}`, this)
  }
}

/**
 * The registry understood the credentials and refused access (`DENIED`, or 403).
 *
 * @since 0.1.0
 * @category errors
 */
export class Denied extends Data.TaggedError("Denied")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Access denied", this)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ManifestUnknown extends Data.TaggedError("ManifestUnknown")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Manifest unknown", this)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class BlobUnknown extends Data.TaggedError("BlobUnknown")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Blob unknown", this)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class NameUnknown extends Data.TaggedError("NameUnknown")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Repository unknown", this)
  }
}

/**
 * A repository name that does not follow the distribution grammar.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameInvalid extends Data.TaggedError("NameInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Invalid repository name", this)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class TagInvalid extends Data.TaggedError("TagInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Invalid tag", this)
  }
}

/**
 * A malformed digest, an unknown algorithm, or a digest the registry refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestInvalid extends Data.TaggedError("DigestInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Invalid digest", this)
  }
}

/**
 * A malformed image reference (`registry/name:tag@digest`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ReferenceInvalid extends Data.TaggedError("ReferenceInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Invalid image reference", this)
  }
}

/**
 * The bytes do not hash to the digest they were asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestMismatch extends Data.TaggedError("DigestMismatch")<
  Context & { readonly expected: string; readonly actual: string }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe(`Digest mismatch: expected ${this.expected}, got ${this.actual}`, this)
  }
}

/**
 * The number of bytes differs from the size that was announced.
 *
 * @since 0.1.0
 * @category errors
 */
export class SizeMismatch extends Data.TaggedError("SizeMismatch")<
  Context & { readonly expected: number; readonly actual: number }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe(`Size mismatch: expected ${this.expected} bytes, got ${this.actual}`, this)
  }
}

/**
 * Why a manifest was refused.
 *
 * @since 0.1.0
 * @category models
 */
export type ManifestInvalidReason =
  | "TooLarge"
  | "Encoding"
  | "Json"
  | "Schema"
  | "MediaType"
  | "Registry"

/**
 * A manifest that is not valid: too large, not UTF-8, not JSON, not of its schema,
 * or refused by the registry (`MANIFEST_INVALID`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestInvalid extends Data.TaggedError("ManifestInvalid")<
  Context & { readonly reason: ManifestInvalidReason; readonly mediaType?: string | undefined }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<ManifestInvalidReason, string> = {
      TooLarge: "manifest too large",
      Encoding: "manifest is not valid UTF-8",
      Json: "manifest is not valid JSON",
      Schema: "manifest does not match its schema",
      MediaType: "unknown or inconsistent manifest media type",
      Registry: "the registry refused the manifest"
    }
    const mt = this.mediaType !== undefined ? ` (${this.mediaType})` : ""
    return describe(`Invalid manifest: ${why[this.reason]}${mt}`, this)
  }
}

/**
 * A manifest references a blob or child manifest the registry does not have.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestBlobUnknown extends Data.TaggedError("ManifestBlobUnknown")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Manifest references an unknown blob", this)
  }
}

/**
 * A signed schema1 manifest whose signature does not verify.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestUnverified extends Data.TaggedError("ManifestUnverified")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Manifest signature does not verify", this)
  }
}

/**
 * The upload session is unknown to the registry (cancelled, expired, or never existed).
 *
 * @since 0.1.0
 * @category errors
 */
export class BlobUploadUnknown extends Data.TaggedError("BlobUploadUnknown")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Upload session unknown", this)
  }
}

/**
 * The registry refused a request on the upload session (a stale Location, a wrong offset).
 *
 * @since 0.1.0
 * @category errors
 */
export class BlobUploadInvalid extends Data.TaggedError("BlobUploadInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Upload session refused the request", this)
  }
}

/**
 * A chunk was sent out of order (`416`), or a `Range` could not be satisfied.
 *
 * @since 0.1.0
 * @category errors
 */
export class RangeInvalid extends Data.TaggedError("RangeInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Range not satisfiable", this)
  }
}

/**
 * The registry does not support the operation (`UNSUPPORTED`, `405`), such as a
 * delete on a registry with deletes disabled.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends Data.TaggedError("Unsupported")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Operation not supported by the registry", this)
  }
}

/**
 * A blob upload from a one-shot stream failed in a way that needs the bytes
 * again, which a one-shot stream cannot give. Use a re-openable source to let
 * the client restart the upload.
 *
 * @since 0.1.0
 * @category errors
 */
export class UploadNotResumable extends Data.TaggedError("UploadNotResumable")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Upload cannot be resumed", this)
  }
}

/**
 * Rate-limit headers a registry may send with a `429`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  readonly limit?: string | undefined
  readonly remaining?: string | undefined
  readonly reset?: string | undefined
}

/**
 * The registry asked the client to slow down (`429`, `TOOMANYREQUESTS`).
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRequests extends Data.TaggedError("TooManyRequests")<
  Context & {
    readonly retryAfter?: Duration.Duration | undefined
    readonly rateLimit?: RateLimit | undefined
  }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Too many requests", this)
  }
}

/**
 * `n` out of the range the registry accepts for pagination.
 *
 * @since 0.1.0
 * @category errors
 */
export class PaginationNumberInvalid extends Data.TaggedError("PaginationNumberInvalid")<Context> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Invalid page size", this)
  }
}

/**
 * The registry failed on its side (a 5xx answer).
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryUnavailable extends Data.TaggedError("RegistryUnavailable")<
  Context & { readonly retryAfter?: Duration.Duration | undefined }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return describe("Registry unavailable", this)
  }
}

/**
 * Why a request did not complete at the transport level.
 *
 * @since 0.1.0
 * @category models
 */
export type TransportReason = "Transport" | "Timeout" | "InvalidUrl" | "Encode" | "Redirect"

/**
 * The request did not complete: connection refused or reset, a timeout, a bad URL.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Data.TaggedError("TransportError")<
  Context & { readonly reason: TransportReason }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<TransportReason, string> = {
      Transport: "the connection failed",
      Timeout: "the request timed out",
      InvalidUrl: "invalid URL",
      Encode: "the request body could not be sent",
      Redirect: "refused or too many redirects"
    }
    return describe(`Transport error: ${why[this.reason]}`, this)
  }
}

/**
 * Why an answer was not what the protocol allows.
 *
 * @since 0.1.0
 * @category models
 */
export type UnexpectedReason =
  | "Status"
  | "Body"
  | "Header"
  | "TooLarge"
  | "NotRegistry"
  | "Pagination"
  | "ForeignOrigin"

/**
 * An answer the protocol does not allow: an unexpected status, a body or header
 * that does not parse, a body over the size limit, a server that is not a V2
 * registry, an endless pagination, a `Link` or upload `Location` on another
 * origin or on plain http after https (`ForeignOrigin`: not followed, so that
 * neither credentials nor data leave the registry).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedResponse extends Data.TaggedError("UnexpectedResponse")<
  Context & { readonly reason: UnexpectedReason }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<UnexpectedReason, string> = {
      Status: "unexpected status",
      Body: "malformed response body",
      Header: "malformed response header",
      TooLarge: "response body too large",
      NotRegistry: "not a Docker Registry HTTP API V2 / OCI distribution endpoint",
      Pagination: "pagination did not end",
      ForeignOrigin: "the registry pointed to another origin or to plain http, which is not followed"
    }
    return describe(`Unexpected response: ${why[this.reason]}`, this)
  }
}

/**
 * Every error of effect-registry.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistryError =
  | Unauthorized
  | Denied
  | ManifestUnknown
  | BlobUnknown
  | NameUnknown
  | NameInvalid
  | TagInvalid
  | DigestInvalid
  | ReferenceInvalid
  | DigestMismatch
  | SizeMismatch
  | ManifestInvalid
  | ManifestBlobUnknown
  | ManifestUnverified
  | BlobUploadUnknown
  | BlobUploadInvalid
  | RangeInvalid
  | Unsupported
  | UploadNotResumable
  | TooManyRequests
  | PaginationNumberInvalid
  | RegistryUnavailable
  | TransportError
  | UnexpectedResponse

/**
 * @since 0.1.0
 * @category guards
 */
export const isRegistryError = (u: unknown): u is RegistryError => Predicate.hasProperty(u, TypeId)
