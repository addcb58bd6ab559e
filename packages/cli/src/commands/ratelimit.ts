/**
 * The command `effect-registry ratelimit IMAGE`.
 */
import * as RateLimit from "@effect-registry/core/RateLimit"
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

const text = (rl: RateLimit.RateLimit | undefined) => {
  if (rl === undefined) return "no rate-limit headers (the registry does not report a pull limit)"
  const window = rl.windowSeconds !== undefined ? ` per ${rl.windowSeconds}s` : ""
  return [
    `limit: ${rl.limitCount !== undefined ? `${rl.limitCount}${window}` : rl.limit ?? "unknown"}`,
    `remaining: ${rl.remainingCount ?? rl.remaining ?? "unknown"}`,
    ...(rl.reset !== undefined ? [`reset: ${rl.reset}`] : []),
    ...(rl.source !== undefined ? [`source: ${rl.source}`] : [])
  ].join("\n")
}

export const ratelimit = Command.make(
  "ratelimit",
  { global: globalOptions, image: refArg("IMAGE", "The image whose manifest HEAD carries the rate-limit headers") },
  ({ global, image }) =>
    withRegistry(global, parseRef(image), (env, client, r) =>
      Effect.gen(function*() {
        const head = yield* RateLimit.check(client, r.repository, Reference.manifestReference(r))
        const rl = head.rateLimit
        yield* result(env, text(rl), {
          reference: Reference.format(r),
          digest: head.digest,
          limit: rl?.limit ?? null,
          remaining: rl?.remaining ?? null,
          reset: rl?.reset ?? null,
          source: rl?.source ?? null,
          limitCount: rl?.limitCount ?? null,
          remainingCount: rl?.remainingCount ?? null,
          windowSeconds: rl?.windowSeconds ?? null
        })
      }))
).pipe(
  Command.withDescription(
    "Show the pull rate limit the registry reports for IMAGE (Docker Hub's ratelimit-limit, ratelimit-remaining, " +
      "docker-ratelimit-source), from a manifest HEAD, which Docker Hub does not count as a pull"
  )
)
