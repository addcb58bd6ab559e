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

// What a message shows of each field: enough to act on, never a whole hostile input.
const FieldLimit = 256
const DetailLimit = 2048
const EntriesShown = 5

const describe = (headline: string, self: Context): string => {
  const parts: Array<string> = [headline]
  const where: Array<string> = []
  if (self.repository !== undefined) where.push(`repository ${printable(self.repository, FieldLimit)}`)
  if (self.reference !== undefined) where.push(`reference ${printable(self.reference, FieldLimit)}`)
  if (self.digest !== undefined && self.digest !== self.reference) {
    where.push(`digest ${printable(self.digest, FieldLimit)}`)
  }
  if (where.length > 0) parts.push(`(${where.join(", ")})`)
  if (self.detail !== undefined && self.detail.length > 0) {
    parts.push(`: ${printable(self.detail, DetailLimit, { multiline: true })}`)
  }
  const all = self.errors ?? []
  const entries = all.slice(0, EntriesShown).map((e) =>
    printable(e.message.length > 0 ? `${e.code}: ${e.message}` : e.code, FieldLimit)
  )
  if (all.length > EntriesShown) entries.push(`${all.length - EntriesShown} more`)
  const tail: Array<string> = []
  if (self.status !== undefined) tail.push(`HTTP ${self.status}`)
  if (self.request !== undefined) tail.push(printable(self.request, 2 * FieldLimit))
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
    const scopes = this.scopes !== undefined && this.scopes.length > 0
      ? ` (scopes ${printable(this.scopes.join(" "), FieldLimit)})`
      : ""
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
    return describe(
      `Digest mismatch: expected ${printable(this.expected, FieldLimit)}, got ${printable(this.actual, FieldLimit)}`,
      this
    )
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
    const mt = this.mediaType !== undefined ? ` (${printable(this.mediaType, FieldLimit)})` : ""
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

/**
 * A blob upload from a one-shot stream failed in a way that needs the bytes
 * again, which a one-shot stream cannot give. `reason` says why the bytes were
 * needed again and `cause` holds the failure. Use a re-openable source
 * (`BlobSource.reopenable`, a file) to let the client restart the upload.
 *
 * @since 0.1.0
 * @category errors
 */
export class UploadNotResumable extends Data.TaggedError("UploadNotResumable")<
  Context & { readonly reason?: UploadNotResumableReason | undefined }
> {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<UploadNotResumableReason, string> = {
      RequestFailed: "a request carrying its bytes failed and they must be sent again",
      SessionLost: "the registry no longer knows the upload session",
      BytesLost: "the registry holds fewer bytes than were sent",
      StatusUnknown: "the registry did not say how many bytes of the upload it holds",
      SourceConsumed: "the source was already read"
    }
    const headline = this.reason !== undefined
      ? `Upload cannot be resumed: ${why[this.reason]}; a one-shot source cannot be read again ` +
        "(upload from a re-openable source, BlobSource.reopenable or a file, to let the client restart it)"
      : "Upload cannot be resumed"
    return describe(headline, this)
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
export type TransportKind =
  | "ConnectionRefused"
  | "NameNotResolved"
  | "HostUnreachable"
  | "TimedOut"
  | "ConnectionReset"
  | "ClosedBeforeAnswer"
  | "TlsUnknownCa"
  | "TlsNameMismatch"
  | "TlsExpired"
  | "Tls"
  | "PlainHttpOnTls"
  | "TlsOnPlainHttp"
  | "Other"

const plainHttpFix = "set `plainHttp: true` for this registry (CLI: `--plain-http`)"
const tlsFix = "trust its CA with `tls.ca` (CLI: `--ca-file <pem>`), or, only for a test registry, " +
  "skip verification with `tls.insecure` (CLI: `--insecure`)"

const kindText: Record<TransportKind, (url: string) => string> = {
  ConnectionRefused: (url) =>
    `connection refused by ${hostOf(url)}: nothing listens there; check that the registry is running ` +
    "and that the host and port are right",
  NameNotResolved: (url) => `the host name ${hostOf(url)} does not resolve; check its spelling and your DNS`,
  HostUnreachable: (url) => `no route to ${hostOf(url)}; check the address and your network`,
  TimedOut: (url) => `no answer from ${hostOf(url)} in time; check that it is reachable, or raise the timeout`,
  ConnectionReset: (url) => `the connection to ${hostOf(url)} broke`,
  ClosedBeforeAnswer: (url) =>
    `${hostOf(url)} closed the connection without answering` +
    (url.startsWith("http:")
      ? "; an https registry addressed over plain http does this: remove `plainHttp` (CLI: `--plain-http`)"
      : ""),
  TlsUnknownCa: (url) => `TLS: the certificate of ${hostOf(url)} is signed by an unknown CA; ${tlsFix}`,
  TlsNameMismatch: (url) =>
    `TLS: the certificate of ${hostOf(url)} is not for that host name; address the registry by a name ` +
    "its certificate holds (or set `tls.servername`), or, only for a test registry, skip verification with " +
    "`tls.insecure` (CLI: `--insecure`)",
  TlsExpired: (url) =>
    `TLS: the certificate of ${hostOf(url)} has expired or is not yet valid; renew it, check the clock, or, ` +
    "only for a test registry, skip verification with `tls.insecure` (CLI: `--insecure`)",
  Tls: (url) => `TLS handshake with ${hostOf(url)} failed`,
  PlainHttpOnTls: (url) =>
    `${hostOf(url)} answered in plain http on a TLS connection; if the registry speaks plain http, ${plainHttpFix}`,
  TlsOnPlainHttp: (url) =>
    `${hostOf(url)} speaks https and was addressed over plain http; remove \`plainHttp\` (CLI: \`--plain-http\`)`,
  Other: (url) => `the connection to ${hostOf(url)} failed`
}

function hostOf(url: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)
  return match === null ? "the registry" : match[1].replace(/^.*@/, "")
}

const kindByCode: ReadonlyMap<string, TransportKind> = new Map<string, TransportKind>([
  ["ECONNREFUSED", "ConnectionRefused"],
  ["ENOTFOUND", "NameNotResolved"],
  ["EAI_AGAIN", "NameNotResolved"],
  ["EAI_NONAME", "NameNotResolved"],
  ["EAI_FAIL", "NameNotResolved"],
  ["EHOSTUNREACH", "HostUnreachable"],
  ["ENETUNREACH", "HostUnreachable"],
  ["EHOSTDOWN", "HostUnreachable"],
  ["ENETDOWN", "HostUnreachable"],
  ["ETIMEDOUT", "TimedOut"],
  ["ESOCKETTIMEDOUT", "TimedOut"],
  ["UND_ERR_CONNECT_TIMEOUT", "TimedOut"],
  ["UND_ERR_HEADERS_TIMEOUT", "TimedOut"],
  ["UND_ERR_BODY_TIMEOUT", "TimedOut"],
  ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "TlsUnknownCa"],
  ["SELF_SIGNED_CERT_IN_CHAIN", "TlsUnknownCa"],
  ["DEPTH_ZERO_SELF_SIGNED_CERT", "TlsUnknownCa"],
  ["UNABLE_TO_GET_ISSUER_CERT", "TlsUnknownCa"],
  ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "TlsUnknownCa"],
  ["CERT_UNTRUSTED", "TlsUnknownCa"],
  ["ERR_TLS_CERT_ALTNAME_INVALID", "TlsNameMismatch"],
  ["HOSTNAME_MISMATCH", "TlsNameMismatch"],
  ["CERT_HAS_EXPIRED", "TlsExpired"],
  ["CERT_NOT_YET_VALID", "TlsExpired"],
  ["ERR_SSL_WRONG_VERSION_NUMBER", "PlainHttpOnTls"],
  ["ERR_SSL_PACKET_LENGTH_TOO_LONG", "PlainHttpOnTls"],
  ["ERR_SSL_HTTP_REQUEST", "PlainHttpOnTls"]
])

