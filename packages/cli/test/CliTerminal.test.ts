/**
 * The bin on a pseudo-terminal (util-linux `script`) and in a pipe: progress lines, `NO_COLOR`, Ctrl-C (exit
 * code 130, open upload sessions cancelled on the registry). Every child process is bounded by a timeout.
 */
import type { Digest } from "@effect-registry/core"
import { FaultProxy, RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { renderer } from "../src/internal/progress.js"

const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(packageDir, "src", "bin", "effect-registry.ts")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "cli-term-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`

/** The bin's command line, for `script -c`. */
const command = (args: ReadonlyArray<string>) =>
  [process.execPath, "--import", "tsx", bin, ...args].map(quote).join(" ")

interface Child {
  readonly child: ChildProcess
  readonly output: () => string
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Effect.Effect<number>
}

/** Spawns a process (killed with its scope and after `timeoutMs`), collecting its output. */
const start = (
  file: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  timeoutMs = 90_000
): Effect.Effect<Child, never, import("effect/Scope").Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(file, [...args], {
        cwd: packageDir,
        env: { ...process.env, NO_COLOR: "", ...env },
        stdio: ["pipe", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")))
      child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")))
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      const exit = Effect.async<number>((resume) => {
        if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
        child.once("close", (code) => {
          clearTimeout(timer)
          resume(Effect.succeed(code ?? -1))
        })
      })
      return { child, output: () => out + err, stdout: () => out, stderr: () => err, exit }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

/** Runs the bin under a pseudo-terminal: `script -qfec CMD /dev/null` (stdout and stderr are the terminal). */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  start("script", ["-qfec", command(args), "/dev/null"], env)

/** Waits until `done` holds, polling every 100 ms, at most `ms`. */
const waitFor = (what: string, done: Effect.Effect<boolean>, ms: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!(yield* done)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("100 millis")
    }
  })

/** An OCI layout with one image: a config and one random layer of `size` bytes. */
const makeLayout = (dir: string, size: number) => {
  const sha = (b: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(b).digest("hex")}`
  const put = (mediaType: string, bytes: Uint8Array) => {
    fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true })
    fs.writeFileSync(path.join(dir, "blobs", "sha256", sha(bytes).slice(7)), bytes)
    return { mediaType, digest: sha(bytes), size: bytes.length }
  }
  const layer = put("application/vnd.oci.image.layer.v1.tar", new Uint8Array(Crypto.randomBytes(size)))
  const config = put(
    "application/vnd.oci.image.config.v1+json",
    new TextEncoder().encode(
      JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [layer.digest] } })
    )
  )
  const manifest = put(
    "application/vnd.oci.image.manifest.v1+json",
    new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config,
        layers: [layer]
      })
    )
  )
  fs.writeFileSync(path.join(dir, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}")
  fs.writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "v1" } }]
    })
  )
  return { manifest, layer, config }
}

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest.Digest

const hasScript = fs.existsSync("/usr/bin/script") || fs.existsSync("/bin/script")

describe("progress rendering", () => {
  it("on a terminal: a line per blob with bytes, rate and ETA, and a total, redrawn in place", () => {
    const render = renderer({ tty: true, columns: 120, intervalMs: 5000 })
    const d1 = digest("a")
    const d2 = digest("b")
    assert.strictEqual(
      render({ _tag: "BlobStart", digest: d1, bytes: 0, total: 4 * 1024 * 1024 }, 0),
      "sha256:aaaaaaaaaaaa  0 B / 4.0 MiB\ntotal  0 B / 4.0 MiB  0/1 blobs\n"
    )
    assert.strictEqual(render({ _tag: "BlobStart", digest: d2, bytes: 0, total: 1024 }, 50), "")
    const drawn = render({ _tag: "BlobProgress", digest: d1, bytes: 1024 * 1024, total: 4 * 1024 * 1024 }, 1000)
    // the two lines drawn before are erased, then the blobs and the total again
    assert.strictEqual(
      drawn,
      "\u001b[2F\u001b[J" +
        "sha256:aaaaaaaaaaaa  1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s\n" +
        "sha256:bbbbbbbbbbbb  0 B / 1.0 KiB  0 B/s\n" +
        "total  1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s  0/2 blobs\n"
    )
    const done = render({ _tag: "BlobDone", digest: d2, bytes: 1024, total: 1024, outcome: "Transferred" }, 1100)
    assert.strictEqual(
      done,
      "\u001b[3F\u001b[J" +
        "sha256:bbbbbbbbbbbb  transferred  1.0 KiB\n" +
        "sha256:aaaaaaaaaaaa  1.0 MiB / 4.0 MiB  930.9 KiB/s  ETA 3s\n" +
        "total  1.0 MiB / 4.0 MiB  931.8 KiB/s  ETA 3s  1/2 blobs\n"
    )
    const last = render({
      _tag: "BlobDone",
      digest: d1,
      bytes: 4 * 1024 * 1024,
      total: 4 * 1024 * 1024,
      outcome: "Transferred"
    }, 3900)
    assert.match(
      last,
      /^\u001b\[2F\u001b\[Jsha256:aaaaaaaaaaaa {2}transferred {2}4\.0 MiB\ntotal {2}4\.0 MiB \/ 4\.0 MiB {2}\S+ \S+\/s {2}2\/2 blobs\n$/
    )
    const image = render({ _tag: "ImageDone", digest: d1, bytes: 4 * 1024 * 1024 + 1024, total: undefined }, 4000)
    assert.match(
      image,
      /^\u001b\[1F\u001b\[Jtotal {2}4\.0 MiB \/ 4\.0 MiB {2}\S+ \S+\/s {2}2\/2 blobs\nsha256:a{64} done, 4\.0 MiB moved\n$/
    )
  })

  it("in a pipe: a line per finished blob and a total line every interval, never escape codes", () => {
    const render = renderer({ tty: false, columns: 80, intervalMs: 5000 })
    const d = digest("c")
    const out: Array<string> = []
    for (let t = 0; t <= 12_000; t += 500) {
      out.push(render({ _tag: "BlobProgress", digest: d, bytes: t * 100, total: 2_000_000 }, t))
    }
    const totals = out.filter((s) => s.length > 0)
    assert.deepStrictEqual(totals, [
      "total  488.3 KiB / 1.9 MiB  97.7 KiB/s  ETA 15s  0/1 blobs\n",
      "total  976.6 KiB / 1.9 MiB  97.7 KiB/s  ETA 10s  0/1 blobs\n"
    ])
    assert.strictEqual(
      render({ _tag: "BlobDone", digest: d, bytes: 2_000_000, total: 2_000_000, outcome: "Existed" }, 12_100),
      "sha256:cccccccccccc  existed  1.9 MiB\n"
    )
    assert.notInclude(out.join(""), "\u001b")
  })
})

layer(RealRegistry.layer(), { timeout: "300 seconds", excludeTestServices: true })(
  "the bin on a terminal and in a pipe",
  (it) => {
    it.scoped(
      "progress: live lines on a terminal, plain lines in a pipe, only the result on stdout",
      () =>
        Effect.gen(function*() {
          assert.isTrue(hasScript, "util-linux `script` is needed (apt-get install -y bsdutils)")
          const registry = yield* RealRegistry.RealRegistry
          const home = yield* tempDir
          const src = path.join(home, "src")
          const image = makeLayout(src, 3 * 1024 * 1024)
          const env = { HOME: home, DOCKER_CONFIG: home, EFFECT_REGISTRY_PROGRESS_INTERVAL: "100" }
          const tty = yield* onTerminal(["push", src, `http://${registry.host}/term/tty:v1`], env)
          assert.strictEqual(yield* tty.exit, 0, tty.output())
          const screen = tty.output()
          assert.match(screen, /\u001b\[\d+F\u001b\[J/)
          assert.match(screen, new RegExp(`${image.layer.digest.slice(0, 19)} {2}transferred {2}3\\.0 MiB`))
          assert.match(screen, /total {2}\S+ \S+ \/ \S+ \S+.* \d\/2 blobs/)
          assert.include(screen, `${image.manifest.digest}\r\n`)

          const piped = yield* start(process.execPath, [
            "--import",
            "tsx",
            bin,
            "push",
            src,
            `http://${registry.host}/term/pipe:v1`
          ], env)
          assert.strictEqual(yield* piped.exit, 0, piped.stderr())
          assert.strictEqual(piped.stdout(), `${image.manifest.digest}\n`)
          assert.notInclude(piped.stderr(), "\u001b")
          assert.match(
            piped.stderr(),
            new RegExp(`^${image.layer.digest.slice(0, 19)} {2}(transferred|existed) {2}3\\.0 MiB$`, "m")
          )
          assert.match(piped.stderr(), /^total {2}.* 2\/2 blobs$/m)
        }),
      240_000
    )

    it.scoped("--help: styled on a terminal, plain with NO_COLOR", () =>
      Effect.gen(function*() {
        assert.isTrue(hasScript, "util-linux `script` is needed")
        const styled = yield* onTerminal(["copy", "--help"])
        assert.strictEqual(yield* styled.exit, 0, styled.output())
        assert.include(styled.output(), "\u001b[")
        const plain = yield* onTerminal(["copy", "--help"], { NO_COLOR: "1" })
        assert.strictEqual(yield* plain.exit, 0, plain.output())
        assert.notInclude(plain.output(), "\u001b")
        assert.include(plain.output(), "$ effect-registry copy ")
      }), 240_000)

    it.scoped(
      "Ctrl-C: a newline and a message, exit code 130, the open upload session cancelled",
      () =>
        Effect.gen(function*() {
          assert.isTrue(hasScript, "util-linux `script` is needed")
          const registry = yield* RealRegistry.RealRegistry
          // the proxy passes everything but holds the upload's body (PATCH or PUT on a session) without answering
          const proxy = yield* FaultProxy.make({
            upstream: registry.url,
            stallMs: 120_000,
            rules: [
              { match: { method: "PATCH", path: /\/blobs\/uploads\/[^/?]+/ }, fault: "stall" },
              { match: { method: "PUT", path: /\/blobs\/uploads\/[^/?]+/ }, fault: "stall" }
            ]
          })
          const home = yield* tempDir
          const file = path.join(home, "blob.bin")
          fs.writeFileSync(file, Crypto.randomBytes(512 * 1024))
          const uploads = path.join(
            registry.rootDirectory,
            "docker",
            "registry",
            "v2",
            "repositories",
            "term",
            "ctrlc",
            "_uploads"
          )
          // a live session has a startedat file; this registry's DELETE removes it (and the data), not its hash state
          const open = () =>
            fs.existsSync(uploads)
              ? fs.readdirSync(uploads).filter((uuid) => fs.existsSync(path.join(uploads, uuid, "startedat")))
              : []

          const run = yield* onTerminal(["blob", "put", `http://${proxy.host}/term/ctrlc`, file], {
            HOME: home,
            DOCKER_CONFIG: home
          })
          yield* waitFor(
            "the stalled upload",
            Effect.map(proxy.history, (h) => h.some((e) => e.fault === "stall")),
            90_000
          )
          assert.strictEqual(open().length, 1, "one upload session open on the registry")
          run.child.stdin?.write("\u0003")
          const code = yield* run.exit
          assert.strictEqual(code, 130, run.output())
          // the terminal echoes ^C; then a newline, the message, and what the clean-up did
          assert.match(run.output(), /\^C\r?\ninterrupted\r?\ncancelled 1 of 1 open upload session\r?\n$/)
          const history = yield* proxy.history
          assert.isTrue(history.some((e) => e.method === "DELETE" && /\/blobs\/uploads\//.test(e.path)))
          assert.deepStrictEqual(open(), [], "no upload session left on the registry")
        }),
      240_000
    )
  }
)

const password = "pw-Term-93-correct-horse"

layer(RealRegistry.layer({ mode: "basic", users: [{ username: "alice", password }] }), {
  timeout: "300 seconds",
  excludeTestServices: true
})("the bin's password prompt", (it) => {
  it.scoped("-u without a password prompts on the terminal, echoing nothing", () =>
    Effect.gen(function*() {
      assert.isTrue(hasScript, "util-linux `script` is needed")
      const registry = yield* RealRegistry.RealRegistry
      const home = yield* tempDir
      const run = yield* onTerminal(["catalog", `http://${registry.host}`, "-u", "alice"], {
        HOME: home,
        DOCKER_CONFIG: home
      })
      yield* waitFor("the prompt", Effect.sync(() => run.output().includes("Password for alice: ")), 90_000)
      run.child.stdin?.write(`${password}\r`)
      const code = yield* run.exit
      assert.strictEqual(code, 0, run.output())
      assert.notInclude(run.output(), password)
      assert.notInclude(run.output(), "warning:")
    }), 240_000)
})
