// Helpers of the bin tests: running a program, and a one-layer image pushed to a registry over plain http.
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Http from "node:http"

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `file` with `args` (killed after `timeoutMs`); never fails. */
export const run = (file: string, args: ReadonlyArray<string>, options: { cwd?: string; timeoutMs?: number } = {}) =>
  Effect.async<Ran>((resume) => {
    const child = ChildProcess.execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, NODE_OPTIONS: "" }
      },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr }))
    )
    child.stdin?.end()
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const sha = (bytes: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

/** Pushes an image of one small layer to `url/repository:tag` (plain http, anonymous); returns its digest. */
export const pushTinyImage = (url: string, repository: string, tag: string) =>
  Effect.promise(async () => {
    const layer = new TextEncoder().encode("a layer\n")
    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" }))
    for (const blob of [layer, config]) {
      const started = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: "POST" })
      const location = new URL(started.headers.get("location") ?? "", url)
      location.searchParams.set("digest", sha(blob))
      const put = await fetch(location, { method: "PUT", body: blob })
      if (put.status !== 201) throw new Error(`blob upload: ${put.status}`)
    }
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layer), size: layer.length }]
    }))
    const put = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      body: manifest
    })
    if (put.status !== 201) throw new Error(`manifest upload: ${put.status}`)
    return sha(manifest)
  })

/** A port nothing listens on: bound once, then closed. */
export const closedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})