const closedCodes = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"])

const stringField = (u: object, key: string): string | undefined => {
  const value: unknown = Predicate.hasProperty(u, key) ? u[key] : undefined
  return typeof value === "string" ? value : undefined
}

const bytesRead = (u: object): number | undefined => {
  const socket: unknown = Predicate.hasProperty(u, "socket") ? u.socket : undefined
  const read: unknown = Predicate.hasProperty(socket, "bytesRead") ? socket.bytesRead : undefined
  return typeof read === "number" ? read : undefined
}

const kindOf = (u: object): TransportKind | undefined => {
  const code = stringField(u, "code")
  const message = stringField(u, "message") ?? ""
  if (
    /wrong version number|packet length too long|http request/i.test(message) && code !== undefined && (
      code === "EPROTO" || code.startsWith("ERR_SSL")
    )
  ) return "PlainHttpOnTls"
  if (code !== undefined) {
    const known = kindByCode.get(code)
    if (known !== undefined) return known
    if (closedCodes.has(code)) return bytesRead(u) === 0 ? "ClosedBeforeAnswer" : "ConnectionReset"
    if (code === "EPROTO" || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || code.includes("CERT")) {
      return "Tls"
    }
  }
  if (stringField(u, "name") === "TimeoutError" || stringField(u, "_tag") === "TimeoutException") return "TimedOut"
  return undefined
}

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
export const transportKind = (error: unknown): TransportKind => transportCode(error).kind

