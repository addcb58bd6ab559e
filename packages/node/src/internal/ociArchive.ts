import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Descriptor from "@effect-registry/core/Descriptor"
import * as Digest from "@effect-registry/core/Digest"
import type * as Hash from "@effect-registry/core/Hash"
import type * as Manifest from "@effect-registry/core/Manifest"
import * as ManifestBuilder from "@effect-registry/core/ManifestBuilder"
import * as MediaType from "@effect-registry/core/MediaType"
import type * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import * as BlobFile from "../BlobFile.js"
import * as OciLayout from "../OciLayout.js"
import { ArchiveError, fromTar } from "./archiveError.js"
import { DockerLayerTar, kindOf } from "./dockerArchive.js"
import * as Files from "./layoutFiles.js"
import type { ExportOptions, ExportResult, ImportOptions } from "./ociArchiveTypes.js"
import * as Tar from "./tarFile.js"

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

const ociLayerType = (mediaType: string): string =>
  mediaType === MediaType.DockerLayerGzip
    ? MediaType.OciLayerGzip
    : mediaType === DockerLayerTar
    ? MediaType.OciLayerTar
    : mediaType === MediaType.DockerLayerForeignGzip
    ? MediaType.OciLayerNondistributableGzip
    : mediaType

// the size of each read when a layout's files are copied into an archive
const CopyBytes = 1024 * 1024

const invalidBuild = (cause: { readonly message: string }) =>
  new ArchiveError({ reason: "Invalid", detail: `cannot convert to OCI: ${cause.message}`, cause })

/**
 * The OCI form of a Docker manifest of the layout, as skopeo converts when it writes a layout: a schema 2
 * image becomes an OCI manifest (same config bytes and layers, OCI media types), a Docker manifest list an
 * OCI index of converted images. New manifests are written into the layout; none for what is already OCI.
 */
const toOci = (
  dir: string,
  descriptor: Descriptor.Descriptor
): Effect.Effect<
  Descriptor.Descriptor | undefined,
  ArchiveError | OciLayout.OciLayoutError | BlobFile.BlobFileError,
  FileSystem.FileSystem | Hash.Hash
> =>
  Effect.gen(function*() {
    const m = yield* OciLayout.readManifest(dir, descriptor)
    let built: Manifest.Any | undefined
    if (m.kind === "schema2") {
      built = yield* ManifestBuilder.ociManifest({
        config: { ...m.manifest.config, mediaType: MediaType.OciConfig },
        layers: m.manifest.layers.map((l) => ({ ...l, mediaType: ociLayerType(l.mediaType) }))
      }).pipe(Effect.mapError(invalidBuild))
    } else if (m.kind === "list") {
      const children = yield* Effect.forEach(m.manifest.manifests, (child) =>
        Effect.map(toOci(dir, child), (converted) => converted ?? child))
      built = yield* ManifestBuilder.ociIndex({ manifests: children }).pipe(Effect.mapError(invalidBuild))
    }
    if (built === undefined) {
      return undefined
    }
    const path = Files.blobPath(dir, built.digest)
    yield* BlobFile.writeAtomic(path, Stream.make(built.bytes), { digest: built.digest, fsync: false }).pipe(
      Effect.mapError((e) =>
        e._tag === "BlobFileError" ? e : new ArchiveError({ reason: "Write", path, cause: e })
      )
    )
    // the Docker form is not part of the archive (the temporary layout holds this image only)
    const fs = yield* FileSystem.FileSystem
    const old = Files.blobPath(dir, descriptor.digest)
    yield* fs.remove(old).pipe(Effect.mapError((cause) => new ArchiveError({ reason: "Write", path: old, cause })))
    const { digest: _d, mediaType: _m, size: _s, ...rest } = descriptor
    return { ...rest, mediaType: built.mediaType, digest: built.digest, size: built.bytes.length }
  })

/**
 * Pulls the image into a temporary layout, then writes the layout as a tar: `oci-layout`, `index.json`,
 * `blobs/`, `blobs/sha256/` and the blobs, as skopeo's `oci-archive:` does.
 *
 * @internal
 */
export const exportImage = (
  client: RegistryClient.Service,
  image: ExportOptions,
  path: string
): Effect.Effect<
  ExportResult,
  ArchiveError | OciLayout.PullError,
  FileSystem.FileSystem | Hash.Hash | Scope.Scope
> =>
  Effect.gen(function*() {
    const dir = yield* tempDir(image.tempDirectory)
    const pulled = yield* OciLayout.pull(client, image.repository, image.reference, dir, {
      ref: image.ref,
      platform: image.platform,
      concurrency: image.concurrency,
      fsync: false
    })
    const converted = image.convert === false ? undefined : yield* toOci(dir, pulled.descriptor)
    if (converted !== undefined) {
      const entry = { ...converted }
      yield* Effect.mapError(
        Files.writeIndex(dir, { raw: { schemaVersion: 2 }, rawEntries: [entry], manifests: [converted] }),
        (f) => new ArchiveError({ reason: "Write", path: f.path, detail: f.detail, cause: f.cause })
      )
    }
    const top = converted ?? pulled.descriptor
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
    // The layout's files are read into two buffers used in turn (the writer has written a piece before the
    // next is read), not into a new buffer per piece: copying a layout of any size holds 2 MiB of pieces.
    const buffers = BlobSource.bufferRing(2, CopyBytes)
    const member = (file: string) =>
      Effect.map(BlobFile.source(file, { followSymlinks: false }), (source) => {
        const into = BlobSource.openIntoOf(source)
        return into === undefined ? source.open(0) : into(0, buffers)
      })
    yield* Tar.write(path, (writer) =>
      Effect.gen(function*() {
        for (const name of ["oci-layout", "index.json"]) {
          yield* writer.stream(name, yield* member(Path.join(dir, name)))
        }
        yield* writer.directory("blobs")
        for (const { algorithm, names } of blobs) {
          yield* writer.directory(`blobs/${algorithm}`)
          for (const name of names) {
            yield* writer.stream(`blobs/${algorithm}/${name}`, yield* member(Path.join(dir, "blobs", algorithm, name)))
          }
        }
      })).pipe(
        Effect.mapError((e) => "_tag" in e ? new ArchiveError({ reason: "Read", path: e.path, cause: e }) : fromTar(e))
      )
    return {
      path,
      digest: top.digest,
      mediaType: top.mediaType,
      sourceDigest: pulled.digest,
      refName: pulled.refName,
      converted: converted !== undefined
    }
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
  image: ImportOptions
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
