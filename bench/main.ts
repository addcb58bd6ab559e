/**
 * `pnpm bench`: effect-registry against the tools a user would reach for instead, on the same machine, in the
 * same run.
 *
 * Starts four Debian `docker-registry` processes through `RealRegistry.make` (anonymous, filesystem storage), makes
 * the data in `bench/.data/` (a random blob and an OCI layout of random "gzip" layers, streamed from /dev/urandom),
 * then, row by row, runs our worker and the peer alternately as separate child processes under GNU time, and prints
 * medians: wall time, throughput, client CPU (user+sys), peak RSS, and the registry's CPU. Writes
 * `bench/RESULTS.md` unless `--smoke`.
 *
 * Registries: A takes pushes (rows 1–3), B holds the image that is pulled and HEADed (rows 3, 5, 6), C holds the copy
 * source and the same-registry copies (row 4), D takes the cross-registry copies (row 4). Keeping them apart stops
 * skopeo's blob-info cache (which remembers where it saw each digest) from turning a push into a mount.
 *
 * Rows 1L and 2L repeat the download and the monolithic upload with a larger blob (`--big-mib`, default 4096; 0
 * leaves them out; `--big-runs`, default 2), to show peak RSS against blob size.
 *
 * Row 6 counts connections too: after its timed runs, each side runs once more through a counting TCP relay
 * (`ConnectionCounter`) in front of B. `--rows` with some of the rows updates only their lines of `RESULTS.md`.
 *
 * Row 7 runs the CLI (packages/cli/dist/bin, bundled) as a user does, one process per command, against skopeo.
 *
 * Options: --smoke, --runs N, --rows 1,2,3,4,5,6,7, --blob-mib N, --big-mib N, --big-runs N, --layer-mib N, --layers N,
 * --heads N (row 5), --curl-heads N (row 6), --chunk-mib N,
 * --profile (a `node --cpu-prof` run of every "ours" worker that misses its target, summarised in RESULTS.md),
 * --note TEXT (written into RESULTS.md), --budget-min N (stop starting samples after N minutes), --no-warm-up (skip
 * the untimed run of each side that precedes a row's timed runs; `--smoke` skips it too).
 *
 * Rows 1f, 1g and 6f–6h are floors: the work of rows 1 and 6 by a bare Node program, by the least Effect program,
 * and (6h) by the platform's `HttpClient` on our transport, beside the same peer, with no target.
 */
import * as ConnectionCounter from "@effect-registry/test-infra/ConnectionCounter"
import * as RealRegistry from "@effect-registry/test-infra/RealRegistry"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { spawn, spawnSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as FsP from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import * as Zlib from "node:zlib"
import { manifestAccept } from "./accept.js"
import { summarizeProfile } from "./profile.js"

const MiB = 1024 * 1024
const ROOT = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const BENCH = Path.join(ROOT, "bench")
const DATA = Path.join(BENCH, ".data")
const JS = Path.join(DATA, "js")
const TAG = "bench"
const started = performance.now()

// ---------------------------------------------------------------------------------------------------------------
// options

interface Config {
  readonly smoke: boolean
  readonly runs: number
  /** bytes of the large blob of rows 1L and 2L (RSS flat with size); 0: no such rows */
  readonly bigBytes: number
  readonly bigRuns: number
  readonly rows: ReadonlySet<number>
  readonly blobBytes: number
  readonly layerBytes: number
  readonly layers: number
  readonly heads: number
  /** HEADs of row 6 (ours against curl) */
  readonly curlHeads: number
  readonly chunkBytes: number
  readonly profile: boolean
  /** one untimed run of each side before a row's timed runs (not for the rows with runs of their own, 1L and 2L) */
  readonly warmUp: boolean
  readonly note: string | undefined
  readonly budgetMs: number
  readonly childTimeoutMs: number
}

const AllRows = [1, 2, 3, 4, 5, 6, 7]

const parseArgs = (argv: ReadonlyArray<string>): Config => {
  const flags = new Map<string, string>()
  const bools = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--") continue
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`)
    const [name, inline] = arg.slice(2).split("=", 2)
    if (["smoke", "profile", "no-warm-up"].includes(name)) {
      bools.add(name)
    } else if (inline !== undefined) {
      flags.set(name, inline)
    } else if (i + 1 < argv.length) {
      flags.set(name, argv[++i])
    } else {
      throw new Error(`--${name} needs a value`)
    }
  }
  const known = [
    "runs",
    "rows",
    "blob-mib",
    "big-mib",
    "big-runs",
    "layer-mib",
    "layers",
    "heads",
    "curl-heads",
    "chunk-mib",
    "note",
    "budget-min"
  ]
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}`)
  const smoke = bools.has("smoke")
  const num = (name: string, fallback: number): number => {
    const value = flags.get(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`)
    return n
  }
  const rows = new Set((flags.get("rows") ?? AllRows.join(",")).split(",").map((s) => Number(s.trim())))
  const blobBytes = Math.round(num("blob-mib", smoke ? 8 : 1024) * MiB)
  // 0 leaves rows 1L and 2L out
  const bigBytes = flags.get("big-mib") === "0" ? 0 : Math.round(num("big-mib", smoke ? 16 : 4096) * MiB)
  return {
    smoke,
    runs: Math.floor(num("runs", smoke ? 1 : 5)),
    bigBytes,
    bigRuns: Math.floor(num("big-runs", smoke ? 1 : 2)),
    rows,
    blobBytes,
    layerBytes: Math.round(num("layer-mib", smoke ? 1 : 64) * MiB),
    layers: Math.floor(num("layers", 8)),
    heads: Math.floor(num("heads", smoke ? 200 : 1000)),
    curlHeads: Math.floor(num("curl-heads", smoke ? 20 : 1000)),
    chunkBytes: Math.round(num("chunk-mib", smoke ? 2 : 16) * MiB),
    profile: bools.has("profile"),
    warmUp: !smoke && !bools.has("no-warm-up"),
    note: flags.get("note"),
    budgetMs: num("budget-min", smoke ? 10 : 18) * 60_000,
    // generous: 60 s plus 4 MiB/s for the biggest transfer
    childTimeoutMs: 60_000 +
      Math.max(blobBytes, bigBytes, 8 * 64 * MiB) / (4 * MiB) * 1000
  }
}

// ---------------------------------------------------------------------------------------------------------------
// child processes

interface Sample {
  readonly ok: boolean
  readonly error?: string | undefined
  /** seconds, measured around the child by the harness */
  readonly wall: number
  /** seconds of CPU (user + sys) of the child and everything it waited for */
  readonly cpu: number
  /** KiB, largest resident set of the child or any of its waited-for descendants */
  readonly rssKiB: number
  /** ms of the measured operation, reported by node workers */
  readonly opMs: number | undefined
  /** seconds of CPU the registry processes spent meanwhile */
  readonly registryCpu: number
  /** MiB of RSS once the worker had loaded its modules and built the client (node workers) */
  readonly setupRssMiB: number | undefined
  readonly stdout: string
}

const ticks = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const n = Number(r.stdout?.trim())
  return Number.isFinite(n) && n > 0 ? n : 100
})()

/** utime + stime of a process, in seconds (0 when it cannot be read). */
const cpuOfPid = (pid: number): number => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticks
  } catch {
    return 0
  }
}

const keepTail = (buffer: string, more: string, limit = 64 * 1024): string => {
  const all = buffer + more
  return all.length > limit ? all.slice(all.length - limit) : all
}

let sampleCounter = 0

/** Runs `argv` under `/usr/bin/time` in its own process group, killed (the whole group) after `timeoutMs`. */
const measure = async (
  argv: ReadonlyArray<string>,
  options: { readonly timeoutMs: number; readonly registryPids: ReadonlyArray<number>; readonly signal: AbortSignal }
): Promise<Sample> => {
  const timeFile = Path.join(DATA, `time-${process.pid}-${sampleCounter++}.txt`)
  const before = options.registryPids.reduce((sum, pid) => sum + cpuOfPid(pid), 0)
  const t0 = performance.now()
  const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, ...argv], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout = keepTail(stdout, s)))
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = keepTail(stderr, s)))
  let timedOut = false
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  const timer = setTimeout(() => {
    timedOut = true
    kill()
  }, options.timeoutMs)
  options.signal.addEventListener("abort", kill, { once: true })
  const code = await new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(-1))
    child.on("close", (c) => resolve(c))
  })
  clearTimeout(timer)
  options.signal.removeEventListener("abort", kill)
  const wall = (performance.now() - t0) / 1000
  const after = options.registryPids.reduce((sum, pid) => sum + cpuOfPid(pid), 0)
  let cpu = NaN
  let rssKiB = NaN
  try {
    const lines = (await FsP.readFile(timeFile, "utf8")).trim().split("\n")
    const [, user, sys, rss] = lines[lines.length - 1].trim().split(/\s+/).map(Number)
    cpu = user + sys
    rssKiB = rss
  } catch {
    // no timing when killed
  }
  await FsP.rm(timeFile, { force: true })
  let opMs: number | undefined
  let setupRssMiB: number | undefined
  let reportError: string | undefined
  const last = stdout.trim().split("\n").pop() ?? ""
  if (last.startsWith("{")) {
    try {
      const report = JSON.parse(last) as { ok?: boolean; opMs?: number; error?: string; setupRssMiB?: number }
      if (typeof report.opMs === "number") opMs = report.opMs
      if (typeof report.setupRssMiB === "number") setupRssMiB = report.setupRssMiB
      if (report.ok === false) reportError = report.error ?? "worker failed"
    } catch {
      // not a report
    }
  }
  const ok = code === 0 && !timedOut && reportError === undefined
  const error = ok ? undefined : timedOut
    ? `timed out after ${options.timeoutMs / 1000}s`
    : reportError ?? `exit ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400)}`
  return { ok, error, wall, cpu, rssKiB, opMs, registryCpu: after - before, setupRssMiB, stdout }
}

/** Runs a helper command to completion (not measured); throws with its stderr on failure. */
const exec = async (argv: ReadonlyArray<string>, timeoutMs = 300_000): Promise<string> => {
  const [cmd, ...rest] = argv
  const child = spawn(cmd, rest, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout = keepTail(stdout, s)))
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = keepTail(stderr, s)))
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(-1))
    child.on("close", resolve)
  })
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code}): ${stderr.trim().slice(-800)}`)
  return stdout
}

