/**
 * Row 5, the peer: a bare undici loop of `count` sequential HEADs of a manifest by tag on one keep-alive pool,
 * with the Accept header a registry client sends. `reset: false` keeps the connection after each HEAD (undici
 * closes it otherwise, and sends `Connection: close`), as our client does. One untimed request first opens the connection. Prints the same
 * JSON report as the "ours" workers (this script is the peer, not ours, but it is timed the same way).
 *
 * Usage: heads-undici.ts <registry-url> <repository> <tag> <count>
 */
import * as Undici from "@effect/platform-node/Undici"
import { manifestAccept as accept } from "./accept.js"

const [url, repository, tag, countArg] = process.argv.slice(2)
const count = Number(countArg)

const main = async () => {
  const agent = new Undici.Agent({ connections: 32, keepAliveTimeout: 10_000 })
  const target = `${url}/v2/${repository}/manifests/${tag}`
  const head = async (): Promise<string> => {
    const response = await Undici.request(target, {
      method: "HEAD",
      headers: { accept },
      dispatcher: agent,
      reset: false
    })
    await response.body.dump()
    const digest = response.headers["docker-content-digest"]
    if (response.statusCode !== 200 || typeof digest !== "string") {
      throw new Error(`HEAD ${target}: ${response.statusCode}`)
    }
    return digest
  }
  await head()
  const start = performance.now()
  let last = ""
  for (let i = 0; i < count; i++) last = await head()
  const opMs = performance.now() - start
  await agent.close()
  process.stdout.write(`${JSON.stringify({ ok: true, opMs, requests: count, digest: last })}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`)
  process.exit(1)
})
