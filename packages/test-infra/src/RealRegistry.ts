/**
 * Starts Debian's `docker-registry` (distribution 2.8) for integration tests: a scoped resource that writes a
 * config to a fresh temp dir, runs the registry on a free loopback port in its own process group, waits until
 * `GET /v2/` answers, and on scope close stops the whole process group and removes the temp dir.
 *
 * Modes: `anonymous`, `basic` (htpasswd with bcrypt lines), `token` (against a {@link TokenServer} started first),
 * `tls` (a CA and a server certificate for 127.0.0.1 and localhost). Variants: relative URLs, deletes disabled,
 * schema1 disabled; `tls: true` adds TLS to the basic and token modes too.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { installOpenssl, makeTlsCertificates, requireOpenssl } from "./internal/certs.js"
import { which } from "./internal/exec.js"
import { type FailureReason, LaunchFailure } from "./internal/failure.js"
import { makeDir, scopedTempDir, writeFile } from "./internal/files.js"
import { htpasswd } from "./internal/htpasswd.js"
import { withLiveClock } from "./internal/liveClock.js"
import { freePort } from "./internal/ports.js"
import { probeStatus } from "./internal/probe.js"
import { type ManagedProcess, spawnScoped } from "./internal/process.js"
import { render } from "./internal/registryConfig.js"
import * as TokenServer from "./TokenServer.js"

/**
 * The command that installs the registry on Debian and Ubuntu.
 *
 * @since 0.1.0
 * @category constants
 */
export const installCommand = "apt-get update && apt-get install -y docker-registry"

/**
 * The command that installs `openssl` (needed for the `tls` and `token` modes).
 *
 * @since 0.1.0
 * @category constants
 */
export const installOpensslCommand = installOpenssl

/**
 * How clients authenticate to the registry (`tls` is the anonymous mode over https).
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "anonymous" | "basic" | "token" | "tls"

/**
 * A registry user (Basic mode) or token-server user (token mode).
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly username: string
  readonly password: string
}

/**
 * Options every mode accepts.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /** the registry executable: a path, or a name looked up in `searchPath`; default `docker-registry` */
  readonly binary?: string | undefined
  /** the directories (`PATH` syntax) where a bare `binary` name is looked up; default `$PATH` */
  readonly searchPath?: string | undefined
  /** the `openssl` command (tls and token modes); default `openssl` */
  readonly openssl?: string | undefined
  /** serve https with a generated CA (always on in `tls` mode) */
  readonly tls?: boolean | undefined
  /** `http.relativeurls`; default false */
  readonly relativeUrls?: boolean | undefined
  /** `storage.delete.enabled`; default true */
  readonly deleteEnabled?: boolean | undefined
  /** `compatibility.schema1.enabled`; default true */
  readonly schema1Enabled?: boolean | undefined
  /** `log.level`; default `warn` (output is captured, never printed) */
  readonly logLevel?: "error" | "warn" | "info" | "debug" | undefined
  /** keep the access log in the captured output; default true */
  readonly accessLog?: boolean | undefined
  /** how many characters of output to keep; default 64 KiB */
  readonly logLimit?: number | undefined
  /** readiness polls of `GET /v2/`, 100 ms apart; default 150 */
  readonly readyAttempts?: number | undefined
  /** fresh ports to try when the chosen one was taken meanwhile; default 5 */
  readonly portAttempts?: number | undefined
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export type Options =
  | CommonOptions & { readonly mode?: "anonymous" | "tls" | undefined }
  | CommonOptions & {
    readonly mode: "basic"
    readonly users: ReadonlyArray<User>
    /** the Basic realm; default `effect-registry` */
    readonly realm?: string | undefined
  }
  | CommonOptions & {
    readonly mode: "token"
    /** users the token server accepts */
    readonly users?: ReadonlyArray<User> | undefined
    /** everything else the token server takes (policy, anonymous pull, lifetime, POST refusal...) */
    readonly tokenServer?: Omit<TokenServer.Options, "users" | "openssl"> | undefined
  }