const versionOf = (argv: ReadonlyArray<string>): string => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 10_000 })
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "unknown"
}

/**
 * The command that runs a worker: its bundle (one file, what a tool built on the library ships) when
 * `scripts/bench.sh` built it, else its compiled JS, else the TypeScript through tsx.
 */
const worker = (name: string, ...args: ReadonlyArray<string | number>): Array<string> => {
  const ts = Path.join(BENCH, `${name}.ts`)
  const fresh = (file: string) => Fs.existsSync(file) && Fs.statSync(file).mtimeMs >= Fs.statSync(ts).mtimeMs
  const bundle = Path.join(JS, `${name}.bundle.cjs`)
  const js = Path.join(JS, `${name}.js`)
  const chosen = fresh(bundle) ? bundle : fresh(js) ? js : undefined
  return chosen !== undefined
    ? [process.execPath, chosen, ...args.map(String)]
    : [process.execPath, "--import", "tsx", ts, ...args.map(String)]
}

// ---------------------------------------------------------------------------------------------------------------
// data

const hashTap = (hash: Crypto.Hash) =>
  new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      callback(null, chunk)
    }
  })

/**
 * `bytes` random bytes from /dev/urandom into `path`, streamed (gzipped with stored blocks when `gzip`, so that the
 * file is a valid gzip stream of about the same size); returns the sha256 digest (cached beside).
 */
const randomFile = async (path: string, bytes: number, gzip = false): Promise<string> => {
  const sidecar = `${path}.sha256`
  try {
    const [stat, digest] = await Promise.all([FsP.stat(path), FsP.readFile(sidecar, "utf8")])
    if ((gzip || stat.size === bytes) && /^sha256:[0-9a-f]{64}$/.test(digest.trim())) return digest.trim()
  } catch {
    // make it
  }
  const temp = `${path}.partial`
  const child = spawn("head", ["-c", String(bytes), "/dev/urandom"], { stdio: ["ignore", "pipe", "inherit"] })
  const hash = Crypto.createHash("sha256")
  if (gzip) {
    await pipeline(child.stdout, Zlib.createGzip({ level: 0 }), hashTap(hash), Fs.createWriteStream(temp))
  } else {
    await pipeline(child.stdout, hashTap(hash), Fs.createWriteStream(temp))
    const size = (await FsP.stat(temp)).size
    if (size !== bytes) throw new Error(`${temp}: wrote ${size} bytes, wanted ${bytes}`)
  }
  const digest = `sha256:${hash.digest("hex")}`
  await FsP.rename(temp, path)
  await FsP.writeFile(sidecar, digest)
  return digest
}

interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

interface Layout {
  readonly dir: string
  readonly manifest: Descriptor
  readonly blobs: ReadonlyArray<Descriptor>
  /** bytes of every blob (layers and config) */
  readonly bytes: number
}

const writeBlob = async (dir: string, bytes: Uint8Array, mediaType: string): Promise<Descriptor> => {
  const hex = Crypto.createHash("sha256").update(bytes).digest("hex")
  await FsP.writeFile(Path.join(dir, "blobs", "sha256", hex), bytes)
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length }
}

/**
 * An OCI layout of `count` layers of random bytes (each a valid gzip stream of stored blocks, so that skopeo copies
 * it as is instead of compressing it), a config, a manifest tagged `bench`.
 */
const makeLayout = async (count: number, layerBytes: number): Promise<Layout> => {
  const dir = Path.join(DATA, `layout-gz-${count}x${layerBytes}`)
  const summary = Path.join(dir, ".complete.json")
  try {
    return JSON.parse(await FsP.readFile(summary, "utf8")) as Layout
  } catch {
    // make it
  }
  await FsP.rm(dir, { recursive: true, force: true })
  await FsP.mkdir(Path.join(dir, "blobs", "sha256"), { recursive: true })
  const layers: Array<Descriptor> = []
  for (let i = 0; i < count; i++) {
    const temp = Path.join(dir, "blobs", "sha256", `layer-${i}`)
    const digest = await randomFile(temp, layerBytes, true)
    const size = (await FsP.stat(temp)).size
    await FsP.rename(temp, Path.join(dir, "blobs", "sha256", digest.slice(7)))
    await FsP.rm(`${temp}.sha256`)
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size })
  }
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
  const config = await writeBlob(
    dir,
    encode({
      created: "2024-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }
    }),
    "application/vnd.oci.image.config.v1+json"
  )
  const manifest = await writeBlob(
    dir,
    encode({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers }),
    "application/vnd.oci.image.manifest.v1+json"
  )
  await FsP.writeFile(Path.join(dir, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}")
  await FsP.writeFile(
    Path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": TAG } }]
    })
  )
  const layout: Layout = {
    dir,
    manifest,
    blobs: [config, ...layers],
    bytes: config.size + layers.reduce((sum, l) => sum + l.size, 0)
  }
  await FsP.writeFile(summary, JSON.stringify(layout))
  return layout
}

// ---------------------------------------------------------------------------------------------------------------
// registry housekeeping (harness side, not measured)

const httpDelete = async (url: string): Promise<void> => {
  const response = await fetch(url, { method: "DELETE", signal: AbortSignal.timeout(30_000) })
  await response.arrayBuffer()
  if (![200, 202, 204, 404].includes(response.status)) throw new Error(`DELETE ${url}: ${response.status}`)
}

const deleteBlob = (registry: string, repository: string, digest: string) =>
  httpDelete(`${registry}/v2/${repository}/blobs/${digest}`)

