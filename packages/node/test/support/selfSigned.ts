import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * A self-signed certificate made with openssl, whose subjectAltName is `san` (e.g. `IP:127.0.0.1`), in a temp dir
 * removed when the scope closes.
 */
export const selfSigned = (san: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "self-signed-"))
      ChildProcess.execFileSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=effect-registry test",
        "-addext",
        `subjectAltName=${san}`
      ], { stdio: "ignore", timeout: 30_000 })
      return {
        dir,
        key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
        cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8")
      }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** A self-signed certificate for 127.0.0.1 (see `selfSigned`). */
export const selfSignedCertificate = selfSigned("IP:127.0.0.1")
