#!/usr/bin/env node
// Every file that a test, the demo, the benchmark or the docs read must live in this repository.
// This check reads the sources of tests, benchmarks, examples, scripts and the configuration files and
// fails when a path in them leaves the repository:
//   - a relative path with more `..` segments than the file is deep (`../../../..` in packages/x/test/a.ts);
//   - a repository-root anchor followed by `..` (`path.resolve(repoRoot, "../shared/...")`);
//   - a sibling checkout (`../shared/`) or an absolute path into a home or work directory (`/work/`, `/home/`,
//     `/Users/`, `/root/`, `C:\`).
// A path that is data, not a read (a hostile tar entry name in a test), is let through by a comment holding
// `standalone-check: allow` on its line or on the line above.
// Usage: node scripts/check-standalone.mjs [root]  (exit 1 and one line per finding when a path escapes)
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), ".."))

const sourceExt = /\.(ts|mts|cts|js|mjs|cjs|sh|json)$/
const skipDirs = new Set(["node_modules", "dist", "build", ".git", ".tsbuildinfo", "docs", ".data", ".docs-check"])

const walk = (dir) =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return skipDirs.has(entry.name) ? [] : walk(full)
      return sourceExt.test(entry.name) ? [full] : []
    })
    : []

const files = () => {
  const out = []
  const top = fs.readdirSync(root, { withFileTypes: true })
  for (const entry of top) {
    if (entry.isFile() && sourceExt.test(entry.name)) out.push(path.join(root, entry.name))
  }
  for (const dir of ["bench", "examples", "scripts", "fixtures"]) out.push(...walk(path.join(root, dir)))
  const packagesDir = path.join(root, "packages")
  if (fs.existsSync(packagesDir)) {
    for (const pkg of fs.readdirSync(packagesDir, { withFileTypes: true })) {
      if (!pkg.isDirectory()) continue
      const dir = path.join(packagesDir, pkg.name)
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isFile() && sourceExt.test(entry.name)) out.push(path.join(dir, entry.name))
      }
      for (const sub of ["test", "bench", "examples", "scripts"]) out.push(...walk(path.join(dir, sub)))
    }
  }
  return out.filter((file) => file !== fileURLToPath(import.meta.url))
}

const forbidden = [
  { re: /(^|[^.\w])\.\.\/shared\//, why: "a sibling checkout (../shared/)" },
  { re: /["'`](\/work\/|\/home\/|\/Users\/|\/root\/|[A-Za-z]:\\\\)/, why: "an absolute path outside the repository" },
  {
    re: /\b\w*(root|Root|ROOT)\w*\s*,\s*["'`]\.\.(\/|["'`])/,
    why: "a path that climbs above the repository root"
  }
]

// `..` segments at the start of a quoted path (also after `$(dirname "$0")/` or `__dirname + "/`).
const climb = /["'`/]((?:\.\.\/)*\.\.)(?=["'`/])/g

const allow = "standalone-check: allow"

const findings = []
for (const file of files()) {
  const rel = path.relative(root, file)
  const depth = path.dirname(rel) === "." ? 0 : path.dirname(rel).split(path.sep).length
  const lines = fs.readFileSync(file, "utf8").split("\n")
  lines.forEach((line, i) => {
    if (line.includes(allow) || (i > 0 && lines[i - 1].includes(allow))) return
    for (const { re, why } of forbidden) {
      if (re.test(line)) findings.push(`${rel}:${i + 1}: ${why}: ${line.trim()}`)
    }
    for (const match of line.matchAll(climb)) {
      const ups = match[1].split("/").length
      if (ups > depth) {
        findings.push(`${rel}:${i + 1}: ${ups} \`..\` from a file ${depth} deep leaves the repository: ${line.trim()}`)
      }
    }
  })
}

if (findings.length > 0) {
  process.stderr.write(`Files read from outside the repository (${root}):\n${findings.join("\n")}\n`)
  process.exit(1)
}
process.stdout.write("standalone: no test, benchmark, example, script or config reads outside the repository\n")
