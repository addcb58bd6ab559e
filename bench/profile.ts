/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) as Markdown: self time by package and the top frames by
 * self time. Also runnable on its own: `tsx bench/profile.ts FILE.cpuprofile [top]`.
 */
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

/** The package (or runtime part) a frame's script belongs to. */
const packageOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  if (url.startsWith("node:")) return "node: internals"
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pnpm !== null) return pnpm[1]
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (plain !== null) return plain[1]
  const ours = /packages\/([^/]+)\//.exec(url)
  if (ours !== null) return `@effect-registry/${ours[1]}`
  if (url.includes("/bench/")) return "bench worker"
  return url
}

const shortUrl = (url: string): string => {
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(url)
  if (pnpm !== null) return pnpm[1]
  const ours = /\/(packages\/.*)$/.exec(url)
  if (ours !== null) return ours[1]
  return url.replace(/^file:\/\//, "")
}

/** Markdown lines: self time per package, then the `top` frames by self time. */
export const summarizeProfile = (json: string, top = 15): Array<string> => {
  const profile = JSON.parse(json) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the following delta to the sample (V8's convention)
    const dt = deltas[i + 1] ?? 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt)
  }
  const total = profile.endTime - profile.startTime
  const frames = new Map<string, number>()
  const packages = new Map<string, number>()
  for (const [id, us] of self) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, lineNumber, url } = node.callFrame
    const name = functionName === "" ? "(anonymous)" : functionName
    const key = url === "" ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`
    frames.set(key, (frames.get(key) ?? 0) + us)
    const pkg = packageOf(url, name)
    packages.set(pkg, (packages.get(pkg) ?? 0) + us)
  }
  const pct = (us: number) => total > 0 ? `${(100 * us / total).toFixed(1)}%` : "—"
  const ms = (us: number) => (us / 1000).toFixed(0)
  const sorted = (m: Map<string, number>) => Array.from(m.entries()).sort((a, b) => b[1] - a[1])
  return [
    `profile span ${ms(total)} ms of the main thread`,
    "",
    "| self ms | share | package |",
    "|---|---|---|",
    ...sorted(packages).slice(0, 10).map(([pkg, us]) => `| ${ms(us)} | ${pct(us)} | ${pkg} |`),
    "",
    "| self ms | share | frame |",
    "|---|---|---|",
    ...sorted(frames).slice(0, top).map(([frame, us]) => `| ${ms(us)} | ${pct(us)} | \`${frame}\` |`)
  ]
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2)
  if (file === undefined) {
    process.stderr.write("usage: profile.ts FILE.cpuprofile [top]\n")
    process.exit(2)
  }
  process.stdout.write(
    `${summarizeProfile(Fs.readFileSync(file, "utf8"), top === undefined ? 15 : Number(top)).join("\n")}\n`
  )
}
