/**
 * Rows 5 and 6, ours: `count` sequential `client.manifestDigest` calls (HEAD of a manifest by tag) over the client's
 * keep-alive pool. One untimed call first opens the connection.
 *
 * Usage: heads.ts <registry-url> <repository> <tag> <count>
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as Effect from "effect/Effect"
import { args, clientLayer, run } from "./worker.js"

const [url, repository, tag, countArg] = args(["registry-url", "repository", "tag", "count"])
const count = Number(countArg)

run(
  Effect.tap(RegistryClient.RegistryClient, (client) => client.manifestDigest(repository, tag)),
  (client) =>
    Effect.gen(function*() {
      let last = ""
      for (let i = 0; i < count; i++) last = yield* client.manifestDigest(repository, tag)
      return { requests: count, digest: last }
    }),
  clientLayer(url)
)
