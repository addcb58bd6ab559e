// `npx effect-registry` from the packed tarballs (issue 18): the cli package and its workspace dependencies are
// packed with `pnpm pack` (from the built dist/), installed with npm into a scratch project in the temporary
// directory (other dependencies from the npm registry), and the installed bin answers --help and a digest
// against a real registry. Needs `pnpm run build` first and the npm registry.
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { pushTinyImage, run } from "./support/bin.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const packed = ["core", "node", "signing", "cli"] as const

const scratch = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-bin-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const installedVersion = (name: string): string =>
  (JSON.parse(Fs.readFileSync(Path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version

describe("the packed cli", () => {
  it.scopedLive("npx effect-registry --help and digest, installed from the tarballs", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const dependencies: Record<string, string> = {}
      for (const pkg of packed) {
        const made = yield* run("pnpm", ["pack", "--pack-destination", dir], {
          cwd: Path.join(root, "packages", pkg),
          timeoutMs: 120_000
        })
        assert.strictEqual(made.code, 0, `pnpm pack in packages/${pkg}: ${made.stderr}`)
        const name = `@effect-registry/${pkg}`
        const file = Fs.readdirSync(dir).find((f) => f.startsWith(`effect-registry-${pkg}-`) && f.endsWith(".tgz"))
        assert.isDefined(file, `the tarball of ${name}`)
        dependencies[name] = `file:./${file}`
      }
      // the peers, at the versions the workspace tests
      for (const name of ["effect", "@effect/platform", "@effect/platform-node"]) {
        dependencies[name] = installedVersion(name)
      }
      Fs.writeFileSync(
        Path.join(dir, "package.json"),
        JSON.stringify({ name: "scratch", private: true, type: "module", dependencies })
      )
      const installed = yield* run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
        cwd: dir,
        timeoutMs: 300_000
      })
      assert.strictEqual(installed.code, 0, `npm install: ${installed.stdout}\n${installed.stderr}`)

      const help = yield* run("npx", ["--no-install", "effect-registry", "--help"], { cwd: dir })
      assert.strictEqual(help.code, 0, help.stderr)
      for (const command of ["digest", "tags", "manifest", "copy", "sign"]) assert.include(help.stdout, command)

      const registry = yield* RealRegistry.make()
      const digest = yield* pushTinyImage(registry.url, "packed/tiny", "1")
      const answer = yield* run(
        "npx",
        ["--no-install", "effect-registry", "digest", `${registry.host}/packed/tiny:1`, "--plain-http"],
        { cwd: dir }
      )
      assert.strictEqual(answer.code, 0, answer.stderr)
      assert.strictEqual(answer.stdout, `${digest}\n`)
    }), 600_000)
})
