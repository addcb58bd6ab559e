/**
 * Row 1, ours: download a blob with `client.downloadBlob` (digest and size verified by the client) and drain it
 * into a sink that only counts bytes.
 *
 * Usage: download.ts <registry-url> <repository> <digest>
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { args, clientLayer, run } from "./worker.js"

const [url, repository, digest] = args(["registry-url", "repository", "digest"])

run(
  RegistryClient.RegistryClient,
  (client) =>
    Effect.gen(function*() {
      let bytes = 0
      yield* Stream.runForEachChunk(client.downloadBlob(repository, digest), (chunk) =>
        Effect.sync(() => {
          for (const piece of chunk) bytes += piece.length
        }))
      return { bytes }
    }),
  clientLayer(url)
)
