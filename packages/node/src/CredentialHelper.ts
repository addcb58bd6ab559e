/**
 * Docker credential helpers (`docker-credential-<name>`): `get`, `store` and
 * `erase` over the helper protocol (the server URL or a JSON document on stdin,
 * JSON on stdout), with a timeout, and typed failures for a missing helper, a
 * non-zero exit, output that is not the expected JSON, and a helper that hangs.
 *
 * Secrets read from a helper are returned `Redacted` and never appear in errors.
 *
 * @since 0.1.0
 */
import * as Credentials from "@effect-registry/core/Credentials"
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * Why a credential helper failed.
 *
 * - `NotFound`: no `docker-credential-<name>` on the `PATH`.
 * - `Failed`: the helper exited with a non-zero status (other than "credentials not found").
 * - `Malformed`: the helper printed something that is not the expected JSON.
 * - `Timeout`: the helper did not finish in time (it was killed).
 * - `Spawn`: the helper could not be started or its output could not be read.
 * - `InvalidName`: the helper name is not a plain name.
 *
 * @since 0.1.0
 * @category models
 */
export type Reason = "NotFound" | "Failed" | "Malformed" | "Timeout" | "Spawn" | "InvalidName"

/**
 * A credential helper failed. Carries the helper name, the operation and, for a
 * non-zero exit, the helper's own (short) message; never a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialHelperError extends Data.TaggedError("CredentialHelperError")<{
  readonly reason: Reason
  readonly helper: string
  readonly operation: "get" | "store" | "erase"
  readonly exitCode?: number | undefined
  readonly detail?: string | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<Reason, string> = {
      NotFound: "is not installed (not found on PATH)",
      Failed: `failed${this.exitCode !== undefined ? ` with exit code ${this.exitCode}` : ""}`,
      Malformed: "printed an unexpected answer",
      Timeout: "did not answer in time",
      Spawn: "could not be run",
      InvalidName: "has an invalid name"
    }
    const detail = this.detail !== undefined && this.detail.length > 0 ? `: ${this.detail}` : ""
    return `Credential helper docker-credential-${this.helper} ${this.operation} ${why[this.reason]}${detail}`
  }
}

/**
 * Options for running a helper.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long the helper may run. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra environment variables for the helper (`PATH` to find it, for instance). */
  readonly env?: Readonly<Record<string, string>> | undefined
}

/**
 * What a helper stores for a server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly serverUrl: string
  readonly username: string
  readonly secret: Redacted.Redacted<string>
}

/**
 * The username a helper uses to say that `Secret` is an identity (refresh) token.
 *
 * @since 0.1.0
 * @category utils
 */
export const IdentityTokenUsername = "<token>"

const DefaultTimeout = Duration.seconds(10)
const MaxOutput = 1024 * 1024
const notFoundMessage = "credentials not found in native keychain"

const HelperAnswer = Schema.Struct({
  ServerURL: Schema.optional(Schema.String),
  Username: Schema.optionalWith(Schema.String, { default: () => "" }),
  Secret: Schema.String
})
const decodeAnswer = Schema.decodeUnknownEither(Schema.parseJson(HelperAnswer))

interface Outcome {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const collect = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>) =>
  Stream.runFold(stream, { size: 0, parts: [] as Array<Uint8Array> }, (acc, bytes) => {
    if (acc.size < MaxOutput) acc.parts.push(bytes.subarray(0, MaxOutput - acc.size))
    return { size: acc.size + bytes.length, parts: acc.parts }
  }).pipe(Effect.map((acc) => Buffer.concat(acc.parts).toString("utf8")))

/** A short, single-line excerpt of a helper's error message. */
const excerpt = (text: string): string => {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? ""
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

const isNotFound = (outcome: Outcome): boolean =>
  `${outcome.stdout}\n${outcome.stderr}`.toLowerCase().includes(notFoundMessage)

const run = (
  helper: string,
  operation: "get" | "store" | "erase",
  input: string,
  options: Options | undefined
): Effect.Effect<Outcome, CredentialHelperError, CommandExecutor.CommandExecutor> => {
  const fail = (reason: Reason, extra: { detail?: string; exitCode?: number; cause?: unknown } = {}) =>
    new CredentialHelperError({ reason, helper, operation, ...extra })
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) return Effect.fail(fail("InvalidName"))
  const timeout = options?.timeout ?? DefaultTimeout
  const command = Command.make(`docker-credential-${helper}`, operation).pipe(
    Command.env(options?.env ?? {}),
    Command.feed(input)
  )
  return Effect.scoped(Effect.gen(function*() {
    const process = yield* Command.start(command)
    const [stdout, stderr, exitCode] = yield* Effect.all(
      [collect(process.stdout), collect(process.stderr), process.exitCode],
      { concurrency: "unbounded" }
    )
    return { stdout, stderr, exitCode: Number(exitCode) }
  })).pipe(
    Effect.mapError((error) =>
      error._tag === "SystemError" && error.reason === "NotFound" && error.method === "spawn"
        ? fail("NotFound", { cause: error })
        : fail("Spawn", { cause: error })
    ),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => fail("Timeout") }),
    Effect.withSpan("CredentialHelper.run", { attributes: { helper, operation } })
  )
}

