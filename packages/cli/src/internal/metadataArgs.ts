/**
 * The plain command lines of the metadata commands, read without @effect/cli (and without `effect`, so that the
 * bin can tell them apart before loading anything): `digest REF`, `tags REPO`, `manifest REF [--pretty]`,
 * `config REF [--platform P]`, `ping HOST` and `catalog HOST [--page-size N]`, with the global flags in any
 * order, each value in the next argument. A command line this does not read with certainty (`--help`, an
 * unknown or repeated option, `--flag=value`, a boolean flag followed by `true`/`false`, a value or argument
 * starting with `-`, `--`, `manifest put`, a missing or second argument) is `undefined`: the bin then runs it
 * through @effect/cli, which reads it, or explains what is wrong with it, as for every other command.
 */

/** A metadata command line as @effect/cli would read it. */
export interface MetadataArgs {
  readonly command: "digest" | "tags" | "manifest" | "config" | "ping" | "catalog"
  /** REF, REPO or HOST */
  readonly argument: string
  readonly username: string | undefined
  readonly password: string | undefined
  readonly passwordStdin: boolean
  readonly insecure: boolean
  readonly plainHttp: boolean
  readonly caFile: string | undefined
  readonly registryOpt: ReadonlyArray<string>
  readonly json: boolean
  readonly verbose: boolean
  /** `manifest --pretty` */
  readonly pretty: boolean
  /** `config --platform` */
  readonly platform: string | undefined
  /** `catalog --page-size` */
  readonly pageSize: number | undefined
}

type Flag = "passwordStdin" | "insecure" | "plainHttp" | "json" | "verbose" | "pretty"
type Value = "username" | "password" | "caFile" | "registryOpt" | "platform" | "pageSize"

const globalFlags: Readonly<Record<string, Flag>> = {
  "--password-stdin": "passwordStdin",
  "--insecure": "insecure",
  "--plain-http": "plainHttp",
  "--json": "json",
  "--verbose": "verbose",
  "-v": "verbose"
}
const globalValues: Readonly<Record<string, Value>> = {
  "--username": "username",
  "-u": "username",
  "--password": "password",
  "-p": "password",
  "--ca-file": "caFile",
  "--registry-opt": "registryOpt"
}
const commands: Readonly<
  Record<MetadataArgs["command"], {
    readonly flags: Readonly<Record<string, Flag>>
    readonly values: Readonly<Record<string, Value>>
  }>
> = {
  digest: { flags: {}, values: {} },
  tags: { flags: {}, values: {} },
  manifest: { flags: { "--pretty": "pretty" }, values: {} },
  config: { flags: {}, values: { "--platform": "platform" } },
  ping: { flags: {}, values: {} },
  catalog: { flags: {}, values: { "--page-size": "pageSize" } }
}

// what @effect/cli would take as the value of a boolean flag written before it
const booleanWords = new Set(["true", "1", "y", "yes", "on", "false", "0", "n", "no", "off"])

const isCommand = (name: string | undefined): name is MetadataArgs["command"] =>
  name !== undefined && Object.hasOwn(commands, name)

/** `argv` (without the `node` and script paths) read as a metadata command line, or `undefined`. */
export const parse = (argv: ReadonlyArray<string>): MetadataArgs | undefined => {
  const command = argv[0]
  if (!isCommand(command)) return undefined
  const spec = commands[command]
  const flags = new Set<Flag>()
  const values = new Map<Value, string>()
  const registryOpt: Array<string> = []
  let argument: string | undefined
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]
    const flag = Object.hasOwn(globalFlags, word)
      ? globalFlags[word]
      : Object.hasOwn(spec.flags, word)
      ? spec.flags[word]
      : undefined
    const value = Object.hasOwn(globalValues, word)
      ? globalValues[word]
      : Object.hasOwn(spec.values, word)
      ? spec.values[word]
      : undefined
    if (flag !== undefined) {
      const next = argv[i + 1]
      if (flags.has(flag) || (next !== undefined && booleanWords.has(next.toLowerCase()))) return undefined
      flags.add(flag)
    } else if (value !== undefined) {
      const next = argv[i + 1]
      if (next === undefined || next === "" || next.startsWith("-")) return undefined
      if (value === "registryOpt") registryOpt.push(next)
      else if (values.has(value)) return undefined
      else values.set(value, next)
      i++
    } else if (word === "" || word.startsWith("-") || argument !== undefined) {
      return undefined
    } else {
      argument = word
    }
  }
  if (argument === undefined || (command === "manifest" && argument === "put")) return undefined
  const pageSize = values.get("pageSize")
  if (pageSize !== undefined && !/^(0|[1-9][0-9]{0,8})$/.test(pageSize)) return undefined
  return {
    command,
    argument,
    username: values.get("username"),
    password: values.get("password"),
    passwordStdin: flags.has("passwordStdin"),
    insecure: flags.has("insecure"),
    plainHttp: flags.has("plainHttp"),
    caFile: values.get("caFile"),
    registryOpt,
    json: flags.has("json"),
    verbose: flags.has("verbose"),
    pretty: flags.has("pretty"),
    platform: values.get("platform"),
    pageSize: pageSize === undefined ? undefined : Number(pageSize)
  }
}
