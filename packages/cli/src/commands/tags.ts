/**
 * The command `effect-registry tags REPO`.
 */
import * as Command from "@effect/cli/Command"
import { globalOptions, repoArg } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

export const tags = Command.make("tags", { global: globalOptions, repo: repoArg() }, Runs.tags).pipe(
  Command.withDescription("List the tags of REPO (host/repository)")
)
