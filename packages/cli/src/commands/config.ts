/**
 * The command `effect-registry config REF`.
 */
import * as Command from "@effect/cli/Command"
import { globalOptions, platformOption, refArg } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

export const config = Command.make(
  "config",
  { global: globalOptions, ref: refArg(), platform: platformOption },
  Runs.config
).pipe(Command.withDescription("Print the image config blob of REF (from an index: --platform, default linux/amd64)"))
