/**
 * Every failure of effect-registry as a tagged error.
 *
 * Each error carries what a person needs to act on it: the repository, the
 * reference or digest, the HTTP status, and the registry's own `errors[]`
 * entries when it sent any. The `message` is built from those fields and never
 * contains credentials or tokens.
 *
 * Every class is declared once, as `class X extends RegistryErrorBase("X", headline) {}`:
 * the base sets `_tag`, the `TypeId` brand, and a `message` getter made of the class's
 * headline and the fields (`internal/errorText.ts`). It is built on `Data.TaggedError`, not
 * `Schema.TaggedError`: the errors hold non-serializable values (a `cause` from the platform,
 * a `Duration`), construction must not validate (and so cannot fail) on the error path, and
 * the shape of an error when logged (`util.inspect`, `JSON.stringify`) stays the plain fields.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { describe, FieldLimit, printable as printableText } from "./internal/errorText.js"
import * as transport from "./internal/transportKind.js"

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

/** What `RegistryErrorBase` returns: the class of the errors tagged `Tag` with the fields `A`. */
type RegistryErrorClass<Tag extends string, A extends Context> = new(
  args: { readonly [P in keyof A as P extends "_tag" ? never : P]: A[P] }
) => Cause.YieldableError & { readonly _tag: Tag; readonly [TypeId]: TypeId } & Readonly<A>

/**
 * The one way to make a registry error class: `Data.TaggedError(tag)` over the fields `A`
 * (which `headline`'s parameter declares), branded with `TypeId`, whose `message` is the
 * headline followed by the fields that say where and why (repository, reference, digest,
 * detail, status, request, the registry's `errors[]`), outside text made printable.
 */
const RegistryErrorBase = <Tag extends string, A extends Context = Context>(
  tag: Tag,
  headline: (self: A) => string
): RegistryErrorClass<Tag, A> => {
  // `Data.TaggedError`'s constructor assigns the fields: an instance holds `A`, which the type
  // system cannot see through a generic base class (hence the two assertions).
  const text = headline as (self: Context) => string
  class TaggedRegistryError extends Data.TaggedError(tag)<Context> {
    readonly [TypeId]: TypeId = TypeId
    override get message(): string {
      return describe(text(this), this)
    }
  }
  return TaggedRegistryError as unknown as RegistryErrorClass<Tag, A>
}

/** A headline that does not depend on the fields (`A`: the fields of the class). */
const fixed = <A extends Context = Context>(text: string) => (_self: A): string => text

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

const unauthorizedText: Record<UnauthorizedReason, string> = {
  MissingCredentials: "the registry requires credentials and none are configured",
  RejectedCredentials: "the credentials were rejected",
  InsufficientScope: "the token does not grant the required access",
  InvalidToken: "the registry rejected the token",
  UnsupportedChallenge: "the registry asked for an unsupported authentication scheme",
  InsecureRealm: "refusing a plain-http token realm for an https registry"
}

/**
 * The registry (or its token server) refused to authenticate the request.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends RegistryErrorBase(
  "Unauthorized",
  (
    self: Context & {
      readonly reason: UnauthorizedReason
      /** The `WWW-Authenticate` challenge, without any secret. */
      readonly challenge?: string | undefined
      /** The scopes that were asked for. */
      readonly scopes?: ReadonlyArray<string> | undefined
    }
  ) =>
    `Unauthorized: ${unauthorizedText[self.reason]}` +
    (self.scopes !== undefined && self.scopes.length > 0
      ? ` (scopes ${printableText(self.scopes.join(" "), FieldLimit)})`
      : "")
) {}

/**
 * The registry understood the credentials and refused access (`DENIED`, or 403).
 *
 * @since 0.1.0
 * @category errors
 */
export class Denied extends RegistryErrorBase("Denied", fixed("Access denied")) {}

/**
 * @since 0.1.0
 * @category errors
 */
export class ManifestUnknown extends RegistryErrorBase("ManifestUnknown", fixed("Manifest unknown")) {}

/**
 * @since 0.1.0
 * @category errors
 */
export class BlobUnknown extends RegistryErrorBase("BlobUnknown", fixed("Blob unknown")) {}

/**
 * @since 0.1.0
 * @category errors
 */
export class NameUnknown extends RegistryErrorBase("NameUnknown", fixed("Repository unknown")) {}

/**
 * A repository name that does not follow the distribution grammar.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameInvalid extends RegistryErrorBase("NameInvalid", fixed("Invalid repository name")) {}

/**
 * @since 0.1.0
 * @category errors
 */
