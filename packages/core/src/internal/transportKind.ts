/**
 * What failed on a connection, read structurally from an error and its `cause` chain (system,
 * undici and TLS error codes), and the sentence a `TransportError` message gives for each kind,
 * naming the option that fixes a misconfiguration. Public through `RegistryError.transportKind`,
 * `RegistryError.transportCode` and `RegistryError.TransportKind`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"

/**
 * See `RegistryError.TransportKind`.
 *
 * @since 0.1.0
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

/**
 * What a `TransportError` message says of a kind of failure on the connection to `url`.
 *
 * @since 0.1.0
 */
export const transportText = (kind: TransportKind, url: string): string => kindText[kind](url)

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
 * See `RegistryError.transportCode`.
 *
 * @since 0.1.0
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