/** The digest the registry holds for `repository:tag` (undefined when it has none). */
const headManifest = async (registry: string, repository: string, tag: string): Promise<string | undefined> => {
  const response = await fetch(`${registry}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: manifestAccept },
    signal: AbortSignal.timeout(30_000)
  })
  await response.arrayBuffer()
  return response.status === 200 ? response.headers.get("docker-content-digest") ?? undefined : undefined
}

/**
 * Deletes the tagged manifest and the blobs it references, as the registry holds them (a client that rewrote the
 * manifest or recompressed layers pushed other digests than the layout's), and the layout's blobs too.
 */
const deleteImage = async (registry: string, repository: string, layout: Layout): Promise<void> => {
  const response = await fetch(`${registry}/v2/${repository}/manifests/${TAG}`, {
    headers: { accept: manifestAccept },
    signal: AbortSignal.timeout(30_000)
  })
  const body = await response.text()
  const digests = new Set(layout.blobs.map((b) => b.digest))
  if (response.status === 200) {
    const manifest = JSON.parse(body) as {
      config?: { digest?: string }
      layers?: ReadonlyArray<{ digest?: string }>
    }
    for (const d of [manifest.config, ...(manifest.layers ?? [])]) if (d?.digest !== undefined) digests.add(d.digest)
    const digest = response.headers.get("docker-content-digest")
    if (digest !== null) await httpDelete(`${registry}/v2/${repository}/manifests/${digest}`)
  }
  for (const digest of digests) await deleteBlob(registry, repository, digest)
}

const skopeo = (from: string, to: string): Array<string> => [
  "skopeo",
  "copy",
  "-q",
  "--insecure-policy",
  "--src-tls-verify=false",
  "--dest-tls-verify=false",
  from,
  to
]

// The curl peers, as bash scripts taking positional arguments.
const locationOf = String.raw`tr -d '\r' | sed -n 's/^[Ll]ocation: *//p' | tail -n 1`
const absolute = String.raw`case "$loc" in http*) ;; *) loc="$url$loc" ;; esac`
const curlMonolithic = String.raw`set -euo pipefail
url=$1 repo=$2 file=$3 digest=$4
loc=$(curl -sSf -o /dev/null -D - -X POST "$url/v2/$repo/blobs/uploads/" | ${locationOf})
${absolute}
case "$loc" in *\?*) sep='&digest=' ;; *) sep='?digest=' ;; esac
curl -sSf -o /dev/null -T "$file" -H 'Content-Type: application/octet-stream' "$loc$sep$digest"`
const curlChunked = String.raw`set -euo pipefail
url=$1 repo=$2 file=$3 digest=$4 chunk=$5
size=$(stat -c %s "$file")
loc=$(curl -sSf -o /dev/null -D - -X POST "$url/v2/$repo/blobs/uploads/" | ${locationOf})
${absolute}
offset=0
while [ "$offset" -lt "$size" ]; do
  n=$(( size - offset < chunk ? size - offset : chunk ))
  end=$(( offset + n - 1 ))
  loc=$(dd if="$file" iflag=skip_bytes,count_bytes skip="$offset" count="$n" bs=4M status=none |
    curl -sSf -o /dev/null -D - -X PATCH -H 'Content-Type: application/octet-stream' \
      -H "Content-Range: $offset-$end" --data-binary @- "$loc" | ${locationOf})
  ${absolute}
  offset=$(( end + 1 ))
