import * as Data from "effect/Data"
import type * as Tar from "./tarFile.js"

/**
 * Why an archive could not be exported or imported.
 *
 * - `Read` / `Write`: the file system refused;
 * - `NotATar`: the file is not a tar archive;
 * - `Truncated`: the archive ends inside a header or a member;
 * - `UnsafeEntry`: a member is named outside the archive (absolute, `..`), is a link leading out of it, or
 *   is a link or special file where only regular files belong (links are never followed out of the archive
 *   and never created on disk);
 * - `Invalid`: a damaged header, or `manifest.json`, a config or `index.json` that cannot be read or is
 *   larger than its limit;
 * - `NotAnArchive`: a tar, but not of the kind asked for (the detail says what it looks like);
 * - `EntryMissing`: `manifest.json` names a member the archive does not have;
 * - `Ambiguous`: several images and none selected (see `candidates`);
 * - `ImageNotFound`: no image has the tag asked for (see `candidates`);
 * - `DigestMismatch`: a layer's content is not what the image config's `rootfs.diff_ids` says;
 * - `Unsupported`: a manifest kind or layer compression this archive format cannot hold;
 * - `PlatformNotFound`: the index has no image for the platform given, or none was given (see `candidates`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveError extends Data.TaggedError("ArchiveError")<{
  readonly reason:
    | Tar.Failure["reason"]
    | "NotAnArchive"
    | "EntryMissing"
    | "Ambiguous"
    | "ImageNotFound"
    | "DigestMismatch"
    | "Unsupported"
    | "PlatformNotFound"
  readonly path?: string | undefined
  /** The member of the archive concerned. */
  readonly entry?: string | undefined
  readonly detail?: string | undefined
  /** The images (tags) or platforms to choose from. */
  readonly candidates?: ReadonlyArray<string> | undefined
  readonly cause?: unknown
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const why: Record<ArchiveError["reason"], string> = {
      Read: "cannot read the archive",
      Write: "cannot write the archive",
      NotATar: "not a tar archive",
      Truncated: "the archive is truncated; copy or write it again",
      UnsafeEntry: "unsafe archive member, refused (nothing was pushed or written)",
      Invalid: "invalid archive content",
      NotAnArchive: "not an archive of this kind",
      EntryMissing: "a member named by the archive's manifest is missing; the archive is incomplete",
      Ambiguous: "several images in the archive: select one by its tag",
      ImageNotFound: "no image in the archive has this tag: select one of the candidates",
      DigestMismatch: "a layer does not match the image config's diff ids",
      Unsupported: "not supported",
      PlatformNotFound: "give the platform of the image to take from the index"
    }
    const parts = [
      this.path,
      this.entry !== undefined ? `member ${this.entry}` : undefined,
      this.detail,
      this.candidates !== undefined ? `candidates: ${this.candidates.join(", ") || "none"}` : undefined
    ].filter((p) => p !== undefined)
    return parts.length > 0 ? `${why[this.reason]}: ${parts.join("; ")}` : why[this.reason]
  }
}

/** @internal */
export const fromTar = (failure: Tar.Failure): ArchiveError => new ArchiveError(failure)
