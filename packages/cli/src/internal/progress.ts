/**
 * Progress on standard error (never standard output, which holds the result only).
 *
 * On a terminal: one line per blob in flight (short digest, bytes, rate, ETA) and a total line, redrawn in place
 * at most every 100 ms; a finished blob leaves one line above them. Elsewhere (a pipe, a file, CI logs): a line
 * per finished blob and a total line every few seconds (`EFFECT_REGISTRY_PROGRESS_INTERVAL` milliseconds,
 * default 5000).
 */
import type * as Progress from "@effect-registry/core/Progress"
import * as ProgressService from "@effect-registry/core/Progress"
import * as RegistryError from "@effect-registry/core/RegistryError"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { IoService } from "./cliIo.js"

/** `1.2 MiB` style sizes. */
export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

/** `45s`, `3m05s`, `2h10m`. */
export const formatDuration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

interface Blob {
  bytes: number
  total: number | undefined
  done: boolean
  readonly started: number
}

/** Short form of a digest: algorithm and 12 hex digits. */
const short = (digest: string) => {
  const colon = digest.indexOf(":")
  return RegistryError.printable(colon >= 0 ? digest.slice(0, colon + 13) : digest.slice(0, 19), 32)
}

const rateOf = (bytes: number, since: number, now: number) => {
  const seconds = (now - since) / 1000
  return seconds > 0.2 ? bytes / seconds : undefined
}

const figures = (bytes: number, total: number | undefined, since: number, now: number): string => {
  const rate = rateOf(bytes, since, now)
  const size = total !== undefined ? `${formatBytes(bytes)} / ${formatBytes(total)}` : formatBytes(bytes)
  const speed = rate !== undefined ? `  ${formatBytes(Math.round(rate))}/s` : ""
  const eta = rate !== undefined && rate > 0 && total !== undefined && total > bytes
    ? `  ETA ${formatDuration((total - bytes) / rate)}`
    : ""
  return `${size}${speed}${eta}`
}

/** Blob lines shown at once on a terminal (the rest are counted on the total line). */
const MaxBlobLines = 8

/**
 * The text to write for each event: a state machine, given the time of each event, so that it is tested without
 * a terminal or a clock.
 */
export const renderer = (options: {
  readonly tty: boolean
  readonly columns: number
  /** On a pipe: the least time between two total lines. */
  readonly intervalMs: number
}) => {
  const blobs = new Map<string, Blob>()
  let drawn = 0
  let lastDraw = -Infinity
  let lastPlain: number | undefined
  let started: number | undefined
  const width = Math.max(20, options.columns - 1)
  const fit = (line: string) => (line.length > width ? line.slice(0, width) : line)

  const totals = (now: number) => {
    const all = Array.from(blobs.values())
    const bytes = all.reduce((n, b) => n + b.bytes, 0)
    const known = all.every((b) => b.total !== undefined)
    const total = known ? all.reduce((n, b) => n + (b.total ?? 0), 0) : undefined
    const done = all.filter((b) => b.done).length
    return `total  ${figures(bytes, total, started ?? now, now)}  ${done}/${all.length} blobs`
  }
  const blobLine = (digest: string, b: Blob, now: number) =>
    `${short(digest)}  ${figures(b.bytes, b.total, b.started, now)}`

  // on a terminal: erase the block drawn last, write `above` (lines that stay), draw the block again
  const redraw = (now: number, above: ReadonlyArray<string>, block: boolean): string => {
    let out = drawn > 0 ? `\u001b[${drawn}F\u001b[J` : ""
    for (const line of above) out += fit(line) + "\n"
    drawn = 0
    if (block) {
      const active = Array.from(blobs.entries()).filter(([, b]) => !b.done)
      for (const [digest, b] of active.slice(0, MaxBlobLines)) {
        out += fit(blobLine(digest, b, now)) + "\n"
        drawn++
      }
      if (active.length > MaxBlobLines) {
        out += fit(`... and ${active.length - MaxBlobLines} more`) + "\n"
        drawn++
      }
      out += fit(totals(now)) + "\n"
      drawn++
    }
    lastDraw = now
    return out
  }

  return (event: Progress.Event, now: number): string => {
    started ??= now
    switch (event._tag) {
      case "BlobStart":
      case "BlobProgress": {
        const known = blobs.get(event.digest)
        if (known === undefined) {
          blobs.set(event.digest, { bytes: event.bytes, total: event.total, done: false, started: now })
        } else {
          known.bytes = event.bytes
          known.total = event.total ?? known.total
          known.done = false
        }
        if (options.tty) return now - lastDraw >= 100 ? redraw(now, [], true) : ""
        lastPlain ??= now
        if (now - lastPlain >= options.intervalMs) {
          lastPlain = now
          return totals(now) + "\n"
        }
        return ""
      }
      case "BlobDone": {
        const known = blobs.get(event.digest)
        const b: Blob = known ?? { bytes: 0, total: event.total, done: true, started: now }
        b.bytes = event.total ?? Math.max(b.bytes, event.bytes)
        b.total = event.total ?? b.total
        b.done = true
        blobs.set(event.digest, b)
        const line = `${short(event.digest)}  ${event.outcome.toLowerCase()}  ${formatBytes(event.bytes)}`
        return options.tty ? redraw(now, [line], true) : line + "\n"
      }
      case "ImageDone": {
        const summary = `${totals(now)}\n${event.digest} done, ${formatBytes(event.bytes)} moved`
        const out = options.tty ? redraw(now, [], false) + summary + "\n" : summary + "\n"
        blobs.clear()
        started = undefined
        lastPlain = undefined
        return out
      }
    }
  }
}

/** A progress sink drawing to standard error: live lines on a terminal, periodic plain lines otherwise. */
export const layer = (io: IoService): Layer.Layer<ProgressService.Progress> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const intervalMs = yield* Config.integer("EFFECT_REGISTRY_PROGRESS_INTERVAL").pipe(
      Config.withDefault(5000),
      Effect.orElseSucceed(() => 5000)
    )
    const render = renderer({ tty: io.stderrIsTTY, columns: io.columns, intervalMs: Math.max(100, intervalMs) })
    // events come from concurrent transfers: each one's text is written before the next is rendered
    const lock = yield* Effect.makeSemaphore(1)
    const emit = (event: Progress.Event): Effect.Effect<void> =>
      lock.withPermits(1)(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const text = render(event, now)
        return text.length > 0 ? io.stderr(text) : Effect.void
      }))
    return Layer.succeed(ProgressService.Progress, ProgressService.Progress.of({ emit }))
  }))
