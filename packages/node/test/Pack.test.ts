import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// What an outside user gets: every public package is packed (`pnpm pack`, from the built dist/), the tarballs
// are installed with npm into a scratch project in the system's temporary directory (their dependencies come
// from the npm registry), and a program importing every package (test/support/consumer.ts) is type-checked with
// `skipLibCheck: false` under `module: nodenext` and under `moduleResolution: bundler`, then run.
// It needs a build first (scripts/test.sh builds before the tests) and the npm registry.

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const packages = ["core", "node", "signing", "testing", "cli"] as const

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const exec = (file: string, args: ReadonlyArray<string>, cwd: string, timeout: number) =>
  Effect.async<Run>((resume) => {
    const child = ChildProcess.execFile(
      file,
      args,
      { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: "" } },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const ok = (run: Run, what: string) => assert.strictEqual(run.code, 0, `${what}:\n${run.stdout}\n${run.stderr}`)

const scratch = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-pack-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** The version the workspace resolved for a package, so that the scratch project tests the same one. */
const workspaceVersion = (from: string, name: string): string => {
  const file = Path.join(root, from, "node_modules", name, "package.json")
  return (JSON.parse(Fs.readFileSync(file, "utf8")) as { version: string }).version
}

const walk = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(Path.join(dir, entry.name)) : [Path.join(dir, entry.name)]
  )

const compilerOptions = {
  target: "ES2022",
  strict: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false,
  types: ["node"]
}

// require(esm) works without a flag from Node 20.19 and 22.12 (the READMEs say so).
const canRequireEsm = (() => {
  const [major, minor] = process.versions.node.split(".").map(Number)
  return (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23
})()

describe("the published packages", () => {
  it.scopedLive(
    "pack, install from the tarballs, type-check with skipLibCheck: false (nodenext, bundler), run",
    () =>
      Effect.gen(function*() {
        for (const pkg of packages) {
          assert.isTrue(
            Fs.existsSync(Path.join(root, "packages", pkg, "dist", "index.d.ts")),
            `packages/${pkg}/dist is missing: run \`pnpm run build\` first`
          )
        }
        const dir = yield* scratch
        const tarballs = Path.join(dir, "tarballs")
        Fs.mkdirSync(tarballs)

        const dependencies: Record<string, string> = {}
        for (const pkg of packages) {
          const packed = yield* exec(
            "pnpm",
            ["pack", "--pack-destination", tarballs],
            Path.join(root, "packages", pkg),
            120_000
          )
          ok(packed, `pnpm pack in packages/${pkg}`)
          const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "packages", pkg, "package.json"), "utf8")) as {
            name: string
            version: string
          }
          const file = `${manifest.name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`
          assert.isTrue(Fs.existsSync(Path.join(tarballs, file)), `${file} in ${Fs.readdirSync(tarballs).join(", ")}`)
          const listing = yield* exec("tar", ["tzf", Path.join(tarballs, file)], tarballs, 60_000)
          ok(listing, `tar tzf ${file}`)
          const entries = listing.stdout.split("\n")
          for (const entry of ["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]) {
            assert.include(entries, `package/${entry}`, `${file} holds ${entry}`)
          }
          dependencies[manifest.name] = `file:tarballs/${file}`
        }
        for (const name of ["effect", "@effect/platform", "@effect/platform-node", "typescript", "@types/node"]) {
          dependencies[name] = workspaceVersion(".", name)
        }
        // PortableHash's optional peer; the testing package's optional vitest peers are left out on purpose.
        dependencies["@noble/hashes"] = workspaceVersion("packages/core", "@noble/hashes")

        Fs.writeFileSync(
          Path.join(dir, "package.json"),
          JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }, null, 2)
        )
        Fs.mkdirSync(Path.join(dir, "src"))
        Fs.copyFileSync(Path.join(root, "packages/node/test/support/consumer.ts"), Path.join(dir, "src/main.ts"))
        Fs.writeFileSync(
          Path.join(dir, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: { ...compilerOptions, module: "nodenext", moduleResolution: "nodenext", outDir: "out" },
            include: ["src"]
          })
        )
        Fs.writeFileSync(
          Path.join(dir, "tsconfig.bundler.json"),
          JSON.stringify({
            compilerOptions: { ...compilerOptions, module: "esnext", moduleResolution: "bundler", noEmit: true },
            include: ["src"]
          })
        )

        const npm = process.platform === "win32" ? "npm.cmd" : "npm"
        const installed = yield* exec(
          npm,
          ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
          dir,
          300_000
        )
        ok(installed, "npm install of the tarballs")

        // The installed packages' own metadata: no workspace protocol left, and Effect as a peer.
        for (const pkg of packages) {
          const text = Fs.readFileSync(Path.join(dir, "node_modules/@effect-registry", pkg, "package.json"), "utf8")
          assert.notInclude(text, "workspace:", `@effect-registry/${pkg}'s published package.json`)
          const published = JSON.parse(text) as {
            peerDependencies?: Record<string, string>
            dependencies?: Record<string, string>
            license?: string
            engines?: Record<string, string>
            repository?: { url?: string; directory?: string }
          }
          assert.isDefined(published.peerDependencies?.effect, `${pkg}: effect is a peer dependency`)
          assert.isUndefined(published.dependencies?.effect, `${pkg}: effect is not a dependency`)
          assert.strictEqual(published.license, "MIT")
          assert.isDefined(published.engines?.node)
          assert.strictEqual(published.repository?.directory, `packages/${pkg}`)
          assert.strictEqual(
            Fs.readFileSync(Path.join(dir, "node_modules/@effect-registry", pkg, "LICENSE"), "utf8"),
            Fs.readFileSync(Path.join(root, "LICENSE"), "utf8"),
            `${pkg}: the published LICENSE is the repository's`
          )
          // No declaration may name a module that the package's `exports` hide from a consumer.
          for (const file of walk(Path.join(dir, "node_modules/@effect-registry", pkg, "dist"))) {
            if (!file.endsWith(".d.ts")) continue
            const hidden = Fs.readFileSync(file, "utf8").match(/@effect-registry\/[a-z]+\/internal\/[A-Za-z]+/)
            assert.isNull(hidden, `${Path.relative(dir, file)} names ${hidden?.[0]}`)
          }
        }
        assert.isFalse(Fs.existsSync(Path.join(dir, "node_modules/vitest")), "vitest is an optional peer")

        const tsc = Path.join(dir, "node_modules/typescript/bin/tsc")
        const nodenext = yield* exec(process.execPath, [tsc, "-p", "tsconfig.json"], dir, 300_000)
        ok(nodenext, "tsc (module: nodenext, skipLibCheck: false)")
        const bundler = yield* exec(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], dir, 300_000)
        ok(bundler, "tsc (moduleResolution: bundler, skipLibCheck: false)")

        const ran = yield* exec(process.execPath, ["out/main.js"], dir, 60_000)
        ok(ran, "node out/main.js")
        const result = JSON.parse(ran.stdout.trim()) as Record<string, unknown>
        assert.deepStrictEqual(result, {
          pushed: true,
          tags: ["v1"],
          missing: "ManifestUnknown",
          hashesAgree: true,
          schema1Verified: true,
          cli: { code: 0, version: "0.1.0" },
          named: 2,
          commandHandler: true,
          isRegistryError: true
        })

        if (canRequireEsm) {
          const script = packages.map((pkg) => `require("@effect-registry/${pkg}")`).join(";")
          const required = yield* exec(process.execPath, ["-e", script], dir, 60_000)
          ok(required, `require() of every package on Node ${process.versions.node}`)
        }
      }),
    900_000
  )
})
