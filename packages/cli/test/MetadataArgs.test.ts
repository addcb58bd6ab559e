// The bin's quick path for the metadata commands (issue 18): which command lines it reads without @effect/cli
// (MetadataArgs.parse; any other goes to the tree), and that on each of those it prints and exits exactly as
// the tree (`Cli.run`) does, against a real registry: same code, same standard output, same standard error.
import { RealRegistry } from "@effect-registry/test-infra"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metadata from "../src/bin/metadata.js"
import * as MetadataArgs from "../src/internal/metadataArgs.js"
import { closedPort, pushTinyImage } from "./support/bin.js"
import { cli, tempDir } from "./support/cliHarness.js"

describe("MetadataArgs.parse", () => {
  it("reads a plain metadata command line: options anywhere, values in the next argument", () => {
    const a = MetadataArgs.parse([
      "digest",
      "--registry-opt",
      "h=insecure",
      "127.0.0.1:5000/a/b:1",
      "--plain-http",
      "-u",
      "me",
      "--password-stdin",
      "--registry-opt",
      "x=plain-http",
      "--json"
    ])
    assert.deepStrictEqual(a, {
      command: "digest",
      argument: "127.0.0.1:5000/a/b:1",
      username: "me",
      password: undefined,
      passwordStdin: true,
      insecure: false,
      plainHttp: true,
      caFile: undefined,
      registryOpt: ["h=insecure", "x=plain-http"],
      json: true,
      verbose: false,
      pretty: false,
      platform: undefined,
      pageSize: undefined
    })
    assert.strictEqual(MetadataArgs.parse(["manifest", "--pretty", "h/a:1"])?.pretty, true)
    assert.strictEqual(MetadataArgs.parse(["config", "h/a:1", "--platform", "linux/arm64"])?.platform, "linux/arm64")
    assert.strictEqual(MetadataArgs.parse(["catalog", "h", "--page-size", "10"])?.pageSize, 10)
    assert.strictEqual(MetadataArgs.parse(["tags", "h/a", "-v", "-p", "secret", "-u", "me"])?.password, "secret")
  })

  it("leaves every other command line to the tree", () => {
    const others: ReadonlyArray<ReadonlyArray<string>> = [
      [],
      ["pull", "h/a:1", "dir"],
      ["digest"],
      ["digest", "--help"],
      ["digest", "h/a:1", "-h"],
      ["digest", "h/a:1", "h/b:1"],
      ["digest", "h/a:1", "--plain-http=true"],
      ["digest", "h/a:1", "--plain-http", "--plain-http"],
      ["digest", "--plain-http", "true", "h/a:1"],
      ["digest", "--json", "no", "h/a:1"],
      ["digest", "h/a:1", "--PLAIN-HTTP"],
      ["digest", "h/a:1", "--pretty"],
      ["digest", "h/a:1", "-u"],
      ["digest", "h/a:1", "-u", "-p"],
      ["digest", "h/a:1", "-u", "a", "--username", "b"],
      ["digest", "h/a:1", "--verbose", "-v"],
      ["digest", "--", "h/a:1"],
      ["digest", "-x"],
      ["digest", ""],
      ["manifest", "put", "h/a:1", "file.json"],
      ["manifest", "put"],
      ["catalog", "h", "--page-size", "-1"],
      ["catalog", "h", "--page-size", "ten"],
      ["catalog", "h", "--page-size", "01"],
      ["tags", "h/a", "--platform", "linux/amd64"],
      ["digest", "h/a:1", "--log-level", "debug"],
      ["digest", "h/a:1", "--version"]
    ]
    for (const argv of others) assert.isUndefined(MetadataArgs.parse(argv), argv.join(" "))
  })
})

// request times in --verbose lines differ from run to run
const untimed = (s: string) => s.replace(/ \d+ms$/gm, " <t>ms")