/**
 * A running registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  readonly mode: Mode
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` */
  readonly url: string
  /** `127.0.0.1:<port>` */
  readonly host: string
  readonly port: number
  readonly tls: boolean
  /** the CA that signed the server certificate (PEM), when TLS is on */
  readonly caPem: string | undefined
  readonly users: ReadonlyArray<User>
  /** the token server, in token mode */
  readonly tokenServer: TokenServer.Running | undefined
  readonly relativeUrls: boolean
  readonly deleteEnabled: boolean
  readonly schema1Enabled: boolean
  /** the temp dir holding the config, certificates and storage; removed on scope close */
  readonly directory: string
  /** `storage.filesystem.rootdirectory` */
  readonly rootDirectory: string
  readonly configPath: string
  /** the registry's pid (also its process group id) */
  readonly pid: number
  /** the last part of the registry's stdout and stderr */
  readonly logs: Effect.Effect<string>
}

/**
 * The `reason` of a {@link RealRegistryError}.
 *
 * @since 0.1.0
 * @category errors
 */
export type RealRegistryErrorReason = FailureReason | "TokenServer"

/**
 * Why the registry could not start. `message` names the install command when a program is missing, and carries
 * the registry's captured output when it started and then failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class RealRegistryError extends Data.TaggedError("RealRegistryError")<{
  readonly reason: RealRegistryErrorReason
  readonly message: string
  readonly logs?: string | undefined
  readonly cause?: unknown
}> {}

/**
 * The running registry of a suite.
 *
 * @since 0.1.0
 * @category tags
 */
export class RealRegistry extends Context.Tag("@effect-registry/test-infra/RealRegistry")<RealRegistry, Running>() {}

const fromFailure = (failure: LaunchFailure, logs?: string): RealRegistryError =>
  new RealRegistryError({
    reason: failure.reason,
    message: logs === undefined || logs.length === 0
      ? failure.message
      : `${failure.message}\n--- docker-registry output ---\n${logs}`,
    logs,
    cause: failure.cause
  })

const readyInterval = Duration.millis(100)

const waitReady = (
  process: ManagedProcess,
  url: string,
  ca: string | undefined,
  attempts: number
): Effect.Effect<void, LaunchFailure> => {
  const loop = (left: number): Effect.Effect<void, LaunchFailure> =>
    Effect.gen(function*() {
      const exit = process.exit()
      if (exit !== undefined) {
        return yield* new LaunchFailure({
          reason: "Exited",
          message: `docker-registry exited during start (code ${exit.code}, signal ${exit.signal})`
        })
      }
      const status = yield* probeStatus(`${url}/v2/`, { ca, timeoutMs: 1000 })
      if (status === 200 || status === 401) return
      if (left <= 1) {
        return yield* new LaunchFailure({
          reason: "StartTimeout",
          message: `docker-registry did not answer GET ${url}/v2/ after ${attempts} attempts` +
            (status === undefined ? "" : ` (last status ${status})`)
        })
      }
      yield* Effect.sleep(readyInterval)
      return yield* loop(left - 1)
    })
  return loop(Math.max(1, attempts))
}

const modeOf = (options: Options): Mode => options.mode ?? "anonymous"

