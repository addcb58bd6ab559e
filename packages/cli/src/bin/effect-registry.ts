#!/usr/bin/env node
/**
 * The `effect-registry` command: runs `Cli.run` on the process's arguments
 * and exits with its code.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "../Cli.js"

Cli.run(process.argv.slice(2)).pipe(
  Effect.provide(Cli.layerNodeIo),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // 130 after Ctrl-C (the main fiber interrupted), after the command cancelled its open uploads
    teardown: (exit, onExit) => onExit(Cli.exitCodeOfExit(exit))
  })
)
