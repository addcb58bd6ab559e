// The repository's structure check (scripts/check-structure.mjs), run as a process on small source trees of
// our own in a temporary directory: lines of code, the header exemption, import cycles, and --strict.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../scripts/check-structure.mjs")

const tree = (files: Readonly<Record<string, string>>): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "check-structure-"))
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, "packages", name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, text)
  }
  return root
}

const run = (root: string, strict: boolean) => {
  const result = spawnSync(process.execPath, [script, "--root", root, ...(strict ? ["--strict"] : [])], {
    encoding: "utf8",
    timeout: 30_000
  })
  fs.rmSync(root, { recursive: true, force: true })
  return { status: result.status, out: result.stdout }
}

const codeLines = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i}`).join("\n")

describe("scripts/check-structure.mjs", () => {
  it("counts code lines only: comments, blocks, blank lines and comment markers inside strings", () => {
    const text = [
      "/**",
      " * a header",
      " */",
      "// a line comment",
      "",
      "const a = \"// not a comment\" /* a trailing block */",
      "const b = '/* not a block either'",
      "const c = `template ${a + `nested // text`} end`",
      "/* a block",
      "   on two lines */ const d = /\\/\\*/.test(b)",
      "  ",
      "export { a, b, c, d }"
    ].join("\n")
    // five code lines, padded to just over the limit with code lines
    const over = run(tree({ "p/src/counted.ts": `${text}\n${codeLines(446)}\n` }), false)
    assert.include(over.out, "over 450: packages/p/src/counted.ts (451)")
    const under = run(tree({ "p/src/counted.ts": `${text}\n${codeLines(445)}\n` }), false)
    assert.notInclude(under.out, "counted.ts")
    assert.include(under.out, "no violations")
  })

  it("--strict fails on an oversized file; its header can exempt it with a reason", () => {
    const oversized = run(tree({ "p/src/big.ts": codeLines(460) }), true)
    assert.strictEqual(oversized.status, 1)
    assert.include(oversized.out, "over 450: packages/p/src/big.ts (460)")
    const exempt = run(
      tree({
        "p/src/big.ts": `// A generated table.\n// structure: over-450 because it is one table\n${codeLines(460)}`
      }),
      true
    )
    assert.strictEqual(exempt.status, 0)
    assert.include(exempt.out, "exempt in its header: packages/p/src/big.ts (460)")
    // the exemption counts only in the header, not further down
    const late = run(tree({ "p/src/big.ts": `${codeLines(460)}\n// structure: over-450 because late` }), true)
    assert.strictEqual(late.status, 1)
  })

  it("finds import cycles through .js specifiers, type-only imports and re-exports; not between packages", () => {
    const cyclic = run(
      tree({
        "p/src/A.ts": "import { b } from \"./internal/b.js\"\nexport const a = b\nexport type T = string\n",
        "p/src/internal/b.ts": "import { c } from \"./c.js\"\nexport const b = c\n",
        "p/src/internal/c.ts": "import type { T } from \"../A.js\"\nexport const c: T = \"c\"\n",
        "q/src/index.ts": "export * from \"./A.js\"\n",
        "q/src/A.ts": "export const a = 1\n"
      }),
      true
    )
    assert.strictEqual(cyclic.status, 1)
    assert.include(
      cyclic.out,
      "import cycle: packages/p/src/A.ts -> packages/p/src/internal/b.ts -> packages/p/src/internal/c.ts -> packages/p/src/A.ts"
    )
    assert.include(cyclic.out, "1 import cycles")
    const acyclic = run(
      tree({
        "p/src/A.ts": "export { b } from \"./internal/b.js\"\n",
        "p/src/internal/b.ts": "import type { T } from \"./types.js\"\nexport const b: T = 1\n",
        "p/src/internal/types.ts": "export type T = number\n"
      }),
      true
    )
    assert.strictEqual(acyclic.status, 0)
    assert.include(acyclic.out, "no violations")
  })
})
