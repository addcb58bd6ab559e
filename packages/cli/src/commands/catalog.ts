/**
 * The command `effect-registry catalog HOST`.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { globalOptions, hostArg } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

export const catalog = Command.make(
  "catalog",
  {
    global: globalOptions,
    host: hostArg,
    n: Options.integer("page-size").pipe(Options.withDescription("Entries asked per page"), Options.optional)
  },
  Runs.catalog
).pipe(Command.withDescription("List the repositories of HOST"))
