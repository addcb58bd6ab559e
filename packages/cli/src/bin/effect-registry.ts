#!/usr/bin/env node
/**
 * The `effect-registry` command: runs the CLI on the process's arguments and exits with its code.
 *
 * Start-up is most of the time of a metadata command (issue 18), so this entry loads only what is needed:
 * plain `--help` prints the text the build wrote next to this file (`help.txt`: the whole tree's own
 * `--help`) and loads nothing else; a plain metadata command line (`digest REF --plain-http`, ...: see
 * `../internal/metadataArgs.ts`) runs from `metadata.cjs`, those commands bundled without @effect/cli into one
 * script that is compiled with the V8 code cache the build wrote (`./codeCache.js`); any other command line
 * goes to `./main.js`, which loads the module of the command named (or the whole tree for anything else). The published bin is this file bundled with its
 * dependencies (`scripts/bundle.mjs`), each command's modules in chunks loaded on demand.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as MetadataArgs from "../internal/metadataArgs.js"
import * as CodeCache from "./codeCache.js"

const argv = process.argv.slice(2)

// The help text the build wrote (absent when running the unbundled tsc output).
const staticHelp = (): string | undefined => {
  if (argv.length !== 1 || (argv[0] !== "--help" && argv[0] !== "-h")) return undefined
  // on a terminal (and without NO_COLOR) the tree prints its styled help instead
  if (process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "") return undefined
  try {
    return Fs.readFileSync(new URL("help.txt", import.meta.url), "utf8")
  } catch {
    return undefined
  }
}

type Main = (argv: ReadonlyArray<string>) => void

// The bundled metadata commands, for a plain metadata command line (absent when running the unbundled tsc output).
const metadataMain = (): Main | undefined => {
  if (MetadataArgs.parse(argv) === undefined) return undefined
  const exports = CodeCache.load(fileURLToPath(new URL("metadata.cjs", import.meta.url)))
  const main: unknown = typeof exports === "object" && exports !== null && "main" in exports ? exports.main : undefined
  return typeof main === "function" ? (main as Main) : undefined
}

const help = staticHelp()
if (help !== undefined) {
  process.stdout.write(help, () => process.exit(0))
} else {
  const fast = metadataMain()
  if (fast !== undefined) {
    fast(argv)
  } else {
    const { main } = await import("./main.js")
    main(argv)
  }
}
