/**
 * A fault-injecting HTTP proxy on loopback, for tests: it stands in front of a registry (usually
 * {@link RealRegistry}), forwards every request with bodies streamed both ways, and for a chosen share of requests
 * (a seeded PRNG, so runs repeat) or for requests named by rules injects a fault: a connection reset mid-body, a
 * 500/502/503, a 429 with `Retry-After`, a stall, a truncated body, or a lost answer (the registry acted, the
 * client never hears of it). It counts the upload bytes that reached the registry and the bytes stranded in
 * upload sessions the client can no longer resume.
 *
 * The client's `Host` header is forwarded unchanged, so the registry's absolute `Location`s name the proxy.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { allKinds, defaultKinds, errorStatuses, mulberry32, type Plan } from "./internal/faultProxyPlan.js"
import { emptyCounters, makeProxy, type Proxy } from "./internal/faultProxyServer.js"
import type { FaultKind, HistoryEntry, Rule, Stats } from "./internal/faultProxyTypes.js"
import { listenLoopback } from "./internal/listen.js"
import * as RealRegistry from "./RealRegistry.js"

// The proxy's data types live in a leaf module that its internal plan and server also import; they are part of
// this module's API.
export type { FaultKind, HistoryEntry, LostAnswer, Rule, Stats } from "./internal/faultProxyTypes.js"

/**
 * Every fault kind.
 *
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<FaultKind> = allKinds

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** the registry: `http://127.0.0.1:<port>` */
  readonly upstream: string
  /** the share of requests faulted at random, 0..1; default 0 */
  readonly rate?: number | undefined
  /** the PRNG seed (a 32-bit integer); default 1 */
  readonly seed?: number | undefined
  /** the kinds the PRNG picks from; default all but `stall` */
  readonly enabled?: Iterable<FaultKind> | undefined
  /** explicit faults, tried before the PRNG */
  readonly rules?: ReadonlyArray<Rule> | undefined
  /** the statuses of random `status` faults; default 500, 502 and 503 */
  readonly statuses?: ReadonlyArray<500 | 502 | 503> | undefined
  /** the form of `Retry-After`: `seconds`, `date` (an HTTP-date) or `alternate` (seconds first); default alternate */
  readonly retryAfter?: "seconds" | "date" | "alternate" | undefined
  /** the delay `Retry-After` asks for, in whole seconds (0..3600); default 1 */
  readonly retryAfterSeconds?: number | undefined
  /** how long a stalled connection is held before the proxy destroys it (1 ms..10 min); default 30 s */
  readonly stallMs?: number | undefined
  /** body bytes forwarded before `reset`/`truncate` cut (at most half the body); default 64 KiB */
  readonly cutAfterBytes?: number | undefined
  /** how long the registry may stay silent on a forwarded request before it is given up; default 60 s */
  readonly upstreamIdleMs?: number | undefined
  /** history entries kept (the oldest go first); default 10 000 */
  readonly historyLimit?: number | undefined
}

/**
 * A running proxy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `127.0.0.1:<port>` */
  readonly host: string
  readonly port: number
  /** the registry it forwards to */
  readonly upstream: string
  readonly stats: Effect.Effect<Stats>
  /** zeroes the counters and clears the history and lost answers (rules' `nth` counts and the PRNG go on) */
  readonly resetStats: Effect.Effect<void>
  /** the newest requests, oldest first */
  readonly history: Effect.Effect<ReadonlyArray<HistoryEntry>>
  readonly setRate: (rate: number) => Effect.Effect<void, FaultProxyError>
  readonly setEnabled: (kinds: Iterable<FaultKind>) => Effect.Effect<void>
  /** replaces the rules (their `nth` counts start again) */
  readonly setRules: (rules: ReadonlyArray<Rule>) => Effect.Effect<void, FaultProxyError>
}

/**
 * Why the proxy could not start or an option was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class FaultProxyError extends Data.TaggedError("FaultProxyError")<{
  readonly reason: "InvalidOptions" | "Listen"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The proxy of a suite.
 *
 * @since 0.1.0
 * @category tags
 */
export class FaultProxy extends Context.Tag("@effect-registry/testing/FaultProxy")<FaultProxy, Running>() {}

const invalid = (message: string) => new FaultProxyError({ reason: "InvalidOptions", message })

const checkRate = (rate: number): Effect.Effect<number, FaultProxyError> =>
  Number.isFinite(rate) && rate >= 0 && rate <= 1 ? Effect.succeed(rate) : Effect.fail(invalid(`rate must be in 0..1`))

const checkInteger = (
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number
): Effect.Effect<number, FaultProxyError> => {
  const n = value ?? fallback
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? Effect.succeed(n)
    : Effect.fail(invalid(`${name} must be an integer in ${min}..${max}`))
}

const checkRules = (rules: ReadonlyArray<Rule>): Effect.Effect<ReadonlyArray<Rule>, FaultProxyError> => {
  for (const rule of rules) {
    if (!allKinds.includes(rule.fault)) return Effect.fail(invalid(`unknown fault kind in a rule`))
    const nth = rule.match?.nth
    if (nth !== undefined && !(Number.isSafeInteger(nth) && nth >= 1)) {
      return Effect.fail(invalid(`a rule's nth must be a positive integer`))
    }
    if (rule.status !== undefined && !errorStatuses.includes(rule.status)) {
      return Effect.fail(invalid(`a rule's status must be 500, 502 or 503`))
    }
  }
  return Effect.succeed(rules)
}

const kindsOf = (kinds: Iterable<FaultKind>): ReadonlyArray<FaultKind> => {
  const wanted = new Set(kinds)
  return allKinds.filter((kind) => wanted.has(kind))
}