/**
 * Ask a helper for the credentials of `serverUrl` (a host such as
 * `registry.example.com:5000`, or `https://index.docker.io/v1/` for Docker Hub).
 * `None` when the helper has none ("credentials not found"). A `Username` of
 * `<token>` means the secret is an identity token.
 *
 * @example
 * ```ts
 * import { CredentialHelper } from "@effect-registry/node"
 * import * as NodeContext from "@effect/platform-node/NodeContext"
 * import * as Effect from "effect/Effect"
 *
 * const credentials = CredentialHelper.get("desktop", "registry.example.com").pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (
  helper: string,
  serverUrl: string,
  options?: Options
): Effect.Effect<Option.Option<Credentials.Credentials>, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  Effect.flatMap(run(helper, "get", serverUrl, options), (outcome) => {
    if (outcome.exitCode !== 0) {
      return isNotFound(outcome)
        ? Effect.succeed(Option.none())
        : Effect.fail(
          new CredentialHelperError({
            reason: "Failed",
            helper,
            operation: "get",
            exitCode: outcome.exitCode,
            detail: excerpt(outcome.stdout.trim().length > 0 ? outcome.stdout : outcome.stderr)
          })
        )
    }
    return Either.match(decodeAnswer(outcome.stdout), {
      onLeft: () =>
        Effect.fail(
          new CredentialHelperError({
            reason: "Malformed",
            helper,
            operation: "get",
            detail: "expected a JSON object with Username and Secret"
          })
        ),
      onRight: (answer) =>
        Effect.succeed(
          answer.Secret.length === 0
            ? Option.none()
            : answer.Username === IdentityTokenUsername
            ? Option.some(Credentials.identityToken(Redacted.make(answer.Secret)))
            : Option.some(Credentials.basic(answer.Username, Redacted.make(answer.Secret)))
        )
    })
  }).pipe(Effect.withSpan("CredentialHelper.get", { attributes: { helper, serverUrl } }))

const failedUnlessOk = (helper: string, operation: "store" | "erase") => (outcome: Outcome) =>
  outcome.exitCode === 0 || (operation === "erase" && isNotFound(outcome))
    ? Effect.void
    : Effect.fail(
      new CredentialHelperError({
        reason: "Failed",
        helper,
        operation,
        exitCode: outcome.exitCode,
        detail: excerpt(outcome.stdout.trim().length > 0 ? outcome.stdout : outcome.stderr)
      })
    )

/**
 * Store credentials with a helper. Identity tokens are stored with the
 * username `<token>`, as Docker does.
 *
 * @example
 * ```ts
 * import { CredentialHelper } from "@effect-registry/node"
 * import * as Redacted from "effect/Redacted"
 *
 * const stored = CredentialHelper.store("pass", {
 *   serverUrl: "registry.example.com",
 *   username: "alice",
 *   secret: Redacted.make("s3cret")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const store = (
  helper: string,
  entry: Entry,
  options?: Options
): Effect.Effect<void, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  Effect.suspend(() =>
    run(
      helper,
      "store",
      JSON.stringify({ ServerURL: entry.serverUrl, Username: entry.username, Secret: Redacted.value(entry.secret) }),
      options
    )
  ).pipe(
    Effect.flatMap(failedUnlessOk(helper, "store")),
    Effect.withSpan("CredentialHelper.store", { attributes: { helper, serverUrl: entry.serverUrl } })
  )

/**
 * Turn core credentials into what a helper stores, or `None` for credentials a
 * helper cannot hold (anonymous, static bearer tokens).
 *
 * @example
 * ```ts
 * import { Credentials } from "@effect-registry/core"
 * import { CredentialHelper } from "@effect-registry/node"
 *
 * CredentialHelper.entry("registry.example.com", Credentials.basic("alice", "s3cret"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const entry = (serverUrl: string, credentials: Credentials.Credentials): Option.Option<Entry> => {
  switch (credentials._tag) {
    case "Basic":
      return Option.some({ serverUrl, username: credentials.username, secret: credentials.password })
    case "IdentityToken":
      return Option.some({ serverUrl, username: IdentityTokenUsername, secret: credentials.token })
    default:
      return Option.none()
  }
}

/**
 * Remove the credentials of `serverUrl` from a helper. Succeeds when the helper
 * had none.
 *
 * @example
 * ```ts
 * import { CredentialHelper } from "@effect-registry/node"
 *
 * const erased = CredentialHelper.erase("pass", "registry.example.com")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const erase = (
  helper: string,
  serverUrl: string,
  options?: Options
): Effect.Effect<void, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  run(helper, "erase", serverUrl, options).pipe(
    Effect.flatMap(failedUnlessOk(helper, "erase")),
    Effect.withSpan("CredentialHelper.erase", { attributes: { helper, serverUrl } })
  )
