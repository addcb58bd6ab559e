import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

// The examples run here so that they cannot rot: the demo against the in-memory registry it
// starts itself, and against a real docker-registry through REGISTRY_URL.

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

const tsxLoader = pathToFileURL(Path.join(root, "node_modules/tsx/dist/loader.mjs")).href

const run = (script: string, env: Record<string, string> = {}, cwd: string = root) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      // tsx resolved from the repository, so that a script may run in a working directory elsewhere
      ["--import", tsxLoader, script],
      { cwd, env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const tourSteps = [
  "ping",
  "upload layer 2 (chunked)",
  "put schema2 manifest",
  "put OCI index",
  "put signed schema1",
  "manifest (schema1)",
  "downloadBlob (verified)",
  "deleteManifest",
  "The tour is complete."
]

/** The first ```ts block after a README heading. */
const readmeBlock = (readme: string, heading: string): string => {
  const text = Fs.readFileSync(Path.join(root, readme), "utf8")
  const at = text.indexOf(`\n${heading}\n`)
  assert.isAtLeast(at, 0, `${readme} has the heading ${heading}`)
  const start = text.indexOf("\n```ts\n", at)
  const end = text.indexOf("\n```\n", start + 1)
  return text.slice(start + "\n```ts\n".length, end + 1)
}

// The README block runs from a file inside the repository (so that it imports the workspace packages, built, as
// a user's program imports the published ones), in a temporary working directory holding its layer.tar.
const readmeScript = (name: string, code: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Path.join(root, "packages/node/.examples-check")
      Fs.mkdirSync(dir, { recursive: true })
      const file = Path.join(dir, `${name}-${process.pid}.ts`)
      Fs.writeFileSync(file, code)
      return file
    }),
    (file) => Effect.sync(() => Fs.rmSync(file, { force: true }))
  )

const workDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "readme-example-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

describe("examples", () => {
  it.scopedLive(
    "the node README's push-and-pull example runs against a real docker-registry",
    () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.make({ mode: "anonymous" })
        const script = yield* readmeScript(
          "push-pull",
          readmeBlock("packages/node/README.md", "## Example: push an image and pull it back")
        )
        const cwd = yield* workDir
        Fs.writeFileSync(Path.join(cwd, "hello.txt"), "hello from effect-registry\n")
        const tar = yield* Effect.async<number | null>((resume) => {
          const child = ChildProcess.execFile(
            "tar",
            ["cf", "layer.tar", "hello.txt"],
            { cwd, timeout: 30_000 },
            () => resume(Effect.succeed(child.exitCode))
          )
        })
        assert.strictEqual(tar, 0)
        const layer = Fs.readFileSync(Path.join(cwd, "layer.tar"))
        const layerDigest = `sha256:${Crypto.createHash("sha256").update(layer).digest("hex")}`

        const result = yield* run(script, { REGISTRY_URL: registry.url }, cwd)
        assert.strictEqual(result.code, 0, result.stdout + result.stderr)
        const pushed = /^pushed hello\/world:v1 (sha256:[0-9a-f]{64})$/m.exec(result.stdout)
        assert.isNotNull(pushed, result.stdout)
        assert.include(
          result.stdout,
          `pulled layer ${layerDigest} (${layer.length} bytes) into ${
            Path.join(Fs.realpathSync(cwd), "pulled-layer.tar")
          }`
        )
        assert.include(
          result.stdout,
          `pulled hello/world:v1 ${pushed?.[1]}: linux/amd64, 1 layer(s), cmd ["cat","/hello.txt"]`
        )
        assert.deepStrictEqual(Fs.readFileSync(Path.join(cwd, "pulled-layer.tar")), layer)
      }),
    120_000
  )

  it.live("the demo walks the tour against the in-memory registry", () =>
    Effect.gen(function*() {
      const result = yield* run("examples/demo.ts")
      assert.strictEqual(result.code, 0, result.stderr)
      for (const line of tourSteps) assert.include(result.stdout, line)
      assert.include(result.stdout, "skipped: the registry has it")
      assert.include(result.stdout, "reading it again: ManifestUnknown")
    }), 120_000)

  it.scopedLive("the demo walks the tour against a real docker-registry (REGISTRY_URL)", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.make({ mode: "anonymous" })
      const result = yield* run("examples/demo.ts", { REGISTRY_URL: registry.url })
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(result.stdout, `Using the registry at ${registry.url}`)
      for (const line of tourSteps) assert.include(result.stdout, line)
    }), 120_000)

  it.scopedLive(
    "the Go seed's example runs against a real docker-registry with NodeRegistry.layer (Basic auth)",
    () =>
      Effect.gen(function*() {
        const user = { username: "gopher", password: "seed-example-secret" }
        const registry = yield* RealRegistry.make({ mode: "basic", users: [user] })
        const result = yield* run("examples/seed.ts", {
          REGISTRY_URL: registry.url,
          REGISTRY_USERNAME: user.username,
          REGISTRY_PASSWORD: user.password
        })
        assert.strictEqual(result.code, 0, result.stderr)
        const report = JSON.parse(result.stdout) as {
          repositories: Array<string>
          tags: Array<string>
          has: boolean
          schema1: { mediaType: string }
          schema2: { mediaType: string; digest: string }
          downloaded: number
          deleted: string
        }
        assert.include(report.repositories, "example/repo")
        assert.deepStrictEqual(report.tags, ["v1", "v2"])
        assert.isTrue(report.has)
        assert.strictEqual(report.schema1.mediaType, "application/vnd.docker.distribution.manifest.v1+prettyjws")
        assert.strictEqual(report.schema2.mediaType, "application/vnd.docker.distribution.manifest.v2+json")
        assert.strictEqual(report.deleted, report.schema2.digest)
        assert.strictEqual(report.downloaded, "the bytes of a layer".length)
        assert.notInclude(result.stdout + result.stderr, user.password)
      }),
    120_000
  )
})
