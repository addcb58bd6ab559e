/**
 * Row 4, ours: copy an image with `ImageCopy.copy`, to another repository of the same registry (blobs mounted) or
 * to another registry (blobs streamed through this process).
 *
 * Usage: copy.ts <source-url> <source-repository> <tag> <target-url> <target-repository>
 */
import * as ImageCopy from "@effect-registry/core/ImageCopy"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as Effect from "effect/Effect"
import { args, clientLayer, run } from "./worker.js"

const [fromUrl, fromRepository, tag, toUrl, toRepository] = args([
  "source-url",
  "source-repository",
  "tag",
  "target-url",
  "target-repository"
])

run(
  Effect.gen(function*() {
    const from = yield* RegistryClient.RegistryClient
    const to = toUrl === fromUrl ? from : yield* RegistryClient.make({ url: toUrl })
    return { from, to }
  }),
  ({ from, to }) =>
    Effect.map(
      ImageCopy.copy({
        from: { client: from, repository: fromRepository, reference: tag },
        to: { client: to, repository: toRepository, tag }
      }),
      (result) => ({
        digest: result.digest,
        transferred: result.transferred,
        mounted: result.mounted,
        existed: result.existed,
        bytes: result.bytes
      })
    ),
  clientLayer(fromUrl)
)
