/**
 * What the CLI tests share: running the CLI in-process with its output captured, images in OCI layout
 * directories, running programs (skopeo, tar) with a timeout.
 */
import { Cli } from "@effect-registry/cli"
import { MediaType } from "@effect-registry/core"
import { assert } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"

import { json, putBlob, sha } from "@effect-registry/test-infra/LayoutFixture"
import * as RealRegistry from "@effect-registry/test-infra/RealRegistry"
import type { Io } from "../../src/internal/cliIo.js"

export { type Desc, json, listBlobs, putBlob, sha, writeLayout } from "@effect-registry/test-infra/LayoutFixture"

export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "cli-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** An OCI image (config and two layers) in a layout directory. */
export const makeImage = (dir: string, platform = { os: "linux", architecture: "amd64" }) => {
  const raw = [Crypto.randomBytes(70_000), Crypto.randomBytes(20_000)].map((b) => new Uint8Array(b))
  // gzip layers, which skopeo keeps as they are
  const layers = raw.map((r) => putBlob(dir, MediaType.OciLayerGzip, new Uint8Array(zlib.gzipSync(r))))
  const configBytes = json({ ...platform, rootfs: { type: "layers", diff_ids: raw.map(sha) } })
  const config = putBlob(dir, MediaType.OciConfig, configBytes)
  const manifestBytes = json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers })
  const manifest = putBlob(dir, MediaType.OciManifest, manifestBytes)
  return { manifest: { ...manifest, platform }, manifestBytes, config, configBytes, layers }
}

export interface Ran {
  readonly code: Cli.ExitCode
  readonly stdout: string
  readonly bytes: Uint8Array
  readonly stderr: string
}

/** Runs the CLI in-process, output captured, Docker's config read from `dockerConfig` only. */
export const cli = (
  args: ReadonlyArray<string>,
  options: {
    readonly stdin?: string
    readonly dockerConfig: string
    readonly tty?: boolean
    readonly stdoutTty?: boolean
    readonly noColor?: boolean
    readonly typed?: string
    readonly env?: Readonly<Record<string, string>>
    /** what runs `args` (default `Cli.run`, the whole tree) */
    readonly run?: (args: ReadonlyArray<string>) => Effect.Effect<Cli.ExitCode, never, Io>
  }
): Effect.Effect<Ran> =>
  Effect.gen(function*() {
    const io = yield* Cli.memoryIo({
      stdin: options.stdin,
      stderrIsTTY: options.tty,
      stdoutIsTTY: options.stdoutTty,
      noColor: options.noColor,
      typed: options.typed
    })
    const code = yield* (options.run ?? Cli.run)(args).pipe(
      Effect.provide(io.layer),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["DOCKER_CONFIG", options.dockerConfig],
            ["HOME", options.dockerConfig],
            ...Object.entries(options.env ?? {})
          ])
        )
      )
    )
    return { code, stdout: yield* io.stdout, bytes: yield* io.stdoutBytes, stderr: yield* io.stderr }
  })

export const ok = (ran: Ran): Ran => {
  // stdout too: `copy --all-tags` and `sync` say which tag failed, and why, there
  assert.strictEqual(ran.code, 0, `exit ${ran.code}: ${ran.stderr}\nstdout: ${ran.stdout}`)
  return ran
}

export const lines = (s: string) => s.split("\n").filter((l) => l.length > 0)

export const exec = (
  file: string,
  args: ReadonlyArray<string>,
  options?: { readonly cwd?: string; readonly input?: string }
) =>
  Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
    const child = execFile(
      file,
      [...args],
      { timeout: 60_000, cwd: options?.cwd, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    if (options?.input !== undefined) child.stdin?.end(options.input)
    else child.stdin?.end()
    return Effect.sync(() => child.kill())
  })

/** A registry and a Docker config home; `run` passes --plain-http and that home. */
export const plainSession = Effect.gen(function*() {
  const registry = yield* RealRegistry.RealRegistry
  const home = yield* tempDir
  const run = (args: ReadonlyArray<string>) => cli([...args, "--plain-http"], { dockerConfig: home })
  return { registry, home, run, h: registry.host }
})
