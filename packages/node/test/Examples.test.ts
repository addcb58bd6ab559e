import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// The examples run here so that they cannot rot: the demo against the in-memory registry it
// starts itself, and against a real docker-registry through REGISTRY_URL.

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

const run = (script: string, env: Record<string, string> = {}) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      ["--import", "tsx", script],
      { cwd: root, env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 4 * 1024 * 1024 },
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

describe("examples", () => {
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
