// Checks two structural measures of the library sources (packages/*/src/**/*.ts):
//
// - size: no file holds more than 450 lines of code (comment lines and blank lines are not
//   counted). A file may go over when its header (the comments before its first line of code)
//   holds a line "structure: over-450 because <reason>".
// - cycles: no import cycle between source files (relative imports, including `import type`
//   and re-exports; a ".js" specifier resolves to the ".ts" file beside it).
//
// Prints a report. With --strict it exits non-zero when there is a violation.
// With --root DIR it checks DIR/packages/*/src instead of this repository's.
// Comment stripping is a small scanner, not a TypeScript parser: strings, template literals and
// regular-expression literals are recognised well enough for this repository's sources.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const LIMIT = 450
const EXEMPTION = /structure:\s*over-450 because\s+\S/

// Characters after which a "/" starts a regular expression rather than a division.
const REGEX_PRECEDERS = new Set(["", ..."( , = : [ ! & | ? { } ; + - * % < > ~ ^".split(" ")])
const REGEX_KEYWORDS = new Set("return typeof case do else in of new delete void throw yield await".split(" "))

/**
 * Splits a source text into lines, each marked with whether it holds code (anything outside a
 * comment that is not white space) and whether it holds comment text.
 */
export const scanLines = (text) => {
  const lines = []
  let code = false
  let comment = false
  let state = "code" // code | line | block | single | double | template | regex
  let templateDepth = [] // brace depth at which each open template's ${ } started
  let braceDepth = 0
  let lastSignificant = "" // last non-space code character, for the regex heuristic
  let lastWord = ""
  let inClass = false
  const endLine = () => {
    lines.push({ code, comment })
    code = false
    comment = false
    if (state === "line") state = "code"
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    const next = text[i + 1]
    if (c === "\n") {
      endLine()
      continue
    }
    switch (state) {
      case "line":
        comment = true
        break
      case "block":
        comment = true
        if (c === "*" && next === "/") {
          state = "code"
          i++
        }
        break
      case "single":
      case "double":
        code = true
        if (c === "\\") i++
        else if ((state === "single" && c === "'") || (state === "double" && c === "\"")) state = "code"
        break
      case "template":
        code = true
        if (c === "\\") i++
        else if (c === "`") {
          state = "code"
          lastSignificant = "`"
        } else if (c === "$" && next === "{") {
          templateDepth.push(braceDepth)
          braceDepth++
          state = "code"
          lastSignificant = "{"
          i++
        }
        break
      case "regex":
        code = true
        if (c === "\\") i++
        else if (c === "[") inClass = true
        else if (c === "]") inClass = false
        else if (c === "/" && !inClass) {
          state = "code"
          lastSignificant = "/r"
        }
        break
      default: {
        if (c === "/" && next === "/") {
          state = "line"
          comment = true
          i++
          break
        }
        if (c === "/" && next === "*") {
          state = "block"
          comment = true
          i++
          break
        }
        if (/\s/.test(c)) break
        code = true
        if (c === "'") state = "single"
        else if (c === "\"") state = "double"
        else if (c === "`") state = "template"
        else if (c === "/" && (REGEX_PRECEDERS.has(lastSignificant) || REGEX_KEYWORDS.has(lastWord))) {
          state = "regex"
          inClass = false
        } else if (c === "{") braceDepth++
        else if (c === "}") {
          braceDepth--
          if (templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braceDepth) {
            templateDepth.pop()
            state = "template"
          }
        }
        if (/[A-Za-z0-9_$]/.test(c)) {
          const previous = text[i - 1]
          lastWord = previous !== undefined && /[A-Za-z0-9_$]/.test(previous) ? lastWord + c : c
          lastSignificant = "w"
        } else if (state === "code") {
          lastSignificant = c
          lastWord = ""
        } else {
          lastWord = ""
        }
      }
    }
  }
  if (text.length > 0 && !text.endsWith("\n")) endLine()
  return lines
}

/** Counts lines of code: lines holding anything outside comments. */
export const linesOfCode = (text) => scanLines(text).filter((line) => line.code).length

/** Whether the comments before the first line of code hold the over-450 exemption. */
export const hasExemption = (text) => {
  const scanned = scanLines(text)
  const firstCode = scanned.findIndex((line) => line.code)
  const header = text.split("\n").slice(0, firstCode === -1 ? scanned.length : firstCode)
  return header.some((line) => EXEMPTION.test(line))
}

const IMPORT_PATTERNS = [
  /\bfrom\s*["']([^"']+)["']/g, // import … from "x", export … from "x"
  /\bimport\s*["']([^"']+)["']/g, // import "x"
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g // import("x")
]

/** The relative module specifiers a source file imports or re-exports. */
export const relativeImports = (text) => {
  const found = new Set()
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      if (match[1].startsWith("./") || match[1].startsWith("../")) found.add(match[1])
    }
  }
  return [...found]
}

