// Writes the V8 code cache of dist/bin/metadata.cjs (issue 18; run by scripts/bundle.mjs in a fresh `node`, so
// that the cache fits a plain `node` run of the bin): compiles the script, runs each of its commands once against
// a stand-in registry on 127.0.0.1 (so that the cache holds the functions a run compiles, not only those of the
// top level), then writes the cache beside it. The commands' output is discarded by the caller,
// their standard error shown if this fails.
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"

const [codeCacheModule, file] = process.argv.slice(2)
const CodeCache = await import(codeCacheModule)

const json = (value) => Buffer.from(JSON.stringify(value))
const sha256 = (bytes) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`
const configBytes = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
const manifestBytes = json({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: sha256(configBytes),
    size: configBytes.length
  },
  layers: []
})
const repo = "warm/image"
const routes = new Map([
  ["/v2/", { type: "application/json", body: json({}) }],
  [`/v2/${repo}/manifests/v1`, { type: "application/vnd.oci.image.manifest.v1+json", body: manifestBytes }],
  [`/v2/${repo}/blobs/${sha256(configBytes)}`, { type: "application/octet-stream", body: configBytes }],
  [`/v2/${repo}/tags/list`, { type: "application/json", body: json({ name: repo, tags: ["v1"] }) }],
  ["/v2/_catalog", { type: "application/json", body: json({ repositories: [repo] }) }]
])
const server = Http.createServer((req, res) => {
  const path = (req.url ?? "").split("?")[0]
  const route = routes.get(path)
  const body = route?.body ??
    json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: path }] })
  res.writeHead(route === undefined ? 404 : 200, {
    "content-type": route?.type ?? "application/json",
    "content-length": body.length,
    "docker-distribution-api-version": "registry/2.0",
    ...(route !== undefined ? { "docker-content-digest": sha256(body) } : {})
  })
  res.end(req.method === "HEAD" ? undefined : body)
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const host = `127.0.0.1:${server.address().port}`
// no settings file or Docker credentials of the machine that builds
const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-registry-warm-"))
process.env.HOME = home
process.env.DOCKER_CONFIG = home
process.env.XDG_CONFIG_HOME = Path.join(home, ".config")
delete process.env.EFFECT_REGISTRY_CONFIG
try {
  const cache = await CodeCache.produce(file, async (exports) => {
    for (
      const argv of [
        ["digest", `${host}/${repo}:v1`],
        ["tags", `${host}/${repo}`],
        ["manifest", `${host}/${repo}:v1`],
        ["manifest", `${host}/${repo}:v1`, "--json"],
        ["config", `${host}/${repo}:v1`],
        ["ping", host],
        ["catalog", host],
        ["digest", `${host}/${repo}:missing`]
      ]
    ) {
      const code = await exports.runOnce([...argv, "--plain-http"])
      const expected = argv[1].endsWith(":missing") ? 3 : 0
      if (code !== expected) throw new Error(`${argv.join(" ")} exited with ${code}, expected ${expected}`)
    }
  })
  Fs.writeFileSync(CodeCache.cachePath(file), cache)
} finally {
  server.close()
  Fs.rmSync(home, { recursive: true, force: true })
}
