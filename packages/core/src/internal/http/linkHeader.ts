/**
 * Parsing of RFC 8288 `Link` headers, as registries send them for pagination.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** @since 0.1.0 */
export interface Link {
  readonly target: string
  readonly params: Readonly<Record<string, string>>
}

const unquote = (s: string): string => {
  const t = s.trim()
  if (t.length >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
    return t.slice(1, -1).replace(/\\(.)/g, "$1")
  }
  return t
}

/**
 * Splits a `Link` header into its links. Never throws; malformed parts are dropped.
 *
 * @since 0.1.0
 */
export const parseLinks = (header: string): ReadonlyArray<Link> => {
  const links: Array<Link> = []
  let i = 0
  const n = header.length
  while (i < n) {
    const open = header.indexOf("<", i)
    if (open < 0) break
    const close = header.indexOf(">", open + 1)
    if (close < 0) break
    const target = header.slice(open + 1, close).trim()
    // parameters run until a comma that is not inside quotes
    let j = close + 1
    let inQuotes = false
    while (j < n) {
      const c = header[j]
      if (c === "\\" && inQuotes) {
        j += 2
        continue
      }
      if (c === "\"") inQuotes = !inQuotes
      else if (c === "," && !inQuotes) break
      j++
    }
    const paramText = header.slice(close + 1, Math.min(j, n))
    const params: Record<string, string> = {}
    for (const part of splitParams(paramText)) {
      const eq = part.indexOf("=")
      const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase()
      if (key.length === 0) continue
      if (!(key in params)) params[key] = eq < 0 ? "" : unquote(part.slice(eq + 1))
    }
    links.push({ target, params })
    i = j + 1
  }
  return links
}

const splitParams = (text: string): Array<string> => {
  const parts: Array<string> = []
  let current = ""
  let inQuotes = false
  for (let k = 0; k < text.length; k++) {
    const c = text[k]
    if (c === "\\" && inQuotes && k + 1 < text.length) {
      current += c + text[k + 1]
      k++
      continue
    }
    if (c === "\"") inQuotes = !inQuotes
    if (c === ";" && !inQuotes) {
      parts.push(current)
      current = ""
      continue
    }
    current += c
  }
  parts.push(current)
  return parts.map((p) => p.trim()).filter((p) => p.length > 0)
}

/**
 * The absolute URL of the `rel="next"` link, resolved against `base` (the URL
 * of the request that got the header). `None` when there is no next link or it
 * is not a usable http(s) URL.
 *
 * @since 0.1.0
 */
export const nextLink = (header: string | undefined, base: string): Option.Option<string> => {
  if (header === undefined || header.length === 0) return Option.none()
  for (const link of parseLinks(header)) {
    const rel = link.params["rel"]
    if (rel === undefined) continue
    if (!rel.toLowerCase().split(/\s+/).includes("next")) continue
    const resolved = Either.try(() => new URL(link.target, base))
    if (Either.isLeft(resolved)) continue
    const url = resolved.right
    if (url.protocol !== "http:" && url.protocol !== "https:") continue
    url.hash = ""
    return Option.some(url.toString())
  }
  return Option.none()
}