export class TagInvalid extends RegistryErrorBase("TagInvalid", fixed("Invalid tag")) {}

/**
 * A malformed digest, an unknown algorithm, or a digest the registry refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestInvalid extends RegistryErrorBase("DigestInvalid", fixed("Invalid digest")) {}

/**
 * A malformed image reference (`registry/name:tag@digest`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ReferenceInvalid extends RegistryErrorBase("ReferenceInvalid", fixed("Invalid image reference")) {}

/**
 * The bytes do not hash to the digest they were asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestMismatch extends RegistryErrorBase(
  "DigestMismatch",
  (self: Context & { readonly expected: string; readonly actual: string }) =>
    `Digest mismatch: expected ${printableText(self.expected, FieldLimit)}, got ${
      printableText(self.actual, FieldLimit)
    }`
) {}

/**
 * The number of bytes differs from the size that was announced.
 *
 * @since 0.1.0
 * @category errors
 */
export class SizeMismatch extends RegistryErrorBase(
  "SizeMismatch",
  (self: Context & { readonly expected: number; readonly actual: number }) =>
    `Size mismatch: expected ${self.expected} bytes, got ${self.actual}`
) {}

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

const manifestInvalidText: Record<ManifestInvalidReason, string> = {
  TooLarge: "manifest too large",
  Encoding: "manifest is not valid UTF-8",
  Json: "manifest is not valid JSON",
  Schema: "manifest does not match its schema",
  MediaType: "unknown or inconsistent manifest media type",
  Registry: "the registry refused the manifest"
}

/**
 * A manifest that is not valid: too large, not UTF-8, not JSON, not of its schema,
 * or refused by the registry (`MANIFEST_INVALID`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestInvalid extends RegistryErrorBase(
  "ManifestInvalid",
  (self: Context & { readonly reason: ManifestInvalidReason; readonly mediaType?: string | undefined }) =>
    `Invalid manifest: ${manifestInvalidText[self.reason]}` +
    (self.mediaType !== undefined ? ` (${printableText(self.mediaType, FieldLimit)})` : "")
) {}

/**
 * A manifest references a blob or child manifest the registry does not have.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestBlobUnknown
  extends RegistryErrorBase("ManifestBlobUnknown", fixed("Manifest references an unknown blob"))
{}

/**
 * A signed schema1 manifest whose signature does not verify.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestUnverified
  extends RegistryErrorBase("ManifestUnverified", fixed("Manifest signature does not verify"))
{}

/**
 * The upload session is unknown to the registry (cancelled, expired, or never existed).
 *
 * @since 0.1.0
 * @category errors
 */
export class BlobUploadUnknown extends RegistryErrorBase("BlobUploadUnknown", fixed("Upload session unknown")) {}

/**
 * The registry refused a request on the upload session (a stale Location, a wrong offset).
 *
 * @since 0.1.0
 * @category errors
 */
export class BlobUploadInvalid
  extends RegistryErrorBase("BlobUploadInvalid", fixed("Upload session refused the request"))
{}

/**
 * A chunk was sent out of order (`416`), or a `Range` could not be satisfied.
 *
 * @since 0.1.0
 * @category errors
 */
export class RangeInvalid extends RegistryErrorBase("RangeInvalid", fixed("Range not satisfiable")) {}

/**
 * The registry does not support the operation (`UNSUPPORTED`, `405`), such as a
 * delete on a registry with deletes disabled.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends RegistryErrorBase("Unsupported", fixed("Operation not supported by the registry")) {}

/**
 * Why an upload needed its bytes again.
 *
 * - `RequestFailed`: a request carrying bytes failed (the `cause` says how: a
 *   broken connection, a timeout, a 5xx, a 401), so its bytes must be sent again.
 * - `SessionLost`: the registry no longer knows the upload session.
 * - `BytesLost`: the registry holds fewer bytes than were sent.
 * - `StatusUnknown`: the registry did not say how many bytes of the session it holds.
 * - `SourceConsumed`: the source was already read, before the bytes were needed.
 *
 * @since 0.1.0
 * @category models
 */
export type UploadNotResumableReason =
  | "RequestFailed"
  | "SessionLost"
  | "BytesLost"
  | "StatusUnknown"
  | "SourceConsumed"

const uploadNotResumableText: Record<UploadNotResumableReason, string> = {
  RequestFailed: "a request carrying its bytes failed and they must be sent again",
  SessionLost: "the registry no longer knows the upload session",
  BytesLost: "the registry holds fewer bytes than were sent",
  StatusUnknown: "the registry did not say how many bytes of the upload it holds",
  SourceConsumed: "the source was already read"
}

