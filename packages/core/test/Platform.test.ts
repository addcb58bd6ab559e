import { Manifest, Platform } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const fixtures = path.join(repoRoot, "fixtures/manifests")

const p = (s: string) => Effect.runSync(Platform.parse(s))

describe("Platform", () => {
  it.effect("parse and format", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Platform.parse("linux/amd64"), { os: "linux", architecture: "amd64" })
      assert.deepStrictEqual(yield* Platform.parse("linux/arm/v6"), { os: "linux", architecture: "arm", variant: "v6" })
      assert.deepStrictEqual(yield* Platform.parse("linux/arm"), { os: "linux", architecture: "arm", variant: "v7" })
      assert.deepStrictEqual(yield* Platform.parse("Linux/x86_64"), { os: "linux", architecture: "amd64" })
      assert.deepStrictEqual(yield* Platform.parse("linux/aarch64"), { os: "linux", architecture: "arm64" })
      assert.deepStrictEqual(yield* Platform.parse("linux/arm64/v8"), { os: "linux", architecture: "arm64" })
      const w = yield* Platform.parse("windows(10.0.17763.1234)/amd64")
      assert.strictEqual(w["os.version"], "10.0.17763.1234")
      assert.strictEqual(Platform.format(w), "windows(10.0.17763.1234)/amd64")
      assert.strictEqual(Platform.format(yield* Platform.parse("linux/arm/v7")), "linux/arm/v7")
    }))

  it.effect.each(["", "linux", "linux/", "/amd64", "linux/amd64/v8/x", "li nux/amd64"])(
    "Platform.parse refuses %j with PlatformInvalid",
    (bad) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(Platform.parse(bad))
        assert.strictEqual(e._tag, "PlatformInvalid")
        assert.include(e.message, "os/architecture")
      })
  )

  const table: ReadonlyArray<readonly [wanted: string, candidate: Platform.Platform, expected: boolean]> = [
    ["linux/arm64/v8", { os: "linux", architecture: "arm64" }, true],
    ["linux/arm64", { os: "linux", architecture: "arm64", variant: "v8" }, true],
    ["linux/arm64", { os: "linux", architecture: "arm64", variant: "v9" }, false],
    ["linux/arm", { os: "linux", architecture: "arm", variant: "v7" }, true],
    ["linux/arm/v7", { os: "linux", architecture: "arm" }, true],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v6" }, false],
    ["linux/amd64", { os: "linux", architecture: "amd64" }, true],
    ["linux/amd64", { os: "linux", architecture: "x86_64" }, true],
    ["linux/amd64", { os: "linux", architecture: "arm64" }, false],
    ["linux/amd64", { os: "windows", architecture: "amd64" }, false],
    ["linux/riscv64", { os: "linux", architecture: "riscv64", variant: "rva20u64" }, true],
    ["windows(10.0.17763)/amd64", { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5329" }, true],
    ["windows(10.0.17763)/amd64", { os: "windows", architecture: "amd64", "os.version": "10.0.20348.2227" }, false],
    ["windows(10.0.17763)/amd64", { os: "windows", architecture: "amd64" }, true]
  ]
  for (const [wanted, candidate, expected] of table) {
    it(`${wanted} ${expected ? "matches" : "does not match"} ${JSON.stringify(candidate)}`, () => {
      assert.strictEqual(Platform.matches(p(wanted), candidate), expected)
    })
  }

  it("os.features must be present in the candidate", () => {
    const wanted: Platform.Platform = { os: "windows", architecture: "amd64", "os.features": ["win32k"] }
    assert.isFalse(Platform.matches(wanted, { os: "windows", architecture: "amd64" }))
    assert.isTrue(Platform.matches(wanted, { os: "windows", architecture: "amd64", "os.features": ["win32k", "x"] }))
  })

  it("select prefers an exact match, then older arm variants", () => {
    const index = {
      manifests: [
        { digest: "a", platform: { os: "linux", architecture: "arm", variant: "v5" } },
        { digest: "b", platform: { os: "linux", architecture: "arm", variant: "v6" } },
        { digest: "c", platform: { os: "linux", architecture: "arm64" } },
        { digest: "d" },
        { digest: "e", platform: { os: "linux", architecture: "arm", variant: "v7" } }
      ]
    }
    assert.deepStrictEqual(Option.map(Platform.select(index, p("linux/arm/v7")), (d) => d.digest), Option.some("e"))
    assert.deepStrictEqual(Option.map(Platform.select(index, p("linux/arm/v6")), (d) => d.digest), Option.some("b"))
    assert.deepStrictEqual(Option.map(Platform.select(index, p("linux/arm64/v8")), (d) => d.digest), Option.some("c"))
    assert.isTrue(Option.isNone(Platform.select(index, p("linux/amd64"))))
    const noV7 = { manifests: index.manifests.filter((d) => d.digest !== "e") }
    assert.deepStrictEqual(Option.map(Platform.select(noV7, p("linux/arm/v7")), (d) => d.digest), Option.some("b"))
  })

  it.effect("select on the OCI index fixture", () =>
    Effect.gen(function*() {
      const m = yield* Manifest.decode(new Uint8Array(fs.readFileSync(path.join(fixtures, "ociv1.image.index.json"))))
      assert.strictEqual(m.kind, "index")
      if (m.kind !== "index") return
      const ppc = Platform.select(m.manifest, yield* Platform.parse("linux/ppc64le"))
      assert.deepStrictEqual(
        Option.map(ppc, (d) => d.digest),
        Option.some("sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f")
      )
      assert.isTrue(Option.isNone(Platform.select(m.manifest, yield* Platform.parse("plan9/mips"))))
    }))
})