/**
 * Starts a registry; it stops (process group killed, temp dir removed) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { RealRegistry } from "@effect-registry/test-infra"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* RealRegistry.make({ mode: "basic", users: [{ username: "alice", password: "secret" }] })
 *   return registry.url // http://127.0.0.1:<port>
 * }).pipe(Effect.scoped)
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<Running, RealRegistryError, Scope.Scope> =>
  Effect.gen(function*() {
    const mode = modeOf(options)
    const tls = mode === "tls" || options.tls === true
    const relativeUrls = options.relativeUrls ?? false
    const deleteEnabled = options.deleteEnabled ?? true
    const schema1Enabled = options.schema1Enabled ?? true
    const command = options.binary ?? "docker-registry"

    const binary = yield* which(command, options.searchPath)
    if (binary === undefined) {
      return yield* new RealRegistryError({
        reason: "BinaryMissing",
        message: `\`${command}\` was not found${
          command.includes("/") ? "" : " on PATH"
        }; the integration tests need Debian's docker-registry (distribution 2.8). Install it with: ${installCommand}`
      })
    }
    const openssl = tls ? yield* requireOpenssl(options.openssl).pipe(Effect.mapError((e) => fromFailure(e))) : ""

    const directory = yield* scopedTempDir("effect-registry-").pipe(Effect.mapError((e) => fromFailure(e)))
    const rootDirectory = Path.join(directory, "storage")
    const configPath = Path.join(directory, "config.yml")
    yield* makeDir(rootDirectory).pipe(Effect.mapError((e) => fromFailure(e)))

    let tlsFiles: { readonly certificate: string; readonly key: string } | undefined
    let caPem: string | undefined
    if (tls) {
      const tlsDir = Path.join(directory, "tls")
      yield* makeDir(tlsDir).pipe(Effect.mapError((e) => fromFailure(e)))
      const certs = yield* makeTlsCertificates(openssl, tlsDir).pipe(Effect.mapError((e) => fromFailure(e)))
      tlsFiles = { certificate: certs.certificatePath, key: certs.keyPath }
      caPem = certs.caPem
    }

    let users: ReadonlyArray<User> = []
    let htpasswdConfig: { readonly realm: string; readonly path: string } | undefined
    let tokenConfig:
      | { readonly realm: string; readonly service: string; readonly issuer: string; readonly rootCertBundle: string }
      | undefined
    let tokenServer: TokenServer.Running | undefined
    if (options.mode === "basic") {
      users = options.users
      const path = Path.join(directory, "htpasswd")
      const content = yield* htpasswd(users).pipe(Effect.mapError((e) => fromFailure(e)))
      yield* writeFile(path, content).pipe(Effect.mapError((e) => fromFailure(e)))
      htpasswdConfig = { realm: options.realm ?? "effect-registry", path }
    } else if (options.mode === "token") {
      users = options.users ?? []
      tokenServer = yield* TokenServer.make({ ...options.tokenServer, users, openssl: options.openssl }).pipe(
        Effect.mapError((e) =>
          new RealRegistryError({
            reason: e.reason === "OpensslMissing" ? e.reason : "TokenServer",
            message: e.message,
            cause: e
          })
        )
      )
      const rootCertBundle = Path.join(directory, "token-root.crt")
      yield* writeFile(rootCertBundle, tokenServer.certificatePem).pipe(Effect.mapError((e) => fromFailure(e)))
      tokenConfig = {
        realm: tokenServer.realm,
        service: tokenServer.service,
        issuer: tokenServer.issuer,
        rootCertBundle
      }
    }

    // REGISTRY_* variables override the config file: keep the developer's environment out.
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith("REGISTRY_")) env[key] = value
    }

    const attempt = Effect.gen(function*() {
      const port = yield* freePort.pipe(Effect.mapError((e) => fromFailure(e)))
      const config = render({
        port,
        rootDirectory,
        secret: Crypto.randomBytes(24).toString("hex"),
        logLevel: options.logLevel ?? "warn",
        accessLog: options.accessLog ?? true,
        deleteEnabled,
        schema1Enabled,
        relativeUrls,
        tls: tlsFiles,
        htpasswd: htpasswdConfig,
        token: tokenConfig
      })
      yield* writeFile(configPath, config).pipe(Effect.mapError((e) => fromFailure(e)))
      const child = yield* spawnScoped(binary, ["serve", configPath], {
        cwd: directory,
        env,
        logLimit: options.logLimit
      }).pipe(Effect.mapError((e) => fromFailure(e)))
      const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`
      yield* waitReady(child, url, caPem, options.readyAttempts ?? 150).pipe(
        Effect.tapError(() => child.stop),
        Effect.mapError((e) => fromFailure(e, child.logs()))
      )
      return { port, url, child }
    })

    const portAttempts = Math.max(1, options.portAttempts ?? 5)
    const { child, port, url } = yield* Effect.retry(attempt, {
      times: portAttempts - 1,
      while: (error) => error.reason === "Exited" && /address already in use/i.test(error.logs ?? "")
    })

    return {
      mode,
      url,
      host: `127.0.0.1:${port}`,
      port,
      tls,
      caPem,
      users,
      tokenServer,
      relativeUrls,
      deleteEnabled,
      schema1Enabled,
      directory,
      rootDirectory,
      configPath,
      pid: child.pid,
      logs: Effect.sync(() => child.logs())
    } satisfies Running
  }).pipe(withLiveClock)

/**
 * A layer with a running registry, for a suite (`layer(RealRegistry.layer(...))("suite", (it) => ...)`).
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { RealRegistry } from "@effect-registry/test-infra"
 *
 * const RegistryLive = RealRegistry.layer({ mode: "anonymous", relativeUrls: true })
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<RealRegistry, RealRegistryError> =>
  Layer.scoped(RealRegistry, make(options))