/**
 * A blob upload from a one-shot stream failed in a way that needs the bytes
 * again, which a one-shot stream cannot give. `reason` says why the bytes were
 * needed again and `cause` holds the failure. Use a re-openable source
 * (`BlobSource.reopenable`, a file) to let the client restart the upload.
 *
 * @since 0.1.0
 * @category errors
 */
export class UploadNotResumable extends RegistryErrorBase(
  "UploadNotResumable",
  (self: Context & { readonly reason?: UploadNotResumableReason | undefined }) =>
    self.reason !== undefined
      ? `Upload cannot be resumed: ${uploadNotResumableText[self.reason]}; a one-shot source cannot be read again ` +
        "(upload from a re-openable source, BlobSource.reopenable or a file, to let the client restart it)"
      : "Upload cannot be resumed"
) {}

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
export class TooManyRequests extends RegistryErrorBase(
  "TooManyRequests",
  fixed<
    Context & {
      readonly retryAfter?: Duration.Duration | undefined
      readonly rateLimit?: RateLimit | undefined
    }
  >("Too many requests")
) {}

/**
 * `n` out of the range the registry accepts for pagination.
 *
 * @since 0.1.0
 * @category errors
 */
export class PaginationNumberInvalid extends RegistryErrorBase("PaginationNumberInvalid", fixed("Invalid page size")) {}

/**
 * The registry failed on its side (a 5xx answer).
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryUnavailable extends RegistryErrorBase(
  "RegistryUnavailable",
  fixed<Context & { readonly retryAfter?: Duration.Duration | undefined }>("Registry unavailable")
) {}

/**
 * Why a request did not complete at the transport level.
 *
 * @since 0.1.0
 * @category models
 */
export type TransportReason = "Transport" | "Timeout" | "InvalidUrl" | "Encode" | "Redirect"

/**
 * What exactly failed on the connection, from the system or TLS error code
 * underneath (see {@link transportKind}).
 *
 * - `ConnectionRefused`: nothing listens at that host and port.
 * - `NameNotResolved`: the host name does not resolve (or DNS is unreachable).
 * - `HostUnreachable`: no route to the host.
 * - `TimedOut`: connecting or waiting for an answer took too long.
 * - `ConnectionReset`: the connection broke after the exchange had started.
 * - `ClosedBeforeAnswer`: the server closed the connection without sending a byte
 *   (what an https server does when it is addressed over plain http).
 * - `TlsUnknownCa`: the certificate chains to no trusted CA (self-signed, a private CA).
 * - `TlsNameMismatch`: the certificate is not for this host name.
 * - `TlsExpired`: the certificate has expired or is not yet valid.
 * - `Tls`: another TLS failure.
 * - `PlainHttpOnTls`: an `https` URL, and the server answered in plain http.
 * - `TlsOnPlainHttp`: an `http` URL, and the server said it only speaks https.
 * - `Other`: anything else (the `code` field holds the code, if any).
 *
 * @since 0.1.0
 * @category models
 */
export type TransportKind = transport.TransportKind

/**
 * What failed on a connection, from an error and its `cause` chain (eight
 * levels at most): the first system, undici or TLS error code that tells
 * (`ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`,
 * `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`,
 * `CERT_HAS_EXPIRED`, `ERR_SSL_WRONG_VERSION_NUMBER`...), or `Other`. Reads the
 * errors structurally, on any platform.
 *
 * @example
 * ```ts
 * import { RegistryError } from "@effect-registry/core"
 *
 * RegistryError.transportKind({ code: "ECONNREFUSED" }) // "ConnectionRefused"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const transportKind = (error: unknown): TransportKind => transport.transportCode(error).kind

/**
 * {@link transportKind} and the error code it was read from.
 *
 * @since 0.1.0
 * @category utils
 */
export const transportCode: (error: unknown) => { readonly kind: TransportKind; readonly code?: string } =
  transport.transportCode

const transportReasonText: Record<TransportReason, string> = {
  Transport: "the connection failed",
  Timeout: "the request timed out",
  InvalidUrl: "invalid URL",
  Encode: "the request body could not be sent",
  Redirect: "refused or too many redirects"
}

