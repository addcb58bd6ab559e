/**
 * The command `effect-registry digest REF`.
 */
import * as Command from "@effect/cli/Command"
import { globalOptions, refArg } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

export const digest = Command.make("digest", { global: globalOptions, ref: refArg() }, Runs.digest).pipe(
  Command.withDescription("Print the digest of the manifest of REF")
)
