import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * A self-signed certificate for 127.0.0.1, made with openssl in a temporary directory that is removed
 * when the scope closes. Trust `cert` as the CA of a client to talk to a `node:https` server using both.
 */
export const selfSignedCertificate = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "self-signed-"))
    const key = path.join(dir, "key.pem")
    const cert = path.join(dir, "cert.pem")
    const subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    ChildProcess.execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", ...subject],
      { stdio: "ignore", timeout: 30_000 }
    )
    return { dir, key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(cert, "utf8") }
  }),
  ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)