/**
 * The request did not complete: connection refused or reset, a timeout, a TLS
 * failure, a bad URL. `kind` says what failed on the connection, `url` which
 * URL (without its query), `code` the system or TLS error code; the message
 * names the option that fixes a misconfiguration. `cause` holds a copy of the
 * underlying error without the request (never its headers).
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends RegistryErrorBase(
  "TransportError",
  (
    self: Context & {
      readonly reason: TransportReason
      readonly kind?: TransportKind | undefined
      /** The URL of the request, without user info, query or fragment. */
      readonly url?: string | undefined
      /** The system, undici or TLS error code underneath (`ECONNREFUSED`, `CERT_HAS_EXPIRED`...). */
      readonly code?: string | undefined
    }
  ) =>
    `Transport error: ${transportReasonText[self.reason]}` +
    (self.kind !== undefined && self.kind !== "Other" && self.url !== undefined
      ? `: ${transport.transportText(self.kind, self.url)}`
      : "") +
    (self.code !== undefined ? ` (${self.code})` : "")
) {}

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

const unexpectedText: Record<UnexpectedReason, string> = {
  Status: "unexpected status",
  Body: "malformed response body",
  Header: "malformed response header",
  TooLarge: "response body too large",
  NotRegistry: "not a Docker Registry HTTP API V2 / OCI distribution endpoint",
  Pagination: "pagination did not end",
  ForeignOrigin: "the registry pointed to another origin or to plain http, which is not followed"
}

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
export class UnexpectedResponse extends RegistryErrorBase(
  "UnexpectedResponse",
  (self: Context & { readonly reason: UnexpectedReason }) => `Unexpected response: ${unexpectedText[self.reason]}`
) {}

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
 * Every error an answer of the registry can be mapped to, whatever the route
 * (`RegistryClient.ResponseError`; each operation fails with a narrower union).
 *
 * @since 0.1.0
 * @category errors
 */
export type ResponseError =
  | Unauthorized
  | Denied
  | ManifestUnknown
  | BlobUnknown
  | NameUnknown
  | NameInvalid
  | TagInvalid
  | DigestInvalid
  | ManifestInvalid
  | ManifestBlobUnknown
  | ManifestUnverified
  | BlobUploadUnknown
  | BlobUploadInvalid
  | RangeInvalid
  | Unsupported
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

/**
 * Text from outside (a registry's answer, an input being parsed) made safe to print on a terminal or in a log
 * line, and bounded: every control character (escape sequences included) and bidirectional override becomes
 * `\uFFFD`, newlines and tabs become spaces unless `multiline`, and text longer than `max` characters is cut,
 * saying how much was left out. Every error message of effect-registry shows outside text only through it.
 *
 * @example
 * ```ts
 * import { RegistryError } from "@effect-registry/core"
 *
 * RegistryError.printable("v1\u001b[2J", 64) // "v1\uFFFD[2J"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const printable: (
  s: string,
  max: number,
  options?: { readonly multiline?: boolean | undefined }
) => string = printableText

// ---------------------------------------------------------------------------------------------
// Unions by tag: an operation's error union and its runtime check, both from one list of tags.
//
//   const GetManifestTags = ["Unauthorized", "Denied", "ManifestUnknown"] as const
//   type GetManifestError = RegistryError.ByTag<(typeof GetManifestTags)[number]>
//   const isGetManifestError = RegistryError.isOneOf(GetManifestTags)
// ---------------------------------------------------------------------------------------------

/**
 * The `_tag` of every registry error.
 *
 * @since 0.1.0
 * @category models
 */
export type Tag = RegistryError["_tag"]

/**
 * The registry errors whose `_tag` is one of `T`.
 *
 * @since 0.1.0
 * @category models
 */
export type ByTag<T extends Tag> = Extract<RegistryError, { readonly _tag: T }>

/**
 * A guard for the registry errors whose `_tag` is one of `tags`: `isOneOf(tags)(u)` holds when `u` is
 * a registry error ({@link isRegistryError}) of one of those tags, and narrows `u` to `ByTag<T>`.
 *
 * @example
 * ```ts
 * import { RegistryError } from "@effect-registry/core"
 *
 * const isMissing = RegistryError.isOneOf(["ManifestUnknown", "NameUnknown"])
 * isMissing(new RegistryError.ManifestUnknown({ reference: "latest" })) // true
 * isMissing(new RegistryError.Denied({})) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isOneOf = <const T extends Tag>(tags: ReadonlyArray<T>): (u: unknown) => u is ByTag<T> => {
  const set: ReadonlySet<string> = new Set(tags)
  return (u: unknown): u is ByTag<T> => isRegistryError(u) && set.has(u._tag)
}
