/**
 * Row 3, ours: push an image from an OCI layout with `OciLayout.push` (blobs from their files, default
 * concurrency).
 *
 * Usage: push.ts <registry-url> <layout-dir> <repository> <tag>
 */
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as OciLayout from "@effect-registry/node/OciLayout"
import * as Effect from "effect/Effect"
import { args, clientLayer, run } from "./worker.js"

const [url, dir, repository, tag] = args(["registry-url", "layout-dir", "repository", "tag"])

run(
  RegistryClient.RegistryClient,
  (client) => Effect.map(OciLayout.push(client, dir, repository, tag), (digest) => ({ digest })),
  clientLayer(url)
)
