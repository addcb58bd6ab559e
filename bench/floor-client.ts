/**
 * Floor row 6h: the HEADs of row 6 through the platform's `HttpClient.execute` on our transport
 * (`NodeHttp.layer`), without the registry client on top (no auth, reference checks, retries, error mapping or
 * spans of ours), so that the table shows what the transport and the platform's client cost beside curl.
 *
 * Usage: floor-client.ts <registry-url> <repository> <tag> <count>: one untimed HEAD, then `count` sequential
 * HEADs, each checked for a `Docker-Content-Digest`. Prints the same JSON report as the "ours" workers.
 */
import * as NodeHttp from "@effect-registry/node/NodeHttp"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { manifestAccept as accept } from "./accept.js"
import { args, run } from "./worker.js"

const [url, repository, tag, countArg] = args(["registry-url", "repository", "tag", "count"])
const count = Number(countArg)

const setup = Effect.gen(function*() {
  const http = yield* HttpClient.HttpClient
  const request = HttpClientRequest.head(`${url}/v2/${repository}/manifests/${tag}`).pipe(
    HttpClientRequest.setHeader("accept", accept)
  )
  const head = Effect.flatMap(http.execute(request), (response) => {
    const digest = response.headers["docker-content-digest"]
    return response.status === 200 && digest !== undefined
      ? Effect.succeed(digest)
      : Effect.fail(new Error(`HEAD: ${response.status}`))
  })
  yield* head
  return head
})

run(
  setup,
  (head) =>
    Effect.gen(function*() {
      let last = ""
      for (let i = 0; i < count; i++) last = yield* head
      return { requests: count, digest: last }
    }),
  NodeHttp.layer().pipe(Layer.provideMerge(NodeFileSystem.layer))
)
