/**
 * Test certificates made with the `openssl` command line (node:crypto makes keys, not X.509 certificates).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { exec, which } from "./exec.js"
import { LaunchFailure } from "./failure.js"
import { readFile, writeFile } from "./files.js"

/** @internal */
export const installOpenssl = "apt-get install -y openssl"

/**
 * The absolute path of `openssl`, or a failure naming the command that installs it.
 *
 * @internal
 */
export const requireOpenssl = (openssl = "openssl"): Effect.Effect<string, LaunchFailure> =>
  Effect.flatMap(which(openssl), (found) =>
    found !== undefined
      ? Effect.succeed(found)
      : Effect.fail(
        new LaunchFailure({
          reason: "OpensslMissing",
          message: `\`${openssl}\` was not found; it makes the test certificates. Install it with: ${installOpenssl}`
        })
      ))

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

const serial = () => `0x${Crypto.randomBytes(8).toString("hex").replace(/^./, "1")}`

const run = (openssl: string, dir: string, args: ReadonlyArray<string>) =>
  exec(openssl, args, { cwd: dir, timeoutMs: 30_000, failureReason: "Certificates" })

/** @internal */
export interface TlsFiles {
  readonly caPem: string
  readonly certificatePem: string
  readonly certificatePath: string
  readonly keyPath: string
}

/**
 * A CA and a server certificate for 127.0.0.1 and localhost signed by it, written to `dir`.
 *
 * @internal
 */
export const makeTlsCertificates = (openssl: string, dir: string): Effect.Effect<TlsFiles, LaunchFailure> =>
  Effect.gen(function*() {
    const caConfig = Path.join(dir, "ca.cnf")
    const serverConfig = Path.join(dir, "server.cnf")
    const serverExt = Path.join(dir, "server.ext")
    yield* writeFile(
      caConfig,
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        "CN = effect-registry test CA",
        "[v3_ca]",
        "basicConstraints = critical,CA:TRUE",
        "keyUsage = critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier = hash",
        ""
      ].join("\n")
    )
    yield* writeFile(
      serverConfig,
      ["[req]", "distinguished_name = dn", "prompt = no", "[dn]", "CN = localhost", ""].join("\n")
    )
    yield* writeFile(
      serverExt,
      [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = IP:127.0.0.1,DNS:localhost",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid,issuer",
        ""
      ].join("\n")
    )
    yield* run(openssl, dir, [
      "req",
      "-x509",
      "-config",
      caConfig,
      "-extensions",
      "v3_ca",
      ...ecKey,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-set_serial",
      serial()
    ])
    yield* run(openssl, dir, [
      "req",
      "-new",
      "-config",
      serverConfig,
      ...ecKey,
      "-keyout",
      "server.key",
      "-out",
      "server.csr"
    ])
    yield* run(openssl, dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      serial(),
      "-days",
      "2",
      "-extfile",
      serverExt,
      "-out",
      "server.crt"
    ])
    const caPem = yield* readFile(Path.join(dir, "ca.crt"))
    const certificatePem = yield* readFile(Path.join(dir, "server.crt"))
    return {
      caPem,
      certificatePem,
      certificatePath: Path.join(dir, "server.crt"),
      keyPath: Path.join(dir, "server.key")
    }
  })

/** @internal */
export interface SigningCertificate {
  readonly certificatePem: string
  /** base64 (not url) of the certificate's DER, as the JWS `x5c` header wants it */
  readonly certificateDer: string
  readonly privateKey: Crypto.KeyObject
}

/**
 * A self-signed P-256 certificate and its key, for signing ES256 tokens.
 *
 * @internal
 */
export const makeSigningCertificate = (
  openssl: string,
  dir: string,
  commonName: string
): Effect.Effect<SigningCertificate, LaunchFailure> =>
  Effect.gen(function*() {
    const config = Path.join(dir, "signing.cnf")
    yield* writeFile(
      config,
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        `CN = ${commonName.replace(/[^A-Za-z0-9 ._-]/g, "_")}`,
        "[v3]",
        "basicConstraints = critical,CA:TRUE",
        "keyUsage = critical,digitalSignature,keyCertSign",
        "subjectKeyIdentifier = hash",
        ""
      ].join("\n")
    )
    yield* run(openssl, dir, [
      "req",
      "-x509",
      "-config",
      config,
      "-extensions",
      "v3",
      ...ecKey,
      "-keyout",
      "signing.key",
      "-out",
      "signing.crt",
      "-days",
      "2",
      "-set_serial",
      serial()
    ])
    const certificatePem = yield* readFile(Path.join(dir, "signing.crt"))
    const keyPem = yield* readFile(Path.join(dir, "signing.key"))
    return yield* Effect.try({
      try: () => ({
        certificatePem,
        certificateDer: new Crypto.X509Certificate(certificatePem).raw.toString("base64"),
        privateKey: Crypto.createPrivateKey(keyPem)
      }),
      catch: (cause) =>
        new LaunchFailure({ reason: "Certificates", message: "openssl wrote an unreadable certificate or key", cause })
    })
  })
