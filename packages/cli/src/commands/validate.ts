/**
 * The command `effect-registry validate IMAGE`.
 */
import * as ImageValidate from "@effect-registry/core/ImageValidate"
import * as Reference from "@effect-registry/core/Reference"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { CliError } from "../internal/cliIo.js"
import { checkConcurrency, globalOptions, parseRef, refArg, result, withRegistry } from "../internal/commandKit.js"

const problemText = (p: ImageValidate.Problem) =>
  `${p.kind} ${p.digest} (in ${p.parent})` +
  (p.expectedSize !== undefined ? `: expected ${p.expectedSize} bytes, found ${p.actualSize ?? "?"}` : "") +
  (p.detail.length > 0 ? `: ${p.detail}` : "")

export const validate = Command.make(
  "validate",
  {
    global: globalOptions,
    image: refArg("IMAGE", "The image or index to check"),
    verifyBlobs: Options.boolean("verify-blobs").pipe(
      Options.withDescription("Also download every blob and check its digest (default: existence and size)")
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("Requests at once"),
      Options.withDefault(4)
    )
  },
  ({ concurrency, global, image, verifyBlobs }) =>
    Effect.gen(function*() {
      const n = yield* checkConcurrency(concurrency)
      yield* withRegistry(global, parseRef(image), (env, client, r) =>
        Effect.gen(function*() {
          const report = yield* ImageValidate.validate(client, r.repository, Reference.manifestReference(r), {
            verifyBlobs,
            concurrency: n
          })
          const summary = `${report.manifests} manifests, ${report.blobs} blobs, ${report.bytes} bytes` +
            (report.verifiedBlobs ? " (blobs downloaded and verified)" : "")
          yield* result(
            env,
            report.ok
              ? `ok ${report.digest}: ${summary}`
              : [
                ...report.problems.map(problemText),
                `${report.problems.length} problems in ${report.digest}: ${summary}`
              ]
                .join("\n"),
            { reference: Reference.format(r), ...report }
          )
          if (!report.ok) {
            return yield* new CliError({
              reason: "Failed",
              detail: `${Reference.format(r)} is incomplete or damaged: ${report.problems.length} problems`
            })
          }
        }))
    })
).pipe(
  Command.withDescription(
    "Check that every manifest and blob reachable from IMAGE exists with the right size (and, with " +
      "--verify-blobs, digest); lists every problem, exit 1 when there is one"
  )
)
