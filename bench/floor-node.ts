/**
 * Floor rows 1f and 6f: the same work as rows 1 and 6 done by a bare Node program, with nothing of ours and no
 * Effect loaded, so that the table shows what Node itself costs on this machine beside the peer.
 *
 * - `download <registry-url> <repository> <digest>`: one `node:http` GET of the blob, every piece into
 *   `crypto.createHash("sha256")`; fails unless the digest and the length match.
 * - `heads <registry-url> <repository> <tag> <count>`: one untimed HEAD of the manifest, then `count` sequential
 *   HEADs on one keep-alive `http.Agent` (one connection), each checked for a `Docker-Content-Digest`.
 *
 * Prints the same JSON report as the "ours" workers (`opMs`: the work alone, after Node's start-up).
 */
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import { manifestAccept as accept } from "./accept.js"

const [mode, url, repository, third, countArg] = process.argv.slice(2)

const report = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ok: true, ...fields })}\n`)
}

const download = (digest: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const request = Http.get(`${url}/v2/${repository}/blobs/${digest}`, (response) => {
      if (response.statusCode !== 200) {
        response.resume()
        return reject(new Error(`GET blob: ${response.statusCode}`))
      }
      const hash = Crypto.createHash("sha256")
      let bytes = 0
      response.on("data", (piece: Buffer) => {
        bytes += piece.length
        hash.update(piece)
      })
      response.on("error", reject)
      response.on("end", () => {
        const actual = `sha256:${hash.digest("hex")}`
        const length = Number(response.headers["content-length"])
        if (actual !== digest || bytes !== length) {
          return reject(new Error(`got ${actual} (${bytes} bytes), wanted ${digest} (${length} bytes)`))
        }
        report({ opMs: performance.now() - start, bytes, digest: actual })
        resolve()
      })
    })
    request.on("error", reject)
  })

const heads = async (tag: string, count: number): Promise<void> => {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
  const target = `${url}/v2/${repository}/manifests/${tag}`
  const head = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const request = Http.request(target, { method: "HEAD", agent, headers: { accept } }, (response) => {
        response.resume()
        const digest = response.headers["docker-content-digest"]
        response.on("end", () =>
          response.statusCode === 200 && typeof digest === "string"
            ? resolve(digest)
            : reject(new Error(`HEAD ${target}: ${response.statusCode}`)))
      })
      request.on("error", reject)
      request.end()
    })
  await head()
  const start = performance.now()
  let last = ""
  for (let i = 0; i < count; i++) last = await head()
  const opMs = performance.now() - start
  agent.destroy()
  report({ opMs, requests: count, digest: last })
}

const main = (): Promise<void> => {
  if (mode === "download" && third !== undefined) return download(third)
  if (mode === "heads" && third !== undefined && countArg !== undefined) return heads(third, Number(countArg))
  return Promise.reject(
    new Error("usage: floor-node.ts download <url> <repository> <digest> | heads <url> <repository> <tag> <count>")
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`)
  process.exit(1)
})
