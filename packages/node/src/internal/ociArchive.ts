import type * as Digest from "@effect-registry/core/Digest"
import type * as Platform from "@effect-registry/core/Platform"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Path from "node:path"
import * as BlobFile from "../BlobFile.js"
import * as OciLayout from "../OciLayout.js"
import { ArchiveError, fromTar } from "./archiveError.js"
import { kindOf } from "./dockerArchive.js"
import * as Tar from "./tarFile.js"

/** @internal */
export interface ExportImage {
  readonly repository: string
  readonly reference: string
  readonly ref?: string | undefined
  readonly platform?: Platform.Platform | undefined
  readonly concurrency?: number | undefined
  readonly tempDirectory?: string | undefined
}

/** @internal */
export interface ImportImage {
  readonly repository: string
  readonly tag?: string | undefined
  readonly ref?: string | undefined
  readonly concurrency?: number | undefined
  readonly tempDirectory?: string | undefined
}

const tempDir = (directory: string | undefined) =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) =>
      fs.makeTempDirectoryScoped({
        prefix: "effect-registry-archive-",
        ...(directory !== undefined ? { directory } : {})
      })
        .pipe(
          Effect.mapError((cause) =>
            new ArchiveError({ reason: "Write", path: directory, detail: "cannot make a temporary directory", cause })
          )
        )
  )

/**
 * Pulls the image into a temporary layout, then writes the layout as a tar: `oci-layout`, `index.json`,
 * `blobs/`, `blobs/sha256/` and the blobs, as skopeo's `oci-archive:` does.
 *
 * @internal
 */
export const exportImage = (
  client: RegistryClient.Service,
  image: ExportImage,
  path: string
): Effect.Effect<
  OciLayout.PullResult,
  ArchiveError | OciLayout.PullError,
  FileSystem.FileSystem | Scope.Scope
> =>
  Effect.gen(function*() {
    const dir = yield* tempDir(image.tempDirectory)
    const pulled = yield* OciLayout.pull(client, image.repository, image.reference, dir, {
      ref: image.ref,
      platform: image.platform,
      concurrency: image.concurrency,
      fsync: false
    })
    const fs = yield* FileSystem.FileSystem
    const readError = (path: string) => (cause: unknown) => new ArchiveError({ reason: "Read", path, cause })
    const algorithms = (yield* fs.readDirectory(Path.join(dir, "blobs")).pipe(
      Effect.mapError(readError(dir))
    )).sort()
    const blobs = yield* Effect.forEach(algorithms, (algorithm) =>
      Effect.map(
        fs.readDirectory(Path.join(dir, "blobs", algorithm)).pipe(Effect.mapError(readError(dir))),
        (names) => ({ algorithm, names: names.filter((n) => !BlobFile.isPartialName(n)).sort() })
      ))
    yield* Tar.write(path, (writer) =>
      Effect.gen(function*() {
        for (const name of ["oci-layout", "index.json"]) {
          const source = yield* BlobFile.source(Path.join(dir, name), { followSymlinks: false })
          yield* writer.stream(name, source.open(0))
        }
        yield* writer.directory("blobs")
        for (const { algorithm, names } of blobs) {
          yield* writer.directory(`blobs/${algorithm}`)
          for (const name of names) {
            const source = yield* BlobFile.source(Path.join(dir, "blobs", algorithm, name), { followSymlinks: false })
            yield* writer.stream(`blobs/${algorithm}/${name}`, source.open(0))
          }
        }
      })).pipe(
        Effect.mapError((e) => "_tag" in e ? new ArchiveError({ reason: "Read", path: e.path, cause: e }) : fromTar(e))
      )
    return pulled
  })

const inLayout = (name: string): boolean =>
  name === "oci-layout" || name === "index.json" || name === "blobs" || name.startsWith("blobs/")

/**
 * Reads the archive's headers, extracts the layout's regular files (no link, no special file, no name
 * outside the archive) into a temporary directory and pushes from it with `OciLayout.push`, which checks
 * every blob before sending anything.
 *
 * @internal
 */
export const importImage = (
  path: string,
  client: RegistryClient.Service,
  image: ImportImage
): Effect.Effect<Digest.Digest, ArchiveError | OciLayout.PushError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const index = yield* Effect.mapError(Tar.scan(path), fromTar)
    const kind = kindOf(index)
    if (kind !== "oci-archive") {
      return yield* new ArchiveError({
        reason: "NotAnArchive",
        path,
        detail: kind === "docker-archive"
          ? "no oci-layout or index.json: this looks like a `docker save` archive; import it as a docker archive"
          : "no oci-layout or index.json: not an OCI layout in a tar"
      })
    }
    const dir = yield* tempDir(image.tempDirectory)
    yield* Effect.mapError(Tar.extract(index, dir, inLayout), fromTar)
    return yield* OciLayout.push(client, dir, image.repository, image.tag, {
      ref: image.ref,
      concurrency: image.concurrency
    })
  })
