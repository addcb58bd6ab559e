/**
 * The text of registry error messages: `printable` (outside text made safe and bounded) and
 * `describe` (a headline followed by the fields of an error that say where and why). The error
 * classes of `RegistryError.ts` build every `message` through these.
 *
 * @since 0.1.0
 */

/**
 * The fields of an error a message shows (a structural view of `RegistryError.Context`).
 *
 * @since 0.1.0
 */
export interface Described {
  readonly repository?: string | undefined
  readonly reference?: string | undefined
  readonly digest?: string | undefined
  readonly request?: string | undefined
  readonly status?: number | undefined
  readonly errors?: ReadonlyArray<{ readonly code: string; readonly message: string }> | undefined
  readonly detail?: string | undefined
}

/**
 * What a message shows of one field: enough to act on, never a whole hostile input.
 *
 * @since 0.1.0
 */
export const FieldLimit = 256
const DetailLimit = 2048
const EntriesShown = 5

// C0 controls (ESC among them) but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates.
const Unprintable = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const Breaks = /[\t\n]/g

/**
 * See `RegistryError.printable`.
 *
 * @since 0.1.0
 */
export const printable = (
  s: string,
  max: number,
  options?: { readonly multiline?: boolean | undefined }
): string => {
  let cut = s
  let suffix = ""
  if (s.length > max) {
    const end = Math.max(0, max)
    // do not split a surrogate pair
    const at = end > 0 && /[\ud800-\udbff]/.test(s.charAt(end - 1)) ? end - 1 : end
    cut = s.slice(0, at)
    suffix = `… (${s.length - at} more characters)`
  }
  const clean = cut.replace(Unprintable, "\uFFFD")
  return (options?.multiline === true ? clean : clean.replace(Breaks, " ")) + suffix
}

/**
 * A message: the headline, then where (repository, reference, digest), the detail, and in brackets
 * the HTTP status, the request and what the registry said. Outside text goes through `printable`.
 *
 * @since 0.1.0
 */
export const describe = (headline: string, self: Described): string => {
  const parts: Array<string> = [headline]
  const where: Array<string> = []
  if (self.repository !== undefined) where.push(`repository ${printable(self.repository, FieldLimit)}`)
  if (self.reference !== undefined) where.push(`reference ${printable(self.reference, FieldLimit)}`)
  if (self.digest !== undefined && self.digest !== self.reference) {
    where.push(`digest ${printable(self.digest, FieldLimit)}`)
  }
  if (where.length > 0) parts.push(`(${where.join(", ")})`)
  if (self.detail !== undefined && self.detail.length > 0) {
    parts.push(`: ${printable(self.detail, DetailLimit, { multiline: true })}`)
  }
  const all = self.errors ?? []
  const entries = all.slice(0, EntriesShown).map((e) =>
    printable(e.message.length > 0 ? `${e.code}: ${e.message}` : e.code, FieldLimit)
  )
  if (all.length > EntriesShown) entries.push(`${all.length - EntriesShown} more`)
  const tail: Array<string> = []
  if (self.status !== undefined) tail.push(`HTTP ${self.status}`)
  if (self.request !== undefined) tail.push(printable(self.request, 2 * FieldLimit))
  if (entries.length > 0) tail.push(`registry said ${entries.join("; ")}`)
  return parts.join(" ").replace(" :", ":") + (tail.length > 0 ? ` [${tail.join(", ")}]` : "")
}
