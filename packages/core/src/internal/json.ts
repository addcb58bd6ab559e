import * as Either from "effect/Either"

/**
 * The deepest bracket nesting (`[` / `{`) of a JSON text, outside strings.
 * Stops counting once `limit` is exceeded.
 *
 * @internal
 */
export const nestingDepth = (text: string, limit: number): number => {
  let depth = 0
  let max = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // skip the string with indexOf (most of a manifest is strings): to the next quote not escaped
      for (;;) {
        const q = text.indexOf("\"", i + 1)
        if (q < 0) return max
        let backslashes = 0
        while (text.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++
        i = q
        if (backslashes % 2 === 0) break
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return max
}

/**
 * Why a JSON text could not be read.
 *
 * @internal
 */
export type JsonProblem =
  | { readonly _tag: "Encoding"; readonly detail: string }
  | { readonly _tag: "Json"; readonly detail: string }

/**
 * Strict UTF-8 decoding (fatal on malformed sequences).
 *
 * @internal
 */
export const decodeUtf8 = (bytes: Uint8Array): Either.Either<string, JsonProblem> =>
  Either.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    catch: (): JsonProblem => ({ _tag: "Encoding", detail: "the bytes are not valid UTF-8" })
  })

/**
 * Reads JSON bytes: strict UTF-8, nesting depth limited, `JSON.parse` captured.
 *
 * @internal
 */
export const parse = (bytes: Uint8Array, maxDepth: number): Either.Either<unknown, JsonProblem> =>
  Either.flatMap(decodeUtf8(bytes), (text) => parseText(text, maxDepth))

/**
 * @internal
 */
export const parseText = (text: string, maxDepth: number): Either.Either<unknown, JsonProblem> => {
  const depth = nestingDepth(text, maxDepth)
  if (depth > maxDepth) {
    return Either.left({ _tag: "Json", detail: `JSON nested deeper than ${maxDepth} levels` })
  }
  return Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (e): JsonProblem => ({ _tag: "Json", detail: e instanceof Error ? e.message : "malformed JSON" })
  })
}

/**
 * Bytes of a string in UTF-8.
 *
 * @internal
 */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
