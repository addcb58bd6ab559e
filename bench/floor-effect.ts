/**
 * Floor rows 1g and 6g: the work of rows 1 and 6 as an Effect program made of the least it can be, nothing of
 * the registry client loaded, so that the table shows where Node plus Effect's runtime alone stands beside the
 * peer; the gap from there to ours is the client's own work.
 *
 * - `download <registry-url> <repository> <digest>`: one `node:http` GET of the blob (in `Effect.async`), its
 *   body as a `Stream` (`NodeStream.fromReadable` of `@effect/platform-node`) drained by `Stream.runForEachChunk`
 *   into `crypto.createHash("sha256")`; fails unless the digest and the length match.
 * - `heads <registry-url> <repository> <tag> <count>`: one untimed HEAD, then `count` sequential HEADs, each a
 *   `node:http` request on one keep-alive `http.Agent` wrapped in `Effect.async` with a span (`Effect.withSpan`,
 *   as every operation of ours has), in an `Effect.gen` loop.
 *
 * Prints the same JSON report as the "ours" workers. (Row 6h, the HEADs through the platform's `HttpClient` on
 * our transport, is `floor-client.ts`: that one loads our transport's modules.)
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import { manifestAccept as accept } from "./accept.js"
import { run } from "./worker.js"

const [mode, url, repository, third, countArg] = process.argv.slice(2)

const download = (digest: string) =>
  Effect.gen(function*() {
    const response = yield* Effect.async<Http.IncomingMessage, Error>((resume) => {
      const request = Http.get(`${url}/v2/${repository}/blobs/${digest}`, (response) => {
        if (response.statusCode === 200) return resume(Effect.succeed(response))
        response.resume()
        resume(Effect.fail(new Error(`GET blob: ${response.statusCode}`)))
      })
      request.on("error", (error) => resume(Effect.fail(error)))
    })
    const hash = Crypto.createHash("sha256")
    let bytes = 0
    yield* Stream.runForEachChunk(
      NodeStream.fromReadable<Error, Uint8Array>(() => response, (cause) => new Error(`body: ${String(cause)}`)),
      (chunk) =>
        Effect.sync(() => {
          for (const piece of chunk) {
            bytes += piece.length
            hash.update(piece)
          }
        })
    )
    const actual = `sha256:${hash.digest("hex")}`
    if (actual !== digest || bytes !== Number(response.headers["content-length"])) {
      return yield* Effect.fail(new Error(`got ${actual} (${bytes} bytes), wanted ${digest}`))
    }
    return { bytes, digest: actual }
  })

const target = () => `${url}/v2/${repository}/manifests/${third}`

const headsAsync = Effect.gen(function*() {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
  const head = Effect.async<string, Error>((resume) => {
    const request = Http.request(target(), { method: "HEAD", agent, headers: { accept } }, (response) => {
      response.resume()
      const digest = response.headers["docker-content-digest"]
      response.on("end", () =>
        resume(
          response.statusCode === 200 && typeof digest === "string"
            ? Effect.succeed(digest)
            : Effect.fail(new Error(`HEAD: ${response.statusCode}`))
        ))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    request.end()
  }).pipe(Effect.withSpan("head"))
  yield* head
  return head
})

const loop = (head: Effect.Effect<string, unknown>, count: number) =>
  Effect.gen(function*() {
    let last = ""
    for (let i = 0; i < count; i++) last = yield* head
    return { requests: count, digest: last }
  })

const count = Number(countArg)
if (mode === "download" && third !== undefined) {
  run(Effect.void, () => download(third), Layer.empty)
} else if (mode === "heads" && third !== undefined) {
  run(headsAsync, (head) => loop(head, count), Layer.empty)
} else {
  process.stderr.write("usage: floor-effect.ts download|heads <url> <repository> <digest|tag> [count]\n")
  process.exit(2)
}