done
case "$loc" in *\?*) sep='&digest=' ;; *) sep='?digest=' ;; esac
curl -sSf -o /dev/null -X PUT "$loc$sep$digest"`
const curlDownload = String.raw`set -euo pipefail
curl -sSf "$1" | openssl dgst -sha256`
// row 6: a HEAD of every URL of a curl config file ($1) in one curl process (which keeps its connection); prints
// how many answers carried the digest $2
const curlHeads = String.raw`set -euo pipefail
curl -sS --fail -I -H "Accept: $3" --config "$1" | tr -d '\r' | grep -ci "^docker-content-digest: $2\$"`

/** A curl config file of `count` lines `url = "<url>"`, in `bench/.data`; returns its path. */
const curlUrlFile = (name: string, url: string, count: number): string => {
  const file = Path.join(DATA, name)
  Fs.writeFileSync(file, `url = "${url}"\n`.repeat(count))
  return file
}

// ---------------------------------------------------------------------------------------------------------------
// rows

interface Side {
  readonly label: string
  readonly argv: (run: number) => ReadonlyArray<string>
  /** extra check of a successful sample (the peer's printed digest...) */
  readonly check?: (sample: Sample) => string | undefined
  readonly cleanup?: (run: number) => Promise<void>
}

interface Row {
  readonly id: string
  readonly group: number
  readonly title: string
  /** payload bytes, for throughput */
  readonly bytes?: number
  /** requests, for request rate */
  readonly requests?: number
  readonly ours: Side
  readonly peer: Side
  /** ours/peer time must be at most this; undefined: no target */
  readonly maxRatio: number | undefined
  /** ours' wall time must be at most this many seconds (row 7's `--help`) */
  readonly maxSeconds?: number | undefined
  /** ours' peak RSS limit in MiB, a target of the row (default: the general limit, not a target) */
  readonly maxRssMiB?: number | undefined
  readonly targetText: string
  /** registry pids whose CPU is counted */
  readonly registryPids: ReadonlyArray<number>
  /** runs per side when not `config.runs` */
  readonly runs?: number | undefined
  /** after the timed runs, one more run of each side through the counting relay; ours may open at most `max` */
  readonly connections?: {
    readonly counter: Counter
    readonly ours: ReadonlyArray<string>
    readonly peer: ReadonlyArray<string>
    readonly max: number
  } | undefined
}

/** The counting TCP relay in front of registry B (row 6). */
interface Counter {
  readonly url: string
  readonly connections: () => Promise<number>
  readonly reset: () => Promise<void>
}

interface Registries {
  readonly a: RealRegistry.Running
  readonly b: RealRegistry.Running
  readonly c: RealRegistry.Running
  readonly d: RealRegistry.Running
}

const makeRows = (
  config: Config,
  regs: Registries,
  blob: { readonly path: string; readonly digest: string },
  big: { readonly path: string; readonly digest: string } | undefined,
  layout: Layout,
  /** the digest of the seeded image on B, as the registry reports it */
  imageDigest: string,
  /** the counting relay in front of B */
  counter: Counter
): Array<Row> => {
  const { a, b, c, d } = regs
  const blobRepo = "bench/blob"
  const imageRepo = "bench/image"
  const copySource = "bench/src"
  const pullDir = (side: string, run: number) => Path.join(DATA, `pull-${side}-${run}`)
  const removeDir = (side: string) => (run: number) => FsP.rm(pullDir(side, run), { recursive: true, force: true })
  const rows: Array<Row> = []
  // rows 1 and 1L: a verified download of `file` (seeded in `repository` of A)
  const downloadRow = (
    id: string,
    file: { readonly digest: string },
    repository: string,
    bytes: number,
    note: string,
    runs?: number
  ): Row => ({
    id,
    group: 1,
    title: `blob download, verified, to a sink (${fmtBytes(bytes)}${note})`,
    bytes,
    ours: { label: "ours: downloadBlob", argv: () => worker("download", a.url, repository, file.digest) },
    peer: {
      label: "curl | openssl dgst -sha256",
      argv: () => ["bash", "-c", curlDownload, "_", `${a.url}/v2/${repository}/blobs/${file.digest}`],
      check: (s) => s.stdout.includes(file.digest.slice(7)) ? undefined : "openssl printed another digest"
    },
    maxRatio: 1.0,
    targetText: "≤ 1.0× time (≥ 1.0× throughput)",
    registryPids: [a.pid],
    runs
  })
  // rows 2a and 2L: a monolithic upload of `file` to a fresh repository of A per run
  const uploadRepo = (kind: string, side: string, run: number) => `bench/${kind}-${side}-${run}`
  const uploadRow = (
    id: string,
    file: { readonly path: string; readonly digest: string },
    kind: string,
    bytes: number,
    note: string,
    runs?: number
  ): Row => ({
    id,
    group: 2,
    title: `blob upload streamed from a file, monolithic (${fmtBytes(bytes)}${note})`,
    bytes,
    ours: {
      label: "ours: uploadBlob(BlobFile.source, size)",
      argv: (run) => worker("upload", a.url, uploadRepo(kind, "ours", run), file.path, file.digest),
      cleanup: (run) => deleteBlob(a.url, uploadRepo(kind, "ours", run), file.digest)
    },
    peer: {
      label: "curl POST + curl -T (PUT)",
      argv: (run) => ["bash", "-c", curlMonolithic, "_", a.url, uploadRepo(kind, "curl", run), file.path, file.digest],
      cleanup: (run) => deleteBlob(a.url, uploadRepo(kind, "curl", run), file.digest)
    },
    maxRatio: 1.05,
    targetText: "≤ 1.05× time",
    registryPids: [a.pid],
    runs
  })
  // rows 1f and 1g: row 1's work by a bare Node program and by the least Effect program, beside the same peer
  const downloadFloor = (id: string, title: string, label: string, argv: () => ReadonlyArray<string>): Row => ({
    ...downloadRow(id, blob, blobRepo, config.blobBytes, ""),
    title: `${title} (${fmtBytes(config.blobBytes)}, whole process)`,
    ours: {
      label: `floor: ${label}`,
      argv,
      check: (s) => s.stdout.includes(blob.digest) ? undefined : "another digest, or none"
    },
    maxRatio: undefined,
    targetText: "— (floor)"
  })
  const bigNote = ": peak RSS against size"
  if (config.rows.has(1)) {
    rows.push(downloadRow("1", blob, blobRepo, config.blobBytes, ""))
    if (big !== undefined) rows.push(downloadRow("1L", big, "bench/big", config.bigBytes, bigNote, config.bigRuns))
    rows.push(
      downloadFloor(
        "1f",
        "Node's floor for row 1: a bare `node:http` GET into `createHash`, no Effect",
        "node:http + createHash",
        () => worker("floor-node", "download", a.url, blobRepo, blob.digest)
      ),
      downloadFloor(
        "1g",
        "Effect's floor for row 1: the body as the platform's `NodeStream.fromReadable`, hashed in " +
          "`Stream.runForEachChunk`, nothing of ours",
        "node:http + NodeStream.fromReadable + createHash",
        () => worker("floor-effect", "download", a.url, blobRepo, blob.digest)
      )
    )
  }
  if (config.rows.has(2)) {
    rows.push(uploadRow("2a", blob, "put", config.blobBytes, ""))
    if (big !== undefined) rows.push(uploadRow("2L", big, "bigput", config.bigBytes, bigNote, config.bigRuns))
    rows.push({
      id: "2b",
      group: 2,
      title: `blob upload, chunked ${fmtBytes(config.chunkBytes)} PATCHes (${fmtBytes(config.blobBytes)})`,
      bytes: config.blobBytes,
      ours: {
        label: `ours: uploadBlob(chunkSize ${fmtBytes(config.chunkBytes)})`,
        argv: (run) =>
          worker("upload", a.url, uploadRepo("patch", "ours", run), blob.path, blob.digest, String(config.chunkBytes)),
        cleanup: (run) => deleteBlob(a.url, uploadRepo("patch", "ours", run), blob.digest)
      },
      peer: {
        label: "curl PATCH loop (dd | curl --data-binary @-)",
        argv: (run) => [
          "bash",
          "-c",
          curlChunked,
          "_",
          a.url,
          uploadRepo("patch", "curl", run),
          blob.path,
          blob.digest,
          String(config.chunkBytes)
        ],
        cleanup: (run) => deleteBlob(a.url, uploadRepo("patch", "curl", run), blob.digest)
      },
      maxRatio: 0.6,
      targetText: "≤ 0.6× time",
      registryPids: [a.pid]
    })
  }
  const image = `${layout.blobs.length - 1} layers of ${fmtBytes(config.layerBytes)}`
  if (config.rows.has(3)) {
    const repo = (side: string, run: number) => `bench/push-${side}-${run}`
    rows.push({
      id: "3a",
      group: 3,
      title: `image push from an OCI layout (${image})`,
      bytes: layout.bytes,
      ours: {
        label: "ours: OciLayout.push",
        argv: (run) => worker("push", a.url, layout.dir, repo("ours", run), TAG),
        cleanup: (run) => deleteImage(a.url, repo("ours", run), layout)
      },
      peer: {
        label: "skopeo copy oci: docker://",
        argv: (run) => skopeo(`oci:${layout.dir}:${TAG}`, `docker://${a.host}/${repo("skopeo", run)}:${TAG}`),
        cleanup: (run) => deleteImage(a.url, repo("skopeo", run), layout)
      },
      maxRatio: 0.9,
      targetText: "≤ 0.9× time",
      registryPids: [a.pid]
    })
    rows.push({
      id: "3b",
      group: 3,
      title: `image pull to a fresh OCI layout (${image})`,
      bytes: layout.bytes,
      ours: {
        label: "ours: OciLayout.pull",
        argv: (run) => worker("pull", b.url, imageRepo, TAG, pullDir("ours", run)),
        cleanup: removeDir("ours")
      },
      peer: {
        label: "skopeo copy docker:// oci:",
        argv: (run) => skopeo(`docker://${b.host}/${imageRepo}:${TAG}`, `oci:${pullDir("skopeo", run)}:${TAG}`),
        cleanup: removeDir("skopeo")
      },
      maxRatio: 1.0,
      targetText: "≤ 1.0× time",
      registryPids: [b.pid]
    })
  }
  if (config.rows.has(4)) {
    const repo = (side: string, run: number) => `bench/copy-${side}-${run}`
    rows.push({
      id: "4a",
      group: 4,
      title: `image copy to another repository of the same registry (${image})`,
      bytes: layout.bytes,
      ours: {
        label: "ours: ImageCopy.copy (mount)",
        argv: (run) => worker("copy", c.url, copySource, TAG, c.url, repo("ours", run)),
        cleanup: (run) => deleteImage(c.url, repo("ours", run), layout)
      },
      peer: {
        label: "skopeo copy docker:// docker://",
        argv: (run) =>
          skopeo(`docker://${c.host}/${copySource}:${TAG}`, `docker://${c.host}/${repo("skopeo", run)}:${TAG}`),
        cleanup: (run) => deleteImage(c.url, repo("skopeo", run), layout)
      },
      maxRatio: 0.2,
      targetText: "≤ 0.2× time (issue 9)",
      registryPids: [c.pid]
    })
    rows.push({
      id: "4b",
      group: 4,
      title: `image copy to a second registry process (${image})`,
      bytes: layout.bytes,
      ours: {
        label: "ours: ImageCopy.copy (streamed)",
        argv: (run) => worker("copy", c.url, copySource, TAG, d.url, repo("ours", run)),
        cleanup: (run) => deleteImage(d.url, repo("ours", run), layout)
      },
      peer: {
        label: "skopeo copy docker:// docker://",
        argv: (run) =>
          skopeo(`docker://${c.host}/${copySource}:${TAG}`, `docker://${d.host}/${repo("skopeo", run)}:${TAG}`),
        cleanup: (run) => deleteImage(d.url, repo("skopeo", run), layout)
      },
      maxRatio: 1.0,
      targetText: "≤ 1.0× time",
      registryPids: [c.pid, d.pid]
    })
  }
  if (config.rows.has(5)) {
    rows.push({
      id: "5",
      group: 5,
      title: `${config.heads} manifest HEADs over keep-alive (time of the loop, in-process)`,
      requests: config.heads,
      ours: {
        label: `ours: manifestDigest ×${config.heads}`,
        argv: () => worker("heads", b.url, imageRepo, TAG, config.heads),
        check: (s) => s.stdout.includes(imageDigest) ? undefined : "wrong digest"
      },
      peer: {
        label: `undici.request HEAD ×${config.heads}`,
        argv: () => worker("heads-undici", b.url, imageRepo, TAG, config.heads),
        check: (s) => s.stdout.includes(imageDigest) ? undefined : "wrong digest"
      },
      maxRatio: 1.3,
      targetText: "≤ 1.3× time (issue 9)",
      registryPids: [b.pid]
    })
  }
  if (config.rows.has(6)) {
    const n = config.curlHeads
    const manifestPath = `/v2/${imageRepo}/manifests/${TAG}`
    const ours = (url: string) => worker("heads", url, imageRepo, TAG, n)
    const curl = (url: string, file: string) => [
      "bash",
      "-c",
      curlHeads,
      "_",
      curlUrlFile(file, `${url}${manifestPath}`, n),
      imageDigest,
      manifestAccept
    ]
    // one curl process HEADing every URL: the peer of row 6 and of its floors
    const curlPeer: Side = {
      label: `curl -I, ${n} URLs in one process`,
      argv: () => curl(b.url, "heads-curl.txt"),
      check: (s) => s.stdout.trim().split("\n").pop() === String(n) ? undefined : "not every answer had the digest"
    }
    rows.push({
      id: "6",
      group: 6,
      title: `${n} manifest HEADs, one client (wall time of the process; TCP connections counted in one more run)`,
      requests: n,
      ours: {
        label: `ours: manifestDigest ×${n}`,
        argv: () => ours(b.url),
        check: (s) => s.stdout.includes(imageDigest) ? undefined : "wrong digest"
      },
      peer: curlPeer,
      maxRatio: 1.5,
      targetText: "≤ 1.5× time, ≤ 2 connections",
      registryPids: [b.pid],
      connections: { counter, ours: ours(counter.url), peer: curl(counter.url, "heads-curl-relay.txt"), max: 2 }
    })
    // the same HEADs by less and less than our client, beside the same curl run: where the floor of each layer is
    const headsFloor = (id: string, title: string, label: string, argv: () => ReadonlyArray<string>): Row => ({
      id,
      group: 6,
      title: `${title} (whole process)`,
      requests: n,
      ours: {
        label: `floor: ${label}`,
        argv,
        check: (s) => s.stdout.includes(imageDigest) ? undefined : "wrong digest"
      },
      peer: curlPeer,
      maxRatio: undefined,
      targetText: "— (floor)",
      registryPids: [b.pid]
    })
    rows.push(
      headsFloor(
        "6f",
        `Node's floor for row 6: ${n} HEADs by a bare \`node:http\` keep-alive loop, no Effect`,
        "node:http Agent loop",
        () => worker("floor-node", "heads", b.url, imageRepo, TAG, n)
      ),
      headsFloor(
        "6g",
        `Effect's floor for row 6: the same requests, each in \`Effect.async\` with a span, in an \`Effect.gen\` loop`,
        "node:http in Effect.async + span",
        () => worker("floor-effect", "heads", b.url, imageRepo, TAG, n)
      ),
      headsFloor(
        "6h",
        `The transport's floor for row 6: \`HttpClient.execute\` on \`NodeHttp.layer\`, no registry client`,
        "HttpClient.execute on NodeHttp.layer",
        () => worker("floor-client", b.url, imageRepo, TAG, n)
      )
    )
  }
  if (config.rows.has(7)) {
    // The CLI as a user runs it: a whole process per command (issue 18), the bundled bin of packages/cli.
    const bin = Path.join(ROOT, "packages/cli/dist/bin/effect-registry.js")
    const ref = `${b.host}/${imageRepo}`
    const hasManifest = (s: Sample) => s.stdout.includes("schemaVersion") ? undefined : "no manifest"
    const hasTag = (s: Sample) => s.stdout.split("\n").includes(TAG) ? undefined : "tag not listed"
    const metadata = (
      id: string,
      what: string,
      ours: ReadonlyArray<string>,
      peer: ReadonlyArray<string>,
      check: (s: Sample) => string | undefined,
      peerCheck: (s: Sample) => string | undefined
    ): Row => ({
      id,
      group: 7,
      title: `CLI metadata command latency: ${what} (whole process)`,
      ours: { label: `ours: effect-registry ${ours.join(" ")}`, argv: () => ["node", bin, ...ours], check },
      peer: { label: `skopeo ${peer.join(" ")}`, argv: () => ["skopeo", ...peer], check: peerCheck },
      maxRatio: 4,
      maxRssMiB: 80,
      targetText: "≤ 4× time, ≤ 80 MiB",
      registryPids: [b.pid]
    })
    // a bare Node program (`node -e script`) beside skopeo's `inspect --raw` of the same manifest
    const inspectRaw = ["inspect", "--raw", "--tls-verify=false", `docker://${ref}:${TAG}`]
    const floor = (
      id: string,
      title: string,
      what: string,
      script: string,
      check?: (s: Sample) => string | undefined
    ): Row => ({
      id,
      group: 7,
      title,
      ours: { label: `floor: ${what}`, argv: () => ["node", "-e", script], ...(check ? { check } : {}) },
      peer: { label: `skopeo ${inspectRaw.join(" ")}`, argv: () => ["skopeo", ...inspectRaw], check: hasManifest },
      maxRatio: undefined,
      maxRssMiB: 80,
      targetText: "— (floor)",
      registryPids: [b.pid]
    })
    rows.push(
      metadata(
        "7a",
        "digest",
        ["digest", `${ref}:${TAG}`, "--plain-http"],
        [
          "inspect",
          "--raw",
          "--tls-verify=false",
          `docker://${ref}:${TAG}`
        ],
        (s) => s.stdout.trim() === imageDigest ? undefined : "wrong digest",
        hasManifest
      ),
      metadata(
        "7b",
        "tags",
        ["tags", ref, "--plain-http"],
        [
          "list-tags",
          "--tls-verify=false",
          `docker://${ref}`
        ],
        hasTag,
        (s) => s.stdout.includes(`"${TAG}"`) ? undefined : "tag not listed"
      ),
      metadata(
        "7c",
        "manifest",
        ["manifest", `${ref}:${TAG}`, "--plain-http"],
        [
          "inspect",
          "--raw",
          "--tls-verify=false",
          `docker://${ref}:${TAG}`
        ],
        hasManifest,
        hasManifest
      ),
      // The floor of any Node program on this machine (issue 18's ≤ 4× skopeo): Node's start-up alone, and a bare
      // node:http GET of the same manifest with nothing of ours loaded. No target: they show what is physics.
      floor("7f", "Node's own floor: start-up alone (`node -e 0`), no work (whole process)", "node -e 0", "0"),
      floor(
        "7g",
        "Node's own floor for the same work: a bare `node:http` GET of the manifest (whole process)",
        "node -e (http.get of the manifest, printed)",
        [
          "const http = require('node:http');",
          `http.get(${JSON.stringify(`http://${b.host}/v2/${imageRepo}/manifests/${TAG}`)},`,
          "{ headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },",
          "(res) => { const parts = []; res.on('data', (d) => parts.push(d));",
          "res.on('end', () => process.stdout.write(Buffer.concat(parts))) })"
        ].join(" "),
        hasManifest
      ),
      {
        id: "7h",
        group: 7,
        title: "CLI --help (whole process)",
        ours: {
          label: "ours: effect-registry --help",
          argv: () => ["node", bin, "--help"],
          check: (s) => s.stdout.includes("digest") ? undefined : "no command list"
        },
        peer: { label: "skopeo --help", argv: () => ["skopeo", "--help"] },
        maxRatio: undefined,
        maxSeconds: 0.25,
        maxRssMiB: 80,
        targetText: "≤ 0.25 s, ≤ 80 MiB",
        registryPids: [b.pid]
      }
    )
  }
  return rows
}

