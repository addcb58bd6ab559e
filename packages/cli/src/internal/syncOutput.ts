/**
 * Printing what a repository sync did (`copy --all-tags`, `sync`): one line per tag, a failure at the end
 * when a tag could not be copied (re-running resumes: copied tags are skipped).
 */
import type * as RepositorySync from "@effect-registry/core/RepositorySync"
import * as Effect from "effect/Effect"
import type * as CliEnv from "./cliEnv.js"
import { CliError } from "./cliIo.js"
import { result } from "./commandKit.js"

const errorText = (e: { readonly message: string; readonly _tag: string }) => e.message.length > 0 ? e.message : e._tag

/** One line per tag: `copied TAG DIGEST`, `skipped TAG DIGEST` (already there), `failed TAG: message`. */
export const printSync = (env: CliEnv.Env, source: string, destination: string, r: RepositorySync.Result) =>
  Effect.forEach(r.tags, (t) =>
    result(
      env,
      t.status === "Failed"
        ? `failed ${source}:${t.tag}: ${errorText(t.error)}`
        : `${t.status === "Copied" ? "copied" : "skipped"} ${source}:${t.tag} ${t.digest}`,
      {
        source,
        destination,
        tag: t.tag,
        status: t.status.toLowerCase(),
        ...(t.status === "Failed" ? { error: errorText(t.error) } : { digest: t.digest }),
        ...(t.status === "Copied" ? { bytes: t.bytes } : {})
      }
    ), { discard: true })

/** Fails when some tags failed, saying how many and that a re-run resumes. */
export const checkSync = (results: ReadonlyArray<RepositorySync.Result>) => {
  const failed = results.reduce((n, r) => n + r.failed, 0)
  const total = results.reduce((n, r) => n + r.tags.length, 0)
  return failed === 0 ? Effect.void : Effect.fail(
    new CliError({
      reason: "Failed",
      detail: `${failed} of ${total} tags were not copied; run the same command again to resume`
    })
  )
}
