/**
 * What the commands share: their flags and positional arguments (@effect/cli), and everything in
 * `registryKit.ts` (parsing references and hosts, running with a registry's client, printing results).
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Redacted from "effect/Redacted"
import type * as CliEnv from "./cliEnv.js"

export * from "./registryKit.js"

export const platformOption = Options.text("platform").pipe(
  Options.withDescription("os/arch[/variant] of the image to take from an index"),
  Options.optional
)

export const concurrencyOption = Options.integer("concurrency").pipe(
  Options.withDescription("Blobs transferred at once"),
  Options.withDefault(4)
)

/** A positional argument with its description (shown by `--help`). */
export const arg = (name: string, description: string) => Args.text({ name }).pipe(Args.withDescription(description))

const refText = "[http://|https://]host[:port]/repository[:tag|@digest]; a scheme before the host sets it for that " +
  "registry (default https)"

export const refArg = (name = "REF", what = "The image") => arg(name, `${what}: ${refText}`)
export const repoArg = (name = "REPO", what = "The repository") =>
  arg(name, `${what}: [http://|https://]host[:port]/repository, no tag`)
export const blobArg = arg("REF@DIGEST", "The blob: [http://|https://]host[:port]/repository@sha256:...")
export const hostArg = arg("HOST", "The registry: [http://|https://]host[:port]")

/** The options every command takes (registry access, output, verbosity). */
export const globalOptions: Options.Options<CliEnv.Global> = Options.all({
  username: Options.text("username").pipe(
    Options.withAlias("u"),
    Options.withDescription(
      "User name for the registries named on the command line; the password comes from --password-stdin, " +
        "-p, or a prompt on a terminal"
    ),
    Options.optional
  ),
  password: Options.text("password").pipe(
    Options.map(Redacted.make),
    Options.withAlias("p"),
    Options.withDescription(
      "Password for --username (visible to other users in the process list: prefer --password-stdin or the prompt)"
    ),
    Options.optional
  ),
  passwordStdin: Options.boolean("password-stdin").pipe(
    Options.withDescription("Read the password for --username from standard input")
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withDescription("Do not verify TLS certificates, of every registry (one: --registry-opt HOST=insecure)")
  ),
  plainHttp: Options.boolean("plain-http").pipe(
    Options.withDescription(
      "Speak plain http to every registry (one: http://HOST/... in the reference, or --registry-opt HOST=plain-http)"
    )
  ),
  caFile: Options.text("ca-file").pipe(
    Options.withDescription(
      "A PEM file of certificate authorities to trust besides the system's, for every registry (one: " +
        "--registry-opt HOST=ca-file=PATH)"
    ),
    Options.optional
  ),
  registryOpt: Options.text("registry-opt").pipe(
    Options.withDescription(
      "A setting for one registry, repeatable: HOST=plain-http, HOST=https, HOST=insecure, HOST=ca-file=PATH, " +
        "HOST=mirror=MIRROR, HOST=credentials=docker-config|none|helper:NAME (also in the settings file)"
    ),
    Options.repeated,
    Options.withDefault([])
  ),
  json: Options.boolean("json").pipe(
    Options.withDescription("Machine-readable output: one JSON object per result line; errors as one JSON object")
  ),
  verbose: Options.boolean("verbose").pipe(
    Options.withAlias("v"),
    Options.withDescription("Log each HTTP request to standard error (method, URL without query, status, time)")
  )
})