// ---------------------------------------------------------------------------------------------------------------
// statistics and output

const median = (xs: ReadonlyArray<number>): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y)
  if (s.length === 0) return NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

const fmtBytes = (n: number): string =>
  n >= 1024 * MiB ? `${+(n / (1024 * MiB)).toFixed(2)} GiB` : `${+(n / MiB).toFixed(2)} MiB`
const fmt = (x: number, digits = 2): string => Number.isFinite(x) ? x.toFixed(digits) : "—"

interface SideResult {
  readonly samples: ReadonlyArray<Sample>
  readonly ok: ReadonlyArray<Sample>
  /** seconds used for the ratio: op time when both sides report it, else wall */
  time: number
  readonly wall: number
  readonly opS: number
  readonly cpu: number
  readonly rssMiB: number
  readonly setupRssMiB: number
  readonly registryCpu: number
}

const summarize = (samples: ReadonlyArray<Sample>): SideResult => {
  const ok = samples.filter((s) => s.ok)
  const wall = median(ok.map((s) => s.wall))
  return {
    samples,
    ok,
    time: wall,
    wall,
    opS: median(ok.map((s) => s.opMs === undefined ? NaN : s.opMs / 1000)),
    cpu: median(ok.map((s) => s.cpu)),
    rssMiB: Math.max(...ok.map((s) => s.rssKiB / 1024).filter(Number.isFinite), -Infinity),
    setupRssMiB: median(ok.map((s) => s.setupRssMiB ?? NaN)),
    registryCpu: median(ok.map((s) => s.registryCpu))
  }
}