const parseUpstream = (upstream: string): Effect.Effect<URL, FaultProxyError> =>
  Effect.try({
    try: () => new URL(upstream),
    catch: () => invalid(`upstream is not a URL: ${upstream}`)
  }).pipe(
    Effect.filterOrFail(
      (url) => url.protocol === "http:" && url.hostname.length > 0,
      () => invalid(`upstream must be an http:// URL: ${upstream}`)
    )
  )

const listen = (proxy: Proxy): Effect.Effect<number, FaultProxyError, Scope.Scope> =>
  Effect.acquireRelease(
    listenLoopback(proxy.server, (message, cause) => new FaultProxyError({ reason: "Listen", message, cause })).pipe(
      Effect.onError(() =>
        Effect.sync(() => {
          proxy.server.close()
          proxy.shutdown()
        })
      )
    ),
    () =>
      Effect.async<void>((resume) => {
        proxy.server.close(() => resume(Effect.void))
        proxy.shutdown()
        proxy.server.closeAllConnections()
      }).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore)
  )

/**
 * Starts a proxy on a free port of 127.0.0.1 in front of `upstream`; on scope close every connection is
 * destroyed, every timer cleared and the server closed.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { FaultProxy, RealRegistry } from "@effect-registry/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* RealRegistry.make()
 *   const proxy = yield* FaultProxy.make({ upstream: registry.url, rate: 0.2, seed: 7 })
 *   // point the client at proxy.url, then:
 *   const stats = yield* proxy.stats
 *   return stats.uploadBytes
 * }).pipe(Effect.scoped)
 * ```
 */
export const make = (options: Options): Effect.Effect<Running, FaultProxyError, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = yield* parseUpstream(options.upstream)
    const rate = yield* checkRate(options.rate ?? 0)
    const seed = options.seed ?? 1
    if (!Number.isFinite(seed)) return yield* invalid("seed must be a finite number")
    const rules = yield* checkRules(options.rules ?? [])
    const statuses = options.statuses ?? errorStatuses
    if (statuses.length === 0 || statuses.some((status) => !errorStatuses.includes(status))) {
      return yield* invalid("statuses must be a non-empty list of 500, 502 and 503")
    }
    const retryAfter = options.retryAfter ?? "alternate"
    if (retryAfter !== "seconds" && retryAfter !== "date" && retryAfter !== "alternate") {
      return yield* invalid("retryAfter must be seconds, date or alternate")
    }
    const retryAfterSeconds = yield* checkInteger("retryAfterSeconds", options.retryAfterSeconds, 1, 0, 3600)
    const stallMs = yield* checkInteger("stallMs", options.stallMs, 30_000, 1, 600_000)
    const cutAfterBytes = yield* checkInteger("cutAfterBytes", options.cutAfterBytes, 64 * 1024, 1, 2 ** 40)
    const upstreamIdleMs = yield* checkInteger("upstreamIdleMs", options.upstreamIdleMs, 60_000, 1, 3_600_000)
    const historyLimit = yield* checkInteger("historyLimit", options.historyLimit, 10_000, 0, 1_000_000)
    const clock = yield* Effect.clock

    const plan: Plan = {
      rate,
      enabled: kindsOf(options.enabled ?? defaultKinds),
      rules: rules.map((rule) => ({ rule, seen: 0 })),
      random: mulberry32(seed),
      statuses
    }
    const proxy = makeProxy({
      upstreamHost: upstream.hostname.replace(/^\[(.*)\]$/, "$1"),
      upstreamPort: upstream.port === "" ? 80 : Number(upstream.port),
      stallMs,
      retryAfter,
      retryAfterSeconds,
      cutAfterBytes,
      upstreamIdleMs,
      historyLimit,
      now: () => clock.unsafeCurrentTimeMillis()
    }, plan)
    const port = yield* listen(proxy)

    return {
      url: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      port,
      upstream: upstream.origin,
      stats: Effect.sync(() => proxy.stats()),
      resetStats: Effect.sync(() => {
        proxy.counters = emptyCounters()
      }),
      history: Effect.sync(() => [...proxy.counters.history]),
      setRate: (next) =>
        Effect.map(checkRate(next), (value) => {
          plan.rate = value
        }),
      setEnabled: (next) =>
        Effect.sync(() => {
          plan.enabled = kindsOf(next)
        }),
      setRules: (next) =>
        Effect.map(checkRules(next), (value) => {
          plan.rules = value.map((rule) => ({ rule, seen: 0 }))
        })
    } satisfies Running
  })

/**
 * A layer with a running proxy in front of `options.upstream`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { FaultProxy } from "@effect-registry/testing"
 *
 * const ProxyLive = FaultProxy.layer({ upstream: "http://127.0.0.1:5000", rate: 0.2, seed: 42 })
 * ```
 */
export const layer = (options: Options): Layer.Layer<FaultProxy, FaultProxyError> =>
  Layer.scoped(FaultProxy, make(options))

/**
 * A layer with a running proxy in front of the suite's {@link RealRegistry.RealRegistry}.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { FaultProxy, RealRegistry } from "@effect-registry/testing"
 * import { Layer } from "effect"
 *
 * const ProxyLive = FaultProxy.layerRealRegistry({ rate: 0.2, seed: 42 }).pipe(
 *   Layer.provideMerge(RealRegistry.layer())
 * )
 * ```
 */
export const layerRealRegistry = (
  options: Omit<Options, "upstream"> = {}
): Layer.Layer<FaultProxy, FaultProxyError, RealRegistry.RealRegistry> =>
  Layer.scoped(
    FaultProxy,
    Effect.flatMap(RealRegistry.RealRegistry, (registry) => make({ ...options, upstream: registry.url }))
  )
