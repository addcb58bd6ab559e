// Bundles the `effect-registry` bin (issue 18): src/bin/effect-registry.ts and everything it imports, the
// dependencies included, into dist/bin/effect-registry.js (ESM, `#!/usr/bin/env node`), with each command's
// modules in a chunk of their own (dist/bin/chunks/) loaded only when that command runs; and writes
// dist/bin/help.txt, the whole tree's `--help`, which the bin prints without loading the tree; and bundles the
// metadata commands (src/bin/metadata.ts) into one CommonJS script, dist/bin/metadata.cjs, with V8's code cache of
// it beside it (metadata.cjs.cache, by scripts/warm-cache.mjs in a fresh `node`, so that it fits a plain `node` run of the
// bin).
// Runs after `tsc -b` (the workspace packages are imported through their built dist/).
import * as esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const pkg = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const outdir = Path.join(pkg, "dist", "bin")

Fs.rmSync(Path.join(outdir, "chunks"), { recursive: true, force: true })
// tsc's map of the unbundled bin would describe another file
Fs.rmSync(Path.join(outdir, "effect-registry.js.map"), { force: true })

await esbuild.build({
  entryPoints: { "effect-registry": Path.join(pkg, "src", "bin", "effect-registry.ts") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  // some CommonJS dependencies call require() on Node's own modules
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\";\nconst require = __createRequire(import.meta.url);"
  },
  logLevel: "warning",
  legalComments: "none"
})
const bin = Path.join(outdir, "effect-registry.js")
const text = Fs.readFileSync(bin, "utf8").replace(/^#!.*\n/, "")
Fs.writeFileSync(bin, "#!/usr/bin/env node\n" + text)
Fs.chmodSync(bin, 0o755)

// The metadata commands in one script, and its code cache.
const metadata = Path.join(outdir, "metadata.cjs")
Fs.rmSync(metadata + ".cache", { force: true })
await esbuild.build({
  entryPoints: [Path.join(pkg, "src", "bin", "metadata.ts")],
  outfile: metadata,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  legalComments: "none"
})
const { NODE_OPTIONS: _options, ...plainEnv } = process.env
try {
  execFileSync(process.execPath, [
    Path.join(pkg, "scripts", "warm-cache.mjs"),
    pathToFileURL(Path.join(outdir, "codeCache.js")).href,
    metadata
  ], { env: plainEnv, stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 })
} catch (e) {
  // the bin works without the cache (it compiles the script from source): say so, and build on
  Fs.rmSync(metadata + ".cache", { force: true })
  process.stderr.write(String(e.stderr ?? ""))
  process.stderr.write(`warning: no code cache for ${metadata} (${e.message}); its commands start slower\n`)
}

// The help text, from the tree itself.
const { Cli } = await import(pathToFileURL(Path.join(pkg, "dist", "index.js")).href)
const { Effect } = await import("effect")
const help = await Effect.runPromise(Effect.gen(function*() {
  const io = yield* Cli.memoryIo()
  const code = yield* Cli.run(["--help"]).pipe(Effect.provide(io.layer))
  if (code !== 0) throw new Error(`--help exited with ${code}`)
  return yield* io.stdout
}))
Fs.writeFileSync(Path.join(outdir, "help.txt"), help)