interface RowResult {
  readonly row: Row
  readonly ours: SideResult
  readonly peer: SideResult
  readonly ratio: number
  readonly timeMet: boolean | undefined
  readonly rssMet: boolean
  /** TCP connections of the counted run of each side (rows with `connections`) */
  readonly connections: { readonly ours: number | undefined; readonly peer: number | undefined } | undefined
  /** ours opened at most the row's `connections.max`; undefined: not counted */
  readonly connectionsMet: boolean | undefined
  readonly runs: number
  readonly errors: ReadonlyArray<string>
}

/** The verdict of a row: its time target, and its connection limit when it has one. */
const verdictOf = (r: RowResult): boolean | undefined =>
  r.row.maxRssMiB !== undefined && !r.rssMet ? false : (r.row.maxRatio !== undefined && r.timeMet === undefined) ||
      (r.timeMet === undefined && r.connectionsMet === undefined)
    ? undefined
    : r.timeMet !== false && r.connectionsMet !== false

const connectionsText = (n: number | undefined): string =>
  n === undefined ? "" : `; ${n} TCP connection${n === 1 ? "" : "s"}`

const RssLimitMiB = 120

const rate = (row: Row, seconds: number): string => {
  if (row.bytes !== undefined) return `${fmt(row.bytes / MiB / seconds, 0)} MiB/s`
  if (row.requests !== undefined) return `${fmt(row.requests / seconds, 0)} req/s`
  return "—"
}

