import * as RegistryError from "@effect-registry/core/RegistryError"
import * as RetryPolicy from "@effect-registry/core/RetryPolicy"
import { assert, describe, it } from "@effect/vitest"

// The classification of connection failures reads error codes structurally (no node: imports in core).
describe("RegistryError.transportKind", () => {
  it("reads the system, undici and TLS codes through cause chains", () => {
    const cases: ReadonlyArray<readonly [unknown, RegistryError.TransportKind]> = [
      [{ code: "ECONNREFUSED" }, "ConnectionRefused"],
      [{ cause: { code: "ENOTFOUND" } }, "NameNotResolved"],
      [{ cause: { cause: { code: "EAI_AGAIN" } } }, "NameNotResolved"],
      [{ code: "EHOSTUNREACH" }, "HostUnreachable"],
      [{ code: "UND_ERR_CONNECT_TIMEOUT" }, "TimedOut"],
      [{ code: "ETIMEDOUT" }, "TimedOut"],
      [{ _tag: "TimeoutException" }, "TimedOut"],
      [{ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }, "TlsUnknownCa"],
      [{ code: "SELF_SIGNED_CERT_IN_CHAIN" }, "TlsUnknownCa"],
      [{ code: "DEPTH_ZERO_SELF_SIGNED_CERT" }, "TlsUnknownCa"],
      [{ code: "ERR_TLS_CERT_ALTNAME_INVALID" }, "TlsNameMismatch"],
      [{ code: "CERT_HAS_EXPIRED" }, "TlsExpired"],
      [{ code: "ERR_SSL_WRONG_VERSION_NUMBER" }, "PlainHttpOnTls"],
      [{ code: "EPROTO", message: "...:ssl3_get_record:wrong version number:..." }, "PlainHttpOnTls"],
      [{ code: "EPROTO", message: "handshake failure" }, "Tls"],
      [{ code: "UND_ERR_SOCKET", socket: { bytesRead: 0 } }, "ClosedBeforeAnswer"],
      [{ code: "UND_ERR_SOCKET", socket: { bytesRead: 512 } }, "ConnectionReset"],
      [{ code: "ECONNRESET" }, "ConnectionReset"],
      [{ code: "EWHATEVER" }, "Other"],
      [new Error("no code"), "Other"],
      ["a string", "Other"]
    ]
    for (const [error, kind] of cases) {
      assert.strictEqual(RegistryError.transportKind(error), kind, JSON.stringify(error))
    }
    assert.deepStrictEqual(RegistryError.transportCode({ cause: { code: "CERT_HAS_EXPIRED" } }), {
      kind: "TlsExpired",
      code: "CERT_HAS_EXPIRED"
    })
  })

  it("messages name the fix; certificates and protocol mismatches are not retried", () => {
    const error = (kind: RegistryError.TransportKind, url = "https://registry.test:5000/v2/") =>
      new RegistryError.TransportError({ reason: "Transport", kind, url, request: `GET ${url}` })
    assert.include(error("TlsExpired").message, "has expired")
    assert.include(error("TlsExpired").message, "--insecure")
    assert.include(error("NameNotResolved").message, "registry.test:5000 does not resolve")
    assert.include(error("ClosedBeforeAnswer", "http://registry.test/v2/").message, "--plain-http")
    assert.notInclude(error("ClosedBeforeAnswer").message, "--plain-http")
    assert.isFalse(RetryPolicy.isTransient(error("TlsUnknownCa")))
    assert.isFalse(RetryPolicy.isTransient(error("PlainHttpOnTls")))
    assert.isTrue(RetryPolicy.isTransient(error("ConnectionReset")))
    assert.isTrue(RetryPolicy.isTransient(error("ConnectionRefused")))
  })
})

describe("UploadNotResumable", () => {
  it("says why the bytes were needed again, and only what happened", () => {
    const lost = new RegistryError.UploadNotResumable({ reason: "SessionLost" })
    assert.include(lost.message, "no longer knows the upload session")
    const failed = new RegistryError.UploadNotResumable({ reason: "RequestFailed" })
    assert.include(failed.message, "a request carrying its bytes failed")
    assert.notInclude(failed.message, "session")
    for (const e of [lost, failed]) assert.include(e.message, "re-openable source")
  })
})