const resolveImport = (fromFile, specifier) => {
  const base = path.resolve(path.dirname(fromFile), specifier)
  const candidates = [base]
  if (/\.(m|c)?js$/.test(base)) candidates.push(base.replace(/\.(m|c)?js$/, (ext) => ext.replace("js", "ts")))
  candidates.push(`${base}.ts`, path.join(base, "index.ts"))
  return candidates.find((candidate) =>
    candidate.endsWith(".ts") && existsSync(candidate) && statSync(candidate).isFile()
  )
}

const walk = (dir) => {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(full))
    else if (entry.isFile() && /\.(m|c)?ts$/.test(entry.name) && !/\.d\.(m|c)?ts$/.test(entry.name)) out.push(full)
  }
  return out
}

/** Every library source file under root/packages/<name>/src, sorted. */
export const sourceFiles = (root) => {
  const packages = path.join(root, "packages")
  if (!existsSync(packages)) return []
  return readdirSync(packages, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(packages, entry.name, "src"))
    .filter((src) => existsSync(src))
    .flatMap(walk)
    .sort()
}

/**
 * Strongly connected components of the import graph that form a cycle (more than one file, or a
 * file importing itself): each as its files and one cycle path through them, [a, b, …, a].
 */
export const findCycles = (graph) => {
  let index = 0
  const indices = new Map()
  const lowlinks = new Map()
  const onStack = new Set()
  const stack = []
  const components = []
  const connect = (node) => {
    // Iterative Tarjan, so that a long chain of imports cannot overflow the call stack.
    const work = [[node, 0]]
    indices.set(node, index)
    lowlinks.set(node, index)
    index++
    stack.push(node)
    onStack.add(node)
    while (work.length > 0) {
      const frame = work[work.length - 1]
      const [current, edge] = frame
      const edges = graph.get(current) ?? []
      if (edge < edges.length) {
        frame[1]++
        const target = edges[edge]
        if (!indices.has(target)) {
          indices.set(target, index)
          lowlinks.set(target, index)
          index++
          stack.push(target)
          onStack.add(target)
          work.push([target, 0])
        } else if (onStack.has(target)) {
          lowlinks.set(current, Math.min(lowlinks.get(current), indices.get(target)))
        }
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1][0]
        lowlinks.set(parent, Math.min(lowlinks.get(parent), lowlinks.get(current)))
      }
      if (lowlinks.get(current) === indices.get(current)) {
        const component = []
        let member
        do {
          member = stack.pop()
          onStack.delete(member)
          component.push(member)
        } while (member !== current)
        components.push(component)
      }
    }
  }
  for (const node of graph.keys()) if (!indices.has(node)) connect(node)
  return components
    .filter((component) => component.length > 1 || (graph.get(component[0]) ?? []).includes(component[0]))
    .map((component) => ({ cycle: cyclePath(graph, component), files: [...component].sort() }))
}

// A shortest cycle through the component's first file (in sorted order), by breadth-first search.
const cyclePath = (graph, component) => {
  const members = new Set(component)
  const start = [...component].sort()[0]
  const previous = new Map()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const current = queue[i]
    for (const target of graph.get(current) ?? []) {
      if (!members.has(target)) continue
      if (target === start) {
        const cycle = [start]
        for (let node = current; node !== start; node = previous.get(node)) cycle.splice(1, 0, node)
        return [...cycle, start]
      }
      if (!previous.has(target)) {
        previous.set(target, current)
        queue.push(target)
      }
    }
  }
  return [start, start]
}

/** Measures every source file under root; returns what a report prints. */
export const check = (root) => {
  const files = sourceFiles(root)
  const oversized = []
  const exempted = []
  const graph = new Map()
  for (const file of files) {
    const text = readFileSync(file, "utf8")
    const loc = linesOfCode(text)
    const relative = path.relative(root, file)
    if (loc > LIMIT) (hasExemption(text) ? exempted : oversized).push({ file: relative, loc })
    graph.set(
      relative,
      relativeImports(text)
        .map((specifier) => resolveImport(file, specifier))
        .filter((target) => target !== undefined)
        .map((target) => path.relative(root, target))
    )
  }
  return { files: files.length, oversized, exempted, cycles: findCycles(graph) }
}

const main = (argv) => {
  const strict = argv.includes("--strict")
  const rootFlag = argv.indexOf("--root")
  const root = rootFlag === -1
    ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
    : path.resolve(argv[rootFlag + 1] ?? ".")
  const report = check(root)
  console.log(`check-structure: ${report.files} source files, limit ${LIMIT} lines of code`)
  for (const { file, loc } of report.oversized) console.log(`  over ${LIMIT}: ${file} (${loc})`)
  for (const { file, loc } of report.exempted) console.log(`  over ${LIMIT}, exempt in its header: ${file} (${loc})`)
  for (const { cycle, files } of report.cycles) {
    console.log(`  import cycle: ${cycle.join(" -> ")}`)
    if (files.length > cycle.length - 1) {
      console.log(`    (the cycle is part of a knot of ${files.length} files: ${files.join(", ")})`)
    }
  }
  const violations = report.oversized.length + report.cycles.length
  console.log(
    violations === 0
      ? "check-structure: no violations"
      : `check-structure: ${report.oversized.length} oversized files, ${report.cycles.length} import cycles`
  )
  if (strict && violations > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2))
}