layer(RealRegistry.layer(), { timeout: "180 seconds", excludeTestServices: true })(
  "the quick path against a registry",
  (it) => {
    it.scoped("prints and exits exactly as the tree does", () =>
      Effect.gen(function*() {
        const registry = yield* RealRegistry.RealRegistry
        const dockerConfig = yield* tempDir
        const h = registry.host
        yield* pushTinyImage(registry.url, "quick/tiny", "1")
        yield* pushTinyImage(registry.url, "quick/other", "2")
        const port = yield* closedPort
        const lines: ReadonlyArray<ReadonlyArray<string>> = [
          ["digest", `${h}/quick/tiny:1`, "--plain-http"],
          ["digest", `http://${h}/quick/tiny:1`, "--json"],
          ["digest", `${h}/quick/tiny:nope`, "--plain-http"],
          ["digest", `${h}/quick/tiny:nope`, "--plain-http", "--json"],
          ["digest", `${h}/quick/tiny:1`, "--registry-opt", `${h}=plain-http`, "-v"],
          ["digest", `${h}/Quick/Tiny:1`, "--plain-http"],
          ["digest", `${h}/quick/tiny:1`],
          ["digest", `127.0.0.1:${port}/a/b:1`, "--plain-http"],
          ["digest", `127.0.0.1:${port}/a/b:1`, "--plain-http", "--json"],
          ["tags", `${h}/quick/tiny`, "--plain-http"],
          ["tags", `${h}/quick/tiny`, "--plain-http", "--json"],
          ["tags", `${h}/quick/tiny:1`, "--plain-http"],
          ["manifest", `${h}/quick/tiny:1`, "--plain-http"],
          ["manifest", `${h}/quick/tiny:1`, "--plain-http", "--pretty"],
          ["manifest", "--json", `${h}/quick/tiny:1`, "--plain-http"],
          ["config", `${h}/quick/tiny:1`, "--plain-http"],
          ["config", `${h}/quick/tiny:1`, "--plain-http", "--json", "--platform", "linux/amd64"],
          ["config", `${h}/quick/tiny:1`, "--plain-http", "--platform", "linux"],
          ["ping", h, "--plain-http"],
          ["ping", h, "--plain-http", "--json"],
          ["catalog", h, "--plain-http"],
          ["catalog", h, "--plain-http", "--page-size", "1", "--json"],
          ["digest", `${h}/quick/tiny:1`, "--plain-http", "-u", "me", "-p", "s3cret-password"],
          ["digest", `${h}/quick/tiny:1`, "--plain-http", "-u", "me"],
          ["digest", `${h}/quick/tiny:1`, "--plain-http", "-p", "s3cret-password"],
          ["digest", `${h}/quick/tiny:1`, "--plain-http", "--ca-file", "/nonexistent/ca.pem"],
          ["digest", `${h}/quick/tiny:1`, "--registry-opt", "not an option"]
        ]
        const codes: Array<number> = []
        for (const argv of lines) {
          assert.isDefined(MetadataArgs.parse(argv), argv.join(" "))
          const tree = yield* cli(argv, { dockerConfig })
          const quick = yield* cli(argv, { dockerConfig, run: Metadata.run })
          const what = argv.join(" ")
          assert.strictEqual(quick.code, tree.code, what)
          assert.strictEqual(quick.stdout, tree.stdout, what)
          assert.strictEqual(untimed(quick.stderr), untimed(tree.stderr), what)
          codes.push(quick.code)
        }
        // the lines above cover success and each kind of failure
        assert.deepStrictEqual(Array.from(new Set(codes)).sort(), [0, 1, 2, 3])
        // the secret given with -p is scrubbed the same way; a password on standard input too
        const stdin = ["digest", `${h}/quick/tiny:1`, "--plain-http", "-u", "me", "--password-stdin"]
        const tree = yield* cli(stdin, { dockerConfig, stdin: "pw\n" })
        const quick = yield* cli(stdin, { dockerConfig, stdin: "pw\n", run: Metadata.run })
        assert.deepStrictEqual([quick.code, quick.stdout, quick.stderr], [tree.code, tree.stdout, tree.stderr])
      }), { timeout: 120_000 })
  }
)
