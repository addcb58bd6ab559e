/**
 * The command `effect-registry ping HOST`.
 */
import * as Command from "@effect/cli/Command"
import { globalOptions, hostArg } from "../internal/commandKit.js"
import * as Runs from "../internal/metadataRuns.js"

export const ping = Command.make("ping", { global: globalOptions, host: hostArg }, Runs.ping).pipe(
  Command.withDescription("Check that HOST speaks the registry API (GET /v2/)")
)
