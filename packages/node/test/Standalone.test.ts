import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// The repository stands alone: no test, benchmark, example, script or configuration file reads a path
// outside it (scripts/check-standalone.mjs, also run by scripts/test.sh before the tests).

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const script = Path.join(root, "scripts/check-standalone.mjs")

const check = (dir: string) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      [script, dir],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const fakeRepo = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "standalone-check-"))
      for (const [name, text] of Object.entries(files)) {
        Fs.mkdirSync(Path.dirname(Path.join(dir, name)), { recursive: true })
        Fs.writeFileSync(Path.join(dir, name), text)
      }
      return dir
    }),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

describe("standalone", () => {
  it.live("no test, benchmark, example, script or config of this repository reads outside it", () =>
    Effect.gen(function*() {
      const result = yield* check(root)
      assert.strictEqual(result.code, 0, result.stderr)
    }))

  it.scopedLive("paths that leave the repository are found, paths inside it are not", () =>
    Effect.gen(function*() {
      // Written with `^` for `..` and `~` for `/`, so that this file does not trip the check itself.
      const path = (s: string) => s.replaceAll("^", "..").replaceAll("~", "/")
      const dir = yield* fakeRepo({
        "packages/core/test/a.test.ts": [
          `const repoRoot = path.resolve(here, "../../..")`,
          `const ok = path.join(repoRoot, "fixtures/manifests")`,
          path(`const sibling = path.resolve(repoRoot, "^~shared~fixtures~manifests")`),
          path(`const up = path.resolve(here, "^~^~^~^~elsewhere")`),
          path(`const abs = "~work~shared~fixtures"`),
          `// standalone-check: ${"allow"}`,
          path(`const hostileEntryName = "^~^~^~^~^~etc~passwd"`)
        ].join("\n"),
        "scripts/run.sh": path(`cd "$(dirname "$0")~^"\ncat "$(dirname "$0")~^~^~outside.txt"\n`),
        "bench/main.ts": `const data = path.join(root, "bench/.data")\n`
      })
      const result = yield* check(dir)
      assert.strictEqual(result.code, 1, result.stdout)
      const lines = result.stderr.trim().split("\n").slice(1)
      assert.deepStrictEqual(
        lines.map((line) => line.split(": ")[0]).sort(),
        [
          "packages/core/test/a.test.ts:3",
          "packages/core/test/a.test.ts:3",
          "packages/core/test/a.test.ts:4",
          "packages/core/test/a.test.ts:5",
          "scripts/run.sh:2"
        ].sort()
      )
      assert.notInclude(result.stderr, "bench/main.ts")
      assert.notInclude(result.stderr, "a.test.ts:1:")
      assert.notInclude(result.stderr, "a.test.ts:2:")
    }))
})