const tableLines = (results: ReadonlyArray<RowResult>): Array<string> => {
  const lines = [
    "| row | side | runs ok | wall s | op s | throughput | client CPU s | peak RSS MiB | registry CPU s | RSS after set-up MiB | ours/peer time | target | met |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  ]
  for (const r of results) {
    const met = verdictOf(r)
    const verdict = met === undefined ? "—" : met ? "yes" : "**no**"
    for (const [side, res, first] of [["ours", r.ours, true], ["peer", r.peer, false]] as const) {
      const label = `${side === "ours" ? r.row.ours.label : r.row.peer.label}${
        connectionsText(side === "ours" ? r.connections?.ours : r.connections?.peer)
      }`.replaceAll("|", "\\|")
      lines.push(
        `| ${first ? `${r.row.id}. ${r.row.title}` : ""} | ${label} | ${res.ok.length}/${res.samples.length} | ${
          fmt(res.wall)
        } | ${fmt(res.opS)} | ${Number.isFinite(res.time) ? rate(r.row, res.time) : "—"} | ${fmt(res.cpu)} | ${
          fmt(res.rssMiB, 1)
        }${side === "ours" && !r.rssMet ? ` **(> ${r.row.maxRssMiB ?? RssLimitMiB})**` : ""} | ${
          fmt(res.registryCpu)
        } | ${fmt(res.setupRssMiB, 1)} | ${first ? `${fmt(r.ratio)}×` : ""} | ${first ? r.row.targetText : ""} | ${
          first ? verdict : ""
        } |`
      )
    }
  }
  return lines
}

const printTable = (results: ReadonlyArray<RowResult>) => {
  process.stdout.write("\n")
  for (const r of results) {
    const line = (name: string, s: SideResult) =>
      `    ${name.padEnd(48)} runs ${s.ok.length}/${s.samples.length}  wall ${fmt(s.wall).padStart(7)} s  op ${
        fmt(s.opS).padStart(7)
      } s  ${(Number.isFinite(s.time) ? rate(r.row, s.time) : "—").padStart(12)}  cpu ${
        fmt(s.cpu).padStart(6)
      } s  rss ${fmt(s.rssMiB, 1).padStart(6)} MiB (after set-up ${fmt(s.setupRssMiB, 1)})  registry cpu ${
        fmt(s.registryCpu).padStart(6)
      } s`
    process.stdout.write(`${r.row.id}. ${r.row.title}\n`)
    process.stdout.write(`${line(r.row.ours.label, r.ours)}\n${line(r.row.peer.label, r.peer)}\n`)
    if (r.connections !== undefined) {
      process.stdout.write(
        `    TCP connections: ours ${r.connections.ours ?? "—"}, peer ${r.connections.peer ?? "—"} (ours at most ${
          r.row.connections?.max ?? "—"
        })\n`
      )
    }
    const met = verdictOf(r)
    const verdict = met === undefined ? "" : met ? "  met" : "  MISSED"
    process.stdout.write(
      `    ours/peer time ${fmt(r.ratio)}×  target ${r.row.targetText}${verdict}; ours peak RSS ${
        fmt(r.ours.rssMiB, 1)
      } MiB (limit ${r.row.maxRssMiB ?? RssLimitMiB})${r.rssMet ? "" : " MISSED"}\n`
    )
    for (const e of r.errors) process.stdout.write(`    error: ${e}\n`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// main

const log = (s: string) => process.stdout.write(`[${fmt((performance.now() - started) / 1000, 0)}s] ${s}\n`)

/** The run number of a row's warm-up (repositories and directories are named by run, and cleaned up after it). */
const WarmUpRun = 99

const runRow = async (row: Row, config: Config, signal: AbortSignal): Promise<RowResult> => {
  const samples = { ours: [] as Array<Sample>, peer: [] as Array<Sample> }
  const errors: Array<string> = []
  let runs = 0
  const wanted = row.runs ?? config.runs
  // one run of one side, checked, logged and cleaned up after
  const runSide = async (key: "ours" | "peer", run: number, label: string): Promise<Sample> => {
    if (signal.aborted) throw new Error("interrupted")
    const side = row[key]
    const sample0 = await measure(side.argv(run), {
      timeoutMs: config.childTimeoutMs,
      registryPids: row.registryPids,
      signal
    })
    const problem = sample0.ok ? side.check?.(sample0) : undefined
    const sample = problem === undefined ? sample0 : { ...sample0, ok: false, error: problem }
    log(
      `${row.id} ${key.padEnd(4)} ${label}: ${
        sample.ok
          ? `${fmt(sample.wall)} s, cpu ${fmt(sample.cpu)} s, rss ${fmt(sample.rssKiB / 1024, 1)} MiB`
          : `FAILED (${sample.error})`
      }`
    )
    if (side.cleanup !== undefined) {
      await side.cleanup(run).catch((e: unknown) => errors.push(`${key} cleanup ${label}: ${String(e)}`))
    }
    return sample
  }
  if (config.warmUp && row.runs === undefined) {
    // untimed: the page cache, the registry's first answers and the first load of each program count for neither side
    for (const key of ["ours", "peer"] as const) await runSide(key, WarmUpRun, "warm-up")
  }
  for (let run = 0; run < wanted; run++) {
    if (run > 0 && performance.now() - started > config.budgetMs) {
      errors.push(`time budget reached: ${run} of ${wanted} runs`)
      break
    }
    runs++
    const order: ReadonlyArray<"ours" | "peer"> = run % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"]
    for (const key of order) {
      const sample = await runSide(key, run, `run ${run}`)
      if (!sample.ok) errors.push(`${key} run ${run}: ${sample.error}`)
      samples[key].push(sample)
    }
  }
  const ours = summarize(samples.ours)
  const peer = summarize(samples.peer)
  if (Number.isFinite(ours.opS) && Number.isFinite(peer.opS)) {
    ours.time = ours.opS
    peer.time = peer.opS
  }
  const ratio = ours.time / peer.time
  const connections = row.connections === undefined ? undefined : await countConnections(row, config, signal, errors)
  return {
    row,
    ours,
    peer,
    ratio,
    timeMet: row.maxSeconds !== undefined
      ? Number.isFinite(ours.wall)
        ? ours.wall <= row.maxSeconds && (row.maxRatio === undefined || ratio <= row.maxRatio)
        : undefined
      : row.maxRatio === undefined || !Number.isFinite(ratio)
      ? undefined
      : ratio <= row.maxRatio,
    rssMet: !(ours.rssMiB > (row.maxRssMiB ?? RssLimitMiB)),
    connections,
    connectionsMet: connections?.ours === undefined || row.connections === undefined
      ? undefined
      : connections.ours <= row.connections.max,
    runs,
    errors
  }
}

/** One more run of each side of `row` through the counting relay; the connections each opened. */
const countConnections = async (
  row: Row,
  config: Config,
  signal: AbortSignal,
  errors: Array<string>
): Promise<{ readonly ours: number | undefined; readonly peer: number | undefined }> => {
  const counted = row.connections
  if (counted === undefined) return { ours: undefined, peer: undefined }
  const count = async (key: "ours" | "peer"): Promise<number | undefined> => {
    await counted.counter.reset()
    const sample = await measure(counted[key], {
      timeoutMs: config.childTimeoutMs,
      registryPids: row.registryPids,
      signal
    })
    const problem = sample.ok ? row[key].check?.(sample) : sample.error
    if (problem !== undefined) {
      errors.push(`${key} counted run: ${problem}`)
      return undefined
    }
    const n = await counted.counter.connections()
    log(`${row.id} ${key.padEnd(4)} counted run: ${n} TCP connection${n === 1 ? "" : "s"}`)
    return n
  }
  return { ours: await count("ours"), peer: await count("peer") }
}

const profileRow = async (row: Row, signal: AbortSignal): Promise<string> => {
  const dir = Path.join(DATA, "prof", row.id)
  await FsP.rm(dir, { recursive: true, force: true })
  await FsP.mkdir(dir, { recursive: true })
  // the unbundled JS, so that the profile's frames keep their package names
  const argv = row.ours.argv(900).map((a) => a.endsWith(".bundle.cjs") ? a.replace(/\.bundle\.cjs$/, ".js") : a)
  // insert the profiler flags right after the node executable
  argv.splice(1, 0, "--cpu-prof", `--cpu-prof-dir=${dir}`)
  const sample = await measure(argv, { timeoutMs: 600_000, registryPids: row.registryPids, signal })
  await row.ours.cleanup?.(900).catch(() => undefined)
  const files = (await FsP.readdir(dir)).filter((f) => f.endsWith(".cpuprofile"))
  if (files.length === 0) return `no profile written (${sample.error ?? "?"})`
  const text = await FsP.readFile(Path.join(dir, files[0]), "utf8")
  return [
    `profiled run: wall ${fmt(sample.wall)} s, client CPU ${fmt(sample.cpu)} s, registry CPU ${
      fmt(sample.registryCpu)
    } s (profile: \`bench/.data/prof/${row.id}/${files[0]}\`)`,
    "",
    ...summarizeProfile(text, 15)
  ].join("\n")
}

const resultsFile = Path.join(BENCH, "RESULTS.md")
const analysisStart = "<!-- analysis: kept across runs -->"
const analysisEnd = "<!-- /analysis -->"

const writeResults = async (
  config: Config,
  results: ReadonlyArray<RowResult>,
  profiles: ReadonlyArray<[string, string]>,
  facts: ReadonlyArray<string>
) => {
  let analysis = `${analysisStart}\n${analysisEnd}`
  try {
    const old = await FsP.readFile(resultsFile, "utf8")
    const i = old.indexOf(analysisStart)
    const j = old.indexOf(analysisEnd)
    if (i >= 0 && j > i) analysis = old.slice(i, j + analysisEnd.length)
  } catch {
    // first run
  }
  const text = [
    "# Benchmark results",
    "",
    "Written by `pnpm bench` (`bench/main.ts`); do not edit by hand outside the analysis section, which is kept",
    "when the file is regenerated.",
    "",
    ...(config.note !== undefined ? [`> **Note:** ${config.note}`, ""] : []),
    "## Machine and versions",
    "",
    ...facts.map((f) => `- ${f}`),
    "",
    "## Results (medians)",
    "",
    `Runs per side: ${config.runs} (rows 1L and 2L: ${config.bigRuns}, they show peak RSS against blob size), ours and the peer alternating (ours first in even runs)${
      config.warmUp ? ", after one untimed warm-up run of each side (rows 1L and 2L: none)" : ", no warm-up runs"
    }. Blob ${fmtBytes(config.blobBytes)}; image ${config.layers} layers of ${
      fmtBytes(config.layerBytes)
    } of random bytes each (a valid gzip stream of stored blocks, so skopeo copies the layers as they are), plus a config.`,
    "",
    ...tableLines(results),
    "",
    "- wall s: the child process, start to exit, measured by the harness (for ours it includes Node start-up, module",
    "  loading and the client's ping: the difference between wall and op). op s: the operation alone, timed inside",
    "  our worker after the client is built.",
    "- ours/peer time: op times when both sides report one (row 5, both Node), otherwise wall times.",
    "- client CPU: user + sys of the child and all it waited for (GNU time); for the shell peers that is the whole",
    "  pipeline (curl, openssl, dd, bash). Peak RSS: the largest of those processes (GNU time `%M`), the maximum over",
    "  runs; for ours it is the single Node process.",
    "- RSS after set-up: what our worker held once its modules were loaded and the client built (ping done), before",
    "  the operation started (`process.memoryUsage().rss`); peak RSS minus it is what the operation itself added.",
    "- registry CPU: utime + stime of the docker-registry process(es) during the sample, from /proc.",
    "- Each sample pushes to a fresh repository and deletes what it pushed afterwards (manifest and blob links); pulls",
    "  go to fresh directories. Pushes (rows 2–3) go to registry A; the pulled/HEADed image lives on B; copies go",
    "  from C to C (same registry) and from C to D, so skopeo's blob-info cache cannot turn a push into a mount.",
    "",
    ...(profiles.length > 0
      ? [
        "## CPU profiles of missed targets (`node --cpu-prof`, top self time)",
        "",
        ...profiles.flatMap(([id, text]) => [`### Row ${id}`, "", text, ""])
      ]
      : []),
    "## Analysis",
    "",
    analysis,
    ""
  ].join("\n")
  const partial = AllRows.some((id) => !config.rows.has(id))
  const old = partial ? await FsP.readFile(resultsFile, "utf8").catch(() => undefined) : undefined
  await FsP.writeFile(resultsFile, old === undefined ? text : mergePartial(old, config, results, facts))
  log(`wrote ${Path.relative(ROOT, resultsFile)}`)
}

/** The table's lines of each row (its first line starts `| <id>. `), in order, from a table's lines. */
const rowGroups = (lines: ReadonlyArray<string>): Array<[string, Array<string>]> => {
  const groups: Array<[string, Array<string>]> = []
  for (const line of lines) {
    const id = /^\| ([0-9]+[A-Za-z]*)\. /.exec(line)?.[1]
    if (id !== undefined) groups.push([id, [line]])
    else if (groups.length > 0) groups[groups.length - 1][1].push(line)
  }
  return groups
}

/**
 * A run of some of the rows (`--rows`) into the existing RESULTS.md: their table lines replace the old ones (new
 * rows go last), the rest of the file stays, and a line under the machine facts says when and where they ran.
 */
const mergePartial = (
  old: string,
  config: Config,
  results: ReadonlyArray<RowResult>,
  facts: ReadonlyArray<string>
): string => {
  const lines = old.split("\n")
  const start = lines.findIndex((l) => l.startsWith("| row | side |"))
  if (start < 0) throw new Error(`${resultsFile} has no results table to merge rows into`)
  let end = start
  while (end < lines.length && lines[end].startsWith("|")) end++
  const fresh = new Map(rowGroups(tableLines(results).slice(2)))
  const merged: Array<string> = []
  for (const [id, group] of rowGroups(lines.slice(start + 2, end))) {
    merged.push(...(fresh.get(id) ?? group))
    fresh.delete(id)
  }
  for (const group of fresh.values()) merged.push(...group)
  const factsAt = lines.findIndex((l) => l === "## Machine and versions")
  let factsEnd = factsAt + 2
  while (factsAt >= 0 && factsEnd < lines.length && lines[factsEnd].startsWith("- ")) factsEnd++
  const note = `- ${config.rows.size === 1 ? "row" : "rows"} ${
    [...config.rows].join(", ")
  } re-run alone (\`--rows\`, ${config.runs} runs per side): ${
    facts.filter((f) => !/^(curl|openssl|skopeo|registry|kernel|memory|CPU):/.test(f)).join("; ")
  }`
  const out = [...lines]
  out.splice(start + 2, end - start - 2, ...merged)
  if (factsAt >= 0) out.splice(factsEnd, 0, note)
  return out.join("\n")
}

const bench = async (config: Config, regs: Registries, counter: Counter, signal: AbortSignal): Promise<number> => {
  const load0 = Os.loadavg()
  log(`registries: A ${regs.a.url}, B ${regs.b.url}, C ${regs.c.url}, D ${regs.d.url}`)
  log(
    `making data in ${Path.relative(ROOT, DATA)} (blob ${fmtBytes(config.blobBytes)}, ${config.layers} layers of ${
      fmtBytes(config.layerBytes)
    })`
  )
  const blobPath = Path.join(DATA, `blob-${config.blobBytes}.bin`)
  const blobDigest = await randomFile(blobPath, config.blobBytes)
  const layout = await makeLayout(config.layers, config.layerBytes)
  const blob = { path: blobPath, digest: blobDigest }
  const bigPath = Path.join(DATA, `blob-${config.bigBytes}.bin`)
  const big = config.bigBytes > 0 && (config.rows.has(1) || config.rows.has(2))
    ? { path: bigPath, digest: await randomFile(bigPath, config.bigBytes) }
    : undefined

  log("seeding: blob to A, image to B and C (skopeo)")
  if (config.rows.has(1)) {
    await exec(["bash", "-c", curlMonolithic, "_", regs.a.url, "bench/blob", blobPath, blobDigest])
    if (big !== undefined) {
      await exec(["bash", "-c", curlMonolithic, "_", regs.a.url, "bench/big", big.path, big.digest])
    }
  }
  if (config.rows.has(3) || config.rows.has(5) || config.rows.has(6) || config.rows.has(7)) {
    await exec(skopeo(`oci:${layout.dir}:${TAG}`, `docker://${regs.b.host}/bench/image:${TAG}`))
  }
  if (config.rows.has(4)) await exec(skopeo(`oci:${layout.dir}:${TAG}`, `docker://${regs.c.host}/bench/src:${TAG}`))

  // the data written so far goes to disk before any timed run, not during the first rows
  await exec(["sync"])
  const seededB = config.rows.has(3) || config.rows.has(5) || config.rows.has(6) || config.rows.has(7)
  const imageDigest = seededB ? await headManifest(regs.b.url, "bench/image", TAG) ?? "" : layout.manifest.digest
  if (imageDigest !== layout.manifest.digest) {
    log(`note: skopeo stored the manifest as ${imageDigest}, the layout has ${layout.manifest.digest}`)
  }
  const rows = makeRows(config, regs, blob, big, layout, imageDigest, counter)
  const results: Array<RowResult> = []
  for (const row of rows) {
    log(`row ${row.id}: ${row.title}`)
    results.push(await runRow(row, config, signal))
  }
  printTable(results)

  const profiles: Array<[string, string]> = []
  if (config.profile) {
    for (const r of results) {
      if (r.timeMet === false || !r.rssMet) {
        log(`profiling ours in row ${r.row.id}`)
        const summary = await profileRow(r.row, signal)
        profiles.push([r.row.id, summary])
        process.stdout.write(`\nrow ${r.row.id} profile:\n${summary}\n`)
      }
    }
  }

  const load1 = Os.loadavg()
  if (!config.smoke) {
    const readVersion = (path: string) => {
      try {
        return (JSON.parse(Fs.readFileSync(path, "utf8")) as { version?: string }).version ?? "?"
      } catch {
        return "?"
      }
    }
    const facts = [
      `date: ${new Date().toISOString()}`,
      `CPU: ${Os.cpus()[0]?.model ?? "?"}; nproc ${Os.availableParallelism()}`,
      `memory: ${fmtBytes(Os.totalmem())}`,
      `load average (1/5/15 min) at start: ${load0.map((x) => x.toFixed(2)).join(" / ")}; at end: ${
        load1.map((x) => x.toFixed(2)).join(" / ")
      }`,
      `kernel: ${Os.release()}`,
      `node: ${process.version}`,
      `effect: ${readVersion(Path.join(ROOT, "node_modules/effect/package.json"))}; @effect/platform-node: ${
        readVersion(Path.join(ROOT, "node_modules/@effect/platform-node/package.json"))
      }; @effect-registry/*: ${readVersion(Path.join(ROOT, "packages/core/package.json"))}`,
      `registry: ${versionOf(["docker-registry", "--version"])} (filesystem storage in a temp dir, anonymous)`,
      `curl: ${versionOf(["curl", "--version"])}`,
      `openssl: ${versionOf(["openssl", "version"])}`,
      `skopeo: ${versionOf(["skopeo", "--version"])}`,
      `wall time of the whole benchmark: ${fmt((performance.now() - started) / 1000, 0)} s`
    ]
    await writeResults(config, results, profiles, facts)
  }
  const failed = results.some((r) => r.ours.ok.length === 0 || r.peer.ok.length === 0)
  log(`done${failed ? " (some rows failed)" : ""}`)
  return failed ? 1 : 0
}

const config = parseArgs(process.argv.slice(2))
await FsP.mkdir(DATA, { recursive: true })

const program = Effect.gen(function*() {
  const options = { logLevel: "error", accessLog: false } as const
  const [a, b, c, d] = yield* Effect.all([
    RealRegistry.make(options),
    RealRegistry.make(options),
    RealRegistry.make(options),
    RealRegistry.make(options)
  ], { concurrency: 4 })
  const relay = yield* ConnectionCounter.make({ upstream: b.url })
  const counter: Counter = {
    url: relay.url,
    connections: () => Effect.runPromise(relay.connections),
    reset: () => Effect.runPromise(relay.reset)
  }
  const code = yield* Effect.tryPromise({
    try: (signal) => bench(config, { a, b, c, d }, counter, signal),
    catch: (e) => e
  })
  if (code !== 0) process.exitCode = code
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
