/**
 * Row 3, ours: pull an image into a fresh OCI layout with `OciLayout.pull` (blobs verified and renamed into place,
 * default concurrency).
 *
 * Usage: pull.ts <registry-url> <repository> <tag> <layout-dir>
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Effect from "effect/Effect"
import { args, clientLayer, run } from "./worker.js"

const [url, repository, tag, dir] = args(["registry-url", "repository", "tag", "layout-dir"])

run(
  RegistryClient.RegistryClient,
  (client) =>
    Effect.map(OciLayout.pull(client, repository, tag, dir), (result) => ({
      digest: result.digest,
      blobs: result.blobs
    })),
  clientLayer(url)
)
