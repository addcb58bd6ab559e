// The built bin (dist/bin/effect-registry.js, bundled by scripts/bundle.mjs; needs `pnpm run build`): its table
// of lazily loaded commands covers the whole tree, its static --help is the tree's own, it answers against a
// real registry on node:http, and it names the fix for a refused connection and a forgotten --plain-http.
import { Cli } from "@effect-registry/cli"
import { RealRegistry } from "@effect-registry/test-infra"
import * as Command from "@effect/cli/Command"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { commands } from "../src/bin/commands.js"
import { closedPort, pushTinyImage, run } from "./support/bin.js"

const bin = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../dist/bin/effect-registry.js")

const treeHelp = Effect.gen(function*() {
  const io = yield* Cli.memoryIo()
  assert.strictEqual(yield* Cli.run(["--help"]).pipe(Effect.provide(io.layer)), 0)
  return yield* io.stdout
})

// A copy of the built bin's directory, removed afterwards.
const binCopy = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-bin-copy-"))
    Fs.cpSync(Path.dirname(bin), dir, { recursive: true })
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

describe("the bin", () => {
  it("loads every command of the tree by name", () => {
    const names = Array.from(HashMap.keys(Command.getSubcommands(Cli.command))).filter((n) => n !== "effect-registry")
    assert.isAbove(names.length, 10)
    assert.deepStrictEqual([...names].sort(), Object.keys(commands).sort())
  })

  it.live(
    "runs plain metadata command lines from metadata.cjs, with a code cache that a plain node accepts",
    () =>
      Effect.gen(function*() {
        const dir = Path.dirname(bin)
        assert.isTrue(Fs.existsSync(Path.join(dir, "metadata.cjs")), "metadata.cjs written by the bundle step")
        assert.isTrue(Fs.existsSync(Path.join(dir, "metadata.cjs.cache")), "its code cache written by the bundle step")
        // compiled as the bin does, in a node of its own (V8 refuses a cache made under other flags)
        const check = yield* run(process.execPath, [
          "--input-type=module",
          "--eval",
          `import * as Fs from "node:fs"
import * as CodeCache from ${JSON.stringify(new URL("codeCache.js", `file://${dir}/`).href)}
const file = ${JSON.stringify(Path.join(dir, "metadata.cjs"))}
const script = CodeCache.compile(file, Fs.readFileSync(CodeCache.cachePath(file)))
console.log(script.cachedDataRejected ? "rejected" : "accepted")`
        ])
        assert.strictEqual(check.code, 0, check.stderr)
        assert.strictEqual(check.stdout, "accepted\n")
      }),
    60_000
  )

  it.scopedLive(
    "runs a metadata command with a stale or no code cache, and without metadata.cjs",
    () =>
      Effect.gen(function*() {
        const dir = yield* binCopy
        const copy = Path.join(dir, "effect-registry.js")
        const port = yield* closedPort
        const refused = Effect.gen(function*() {
          const ran = yield* run(process.execPath, [copy, "digest", `127.0.0.1:${port}/a/b:1`, "--plain-http"])
          assert.strictEqual(ran.code, 1, ran.stderr)
          assert.include(ran.stderr, `connection refused by 127.0.0.1:${port}`)
        })
        Fs.writeFileSync(Path.join(dir, "metadata.cjs.cache"), "not a code cache")
        yield* refused
        Fs.rmSync(Path.join(dir, "metadata.cjs.cache"))
        yield* refused
        Fs.rmSync(Path.join(dir, "metadata.cjs"))
        yield* refused
      }),
    120_000
  )

  it.live("is bundled, and its --help is the tree's own", () =>
    Effect.gen(function*() {
      assert.isTrue(Fs.existsSync(bin), `${bin} is missing: run \`pnpm run build\` first`)
      assert.isTrue(Fs.existsSync(Path.join(Path.dirname(bin), "help.txt")), "help.txt written by the bundle step")
      assert.match(Fs.readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/)
      const help = yield* run(process.execPath, [bin, "--help"])
      assert.strictEqual(help.code, 0, help.stderr)
      assert.strictEqual(help.stdout, yield* treeHelp)
      for (const name of Object.keys(commands)) assert.include(help.stdout, name)
      // a command's own help comes from the command's module
      const digestHelp = yield* run(process.execPath, [bin, "digest", "--help"])
      assert.strictEqual(digestHelp.code, 0, digestHelp.stderr)
      assert.include(digestHelp.stdout, "Print the digest of the manifest of REF")
    }), 120_000)

  it.scopedLive(
    "digest, tags and manifest against a real registry; exit code 3 for an unknown tag",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make()
        const digest = yield* pushTinyImage(registry.url, "bin/tiny", "1")
        const ref = `${registry.host}/bin/tiny`
        const d = yield* run(process.execPath, [bin, "digest", `${ref}:1`, "--plain-http"])
        assert.strictEqual(d.code, 0, d.stderr)
        assert.strictEqual(d.stdout, `${digest}\n`)
        const t = yield* run(process.execPath, [bin, "tags", ref, "--plain-http"])
        assert.strictEqual(t.code, 0, t.stderr)
        assert.strictEqual(t.stdout, "1\n")
        const m = yield* run(process.execPath, [bin, "manifest", `${ref}:1`, "--plain-http"])
        assert.strictEqual(m.code, 0, m.stderr)
        assert.strictEqual((JSON.parse(m.stdout) as { schemaVersion: number }).schemaVersion, 2)
        const missing = yield* run(process.execPath, [bin, "digest", `${ref}:nope`, "--plain-http"])
        assert.strictEqual(missing.code, 3, missing.stderr)
        assert.match(missing.stderr, /^error: /)
      }),
    180_000
  )

  it.scopedLive(
    "a refused connection and a forgotten --plain-http: the kind of failure and the fix",
    () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const refused = yield* run(process.execPath, [bin, "digest", `127.0.0.1:${port}/a/b:1`, "--plain-http"])
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stderr, `connection refused by 127.0.0.1:${port}`)
        const registry = yield* RealRegistry.make()
        const tls = yield* run(process.execPath, [bin, "digest", `${registry.host}/a/b:1`])
        assert.strictEqual(tls.code, 1)
        assert.include(tls.stderr, "--plain-http")
        assert.notInclude(tls.stderr, "\n    at ")
      }),
    180_000
  )
})