/**
 * {@link transportKind} and the error code it was read from.
 *
 * @since 0.1.0
 * @category utils
 */
export const transportCode = (error: unknown): { readonly kind: TransportKind; readonly code?: string } => {
  let current: unknown = error
  let first: string | undefined
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const code = stringField(current, "code")
    first ??= code
    const kind = kindOf(current)
    if (kind !== undefined) return code !== undefined ? { kind, code } : { kind }
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return first !== undefined ? { kind: "Other", code: first } : { kind: "Other" }
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
export class TransportError extends Data.TaggedError("TransportError")<
  Context & {
    readonly reason: TransportReason
    readonly kind?: TransportKind | undefined
    /** The URL of the request, without user info, query or fragment. */
    readonly url?: string | undefined
    /** The system, undici or TLS error code underneath (`ECONNREFUSED`, `CERT_HAS_EXPIRED`...). */
    readonly code?: string | undefined
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
    const why: Record<TransportReason, string> = {
      Transport: "the connection failed",
      Timeout: "the request timed out",
      InvalidUrl: "invalid URL",
      Encode: "the request body could not be sent",
      Redirect: "refused or too many redirects"
    }
    const kind = this.kind !== undefined && this.kind !== "Other" && this.url !== undefined
      ? `: ${kindText[this.kind](this.url)}`
      : ""
    const code = this.code !== undefined ? ` (${this.code})` : ""
    return describe(`Transport error: ${why[this.reason]}${kind}${code}`, this)
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

// C0 controls (ESC among them) but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates.
const Unprintable = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const Breaks = /[\t\n]/g

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
export const printable = (
  s: string,
  max: number,
  options?: { readonly multiline?: boolean | undefined }
): string => {
  let cut = s
  let suffix = ""
  if (s.length > max) {
    const end = Math.max(0, max)
    // do not split a surrogate pair
    const at = end > 0 && /[\ud800-\udbff]/.test(s.charAt(end - 1)) ? end - 1 : end
    cut = s.slice(0, at)
    suffix = `… (${s.length - at} more characters)`
  }
  const clean = cut.replace(Unprintable, "\uFFFD")
  return (options?.multiline === true ? clean : clean.replace(Breaks, " ")) + suffix
}
