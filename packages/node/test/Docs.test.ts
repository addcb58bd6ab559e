import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

// The docs cannot rot:
//
// 1. Every ```ts block of the root README and of the package READMEs is type-checked. Each block is its
//    own module (an `export {}` is appended), so it must import what it uses and `declare` what it leaves out
//    (`declare const password: Redacted.Redacted<string>`). Blocks fenced as anything else (```sh, ```text, a
//    bare ```) are not checked: use those for command lines and for fragments that are not TypeScript.
//    The blocks are written to packages/node/.docs-check/ (gitignored, removed after the run) and checked with
//    the TypeScript compiler API under the repository's compiler options, with `@effect-registry/<pkg>` and
//    `@effect-registry/<pkg>/<Module>` mapped to the packages' sources (no build needed). Unused locals are
//    allowed (examples often name a value only to show its type).
// 2. TypeDoc (typedoc.json) runs once and must exit 0 and write docs/api/index.html. It reads the other
//    packages through their dist/*.d.ts, so it needs a build first (scripts/test.sh builds before the tests;
//    `pnpm docs` builds and runs it).

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const checkDir = Path.join(root, "packages/node/.docs-check")
// the published packages (TypeDoc documents each); test-infra is private, its README is checked all the same
const packages = ["core", "node", "signing", "testing", "cli"] as const
const workspace = [...packages, "test-infra"] as const
const readmes = ["README.md", ...workspace.map((pkg) => `packages/${pkg}/README.md`)]

interface Block {
  /** the README, relative to the repository root */
  readonly readme: string
  /** the README line of the block's first code line (1-based) */
  readonly line: number
  readonly code: string
}

const blocksOf = (readme: string): ReadonlyArray<Block> => {
  const lines = Fs.readFileSync(Path.join(root, readme), "utf8").split("\n")
  const blocks: Array<Block> = []
  let open: { readonly line: number; readonly code: Array<string> } | undefined
  let fenced = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (open !== undefined) {
      if (/^```\s*$/.test(line)) {
        blocks.push({ readme, line: open.line, code: open.code.join("\n") })
        open = undefined
      } else {
        open.code.push(line)
      }
    } else if (fenced) {
      if (/^```\s*$/.test(line)) fenced = false
    } else if (/^```(ts|typescript)\s*$/.test(line)) {
      open = { line: i + 2, code: [] }
    } else if (/^```/.test(line)) {
      fenced = true
    }
  }
  return blocks
}

const compilerOptions = (): ts.CompilerOptions => {
  const base = ts.readConfigFile(Path.join(root, "tsconfig.base.json"), (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, root)
  const paths: Record<string, Array<string>> = {}
  for (const pkg of workspace) {
    paths[`@effect-registry/${pkg}`] = [Path.join(root, `packages/${pkg}/src/index.ts`)]
    paths[`@effect-registry/${pkg}/*`] = [Path.join(root, `packages/${pkg}/src/*.ts`)]
  }
  return {
    ...parsed.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    noUnusedLocals: false,
    types: ["node"],
    paths
  }
}

// The checker runs in a child process: the compiler is synchronous and would block the test worker.
const checker = `import ts from "typescript"
import * as Fs from "node:fs"
const { files, options } = JSON.parse(Fs.readFileSync(process.argv[2], "utf8"))
const program = ts.createProgram(files, options)
const describe = (d) => {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\\n  ")
  if (d.file === undefined || d.start === undefined) return { message }
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
  return { file: d.file.fileName, line, character, message }
}
const out = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(describe)
for (const file of files) {
  const source = program.getSourceFile(file)
  if (source === undefined) out.push({ message: file + ": not in the program" })
  else for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) out.push(describe(d))
}
process.stdout.write(JSON.stringify(out))
`

interface Problem {
  readonly file?: string
  readonly line?: number
  readonly character?: number
  readonly message: string
}

const execNode = (args: ReadonlyArray<string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      args,
      { cwd: root, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

// Type-checks the blocks; returns one line per problem, `README.md:42:7 message`.
const typeCheck = (blocks: ReadonlyArray<Block>) =>
  Effect.gen(function*() {
    Fs.rmSync(checkDir, { recursive: true, force: true })
    Fs.mkdirSync(checkDir, { recursive: true })
    const files = new Map<string, Block>()
    blocks.forEach((block, i) => {
      const name = `${block.readme.replace(/[^A-Za-z0-9]+/g, "_")}_${block.line}_${i}.ts`
      const file = Path.join(checkDir, name)
      Fs.writeFileSync(file, `${block.code}\nexport {}\n`)
      files.set(Path.resolve(file), block)
    })
    Fs.writeFileSync(Path.join(checkDir, "check.mjs"), checker)
    Fs.writeFileSync(
      Path.join(checkDir, "check.json"),
      JSON.stringify({ files: [...files.keys()], options: compilerOptions() })
    )
    const result = yield* execNode([Path.join(checkDir, "check.mjs"), Path.join(checkDir, "check.json")])
    if (result.code !== 0) return [`the checker failed (exit ${result.code}): ${result.stderr}`]
    const where = (file: string, line: number) => {
      const block = files.get(Path.resolve(file))
      return block === undefined ? `${Path.relative(root, file)}:${line + 1}` : `${block.readme}:${block.line + line}`
    }
    return (JSON.parse(result.stdout) as ReadonlyArray<Problem>).map((p) =>
      p.file === undefined || p.line === undefined
        ? p.message
        : `${where(p.file, p.line)}:${(p.character ?? 0) + 1} ${p.message}`
    )
  })

// TypeDoc runs in its own process, started before the tests so that it overlaps the type-check.
const startTypedoc = (): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    Fs.rmSync(Path.join(root, "docs/api/index.html"), { force: true })
    const child = ChildProcess.execFile(
      Path.join(root, "node_modules/.bin/typedoc"),
      ["--logLevel", "Warn"],
      { cwd: root, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (child.exitCode ?? 1), output: `${stdout}${stderr}` })
    )
  })

describe("docs", () => {
  let typedoc: Promise<{ code: number | null; output: string }> | undefined
  beforeAll(() => {
    typedoc = startTypedoc()
  })
  afterAll(() => typedoc, 300_000)

  it("every README has ts blocks", () => {
    for (const readme of readmes) {
      assert.isAbove(blocksOf(readme).length, 0, `${readme} has no \`\`\`ts block`)
    }
  })

  it.live("the ts blocks of the READMEs type-check", () =>
    Effect.gen(function*() {
      const problems = yield* typeCheck(readmes.flatMap(blocksOf))
      assert.deepStrictEqual(problems, [], `README examples that do not type-check:\n${problems.join("\n")}`)
    }).pipe(Effect.ensuring(Effect.sync(() => Fs.rmSync(checkDir, { recursive: true, force: true })))), 180_000)

  it.live("TypeDoc builds the API docs into docs/api", () =>
    Effect.gen(function*() {
      const index = Path.join(root, "docs/api/index.html")
      const result = yield* Effect.promise(() => typedoc ?? startTypedoc())
      assert.strictEqual(result.code, 0, result.output)
      assert.isTrue(Fs.existsSync(index), "docs/api/index.html was not written")
      const html = Fs.readFileSync(index, "utf8")
      for (const pkg of packages) assert.include(html, `@effect-registry/${pkg}`)
    }), 300_000)
})
