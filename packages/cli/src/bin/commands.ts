/**
 * The commands of `effect-registry` by name, each loaded on demand: the bin imports the module of the one
 * command being run (and what it needs) instead of the whole tree. Every subcommand of `Cli.command` has its
 * entry here (a test checks that).
 *
 * @since 0.1.0
 */
import type * as Command from "@effect/cli/Command"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Effect from "effect/Effect"
import type * as CliIo from "../internal/cliIo.js"
import type * as Runner from "../internal/runner.js"

/**
 * Runs `argv` (whose first element names the command) with the command tree of that one command.
 *
 * @since 0.1.0
 * @category models
 */
export type Load = (argv: ReadonlyArray<string>) => Promise<Effect.Effect<Runner.ExitCode, never, CliIo.Io>>

const one = <Name extends string, R extends NodeContext.NodeContext | CliIo.Io | CliIo.Secrets, E, A>(
  argv: ReadonlyArray<string>,
  command: Promise<Command.Command<Name, R, E, A>>
) => Promise.all([import("../internal/runner.js"), command]).then(([Runner, c]) => Runner.run(Runner.rootOf(c), argv))

/**
 * @since 0.1.0
 * @category constants
 */
export const commands: Readonly<Record<string, Load>> = {
  ping: (argv) => one(argv, import("../commands/ping.js").then((m) => m.ping)),
  catalog: (argv) => one(argv, import("../commands/catalog.js").then((m) => m.catalog)),
  tags: (argv) => one(argv, import("../commands/tags.js").then((m) => m.tags)),
  manifest: (argv) => one(argv, import("../commands/manifest.js").then((m) => m.manifest)),
  digest: (argv) => one(argv, import("../commands/digest.js").then((m) => m.digest)),
  config: (argv) => one(argv, import("../commands/config.js").then((m) => m.config)),
  blob: (argv) => one(argv, import("../commands/blob.js").then((m) => m.blob)),
  push: (argv) => one(argv, import("../commands/push.js").then((m) => m.push)),
  pull: (argv) => one(argv, import("../commands/pull.js").then((m) => m.pull)),
  copy: (argv) => one(argv, import("../commands/copy.js").then((m) => m.copy)),
  delete: (argv) => one(argv, import("../commands/delete.js").then((m) => m.deleteCommand)),
  referrers: (argv) => one(argv, import("../commands/referrers.js").then((m) => m.referrers)),
  sign: (argv) => one(argv, import("../commands/sign.js").then((m) => m.sign)),
  login: (argv) => one(argv, import("../commands/login.js").then((m) => m.login)),
  logout: (argv) => one(argv, import("../commands/logout.js").then((m) => m.logout)),
  tag: (argv) => one(argv, import("../commands/tag.js").then((m) => m.tag)),
  sync: (argv) => one(argv, import("../commands/sync.js").then((m) => m.sync)),
  export: (argv) => one(argv, import("../commands/export.js").then((m) => m.exportCommand)),
  import: (argv) => one(argv, import("../commands/import.js").then((m) => m.importCommand)),
  index: (argv) => one(argv, import("../commands/index.js").then((m) => m.index)),
  ratelimit: (argv) => one(argv, import("../commands/ratelimit.js").then((m) => m.ratelimit)),
  validate: (argv) => one(argv, import("../commands/validate.js").then((m) => m.validate))
}
