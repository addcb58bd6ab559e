/**
 * Row 2, ours: upload a blob streamed from a file with `client.uploadBlob` and `BlobFile.source`: monolithic (one
 * PUT with the size) or chunked (`PATCH`es of `chunk-bytes`).
 *
 * Usage: upload.ts <registry-url> <repository> <file> <digest> [chunk-bytes|-] [no-verify]
 *
 * `no-verify`: `verifyDigest: false` (the registry checks the digest; the client only counts the bytes).
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as BlobFile from "@effect-registry/node/BlobFile"
import * as Effect from "effect/Effect"
import { args, clientLayer, run } from "./worker.js"

const [url, repository, file, digest, chunk, verify] = args(["registry-url", "repository", "file", "digest"])
const chunkSize = chunk === undefined || chunk === "-" ? undefined : Number(chunk)

run(
  Effect.all({ client: RegistryClient.RegistryClient, source: BlobFile.source(file) }),
  ({ client, source }) =>
    Effect.gen(function*() {
      const result = yield* client.uploadBlob(repository, digest, source, {
        size: source.size,
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        ...(verify === "no-verify" ? { verifyDigest: false } : {})
      })
      if (result.skipped || result.mounted) return yield* Effect.dieMessage("the blob was not sent (skipped)")
      return { bytes: source.size }
    }),
  clientLayer(url)
)
