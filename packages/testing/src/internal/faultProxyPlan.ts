/**
 * The fault proxy's decisions: a seeded PRNG (mulberry32) and the choice of a fault for each request.
 * Pure apart from the PRNG's own state, so the same seed and request sequence give the same faults.
 *
 * @since 0.1.0
 */
import type { FaultKind, Rule } from "./faultProxyTypes.js"

/** Every fault kind, in the fixed order the PRNG indexes. @internal */
export const allKinds: ReadonlyArray<FaultKind> = [
  "reset",
  "status",
  "tooManyRequests",
  "stall",
  "truncate",
  "loseAnswer"
]

/** The kinds enabled when the options name none: all but `stall`. @internal */
export const defaultKinds: ReadonlyArray<FaultKind> = ["reset", "status", "tooManyRequests", "truncate", "loseAnswer"]

/** The statuses of the `status` fault. @internal */
export const errorStatuses: ReadonlyArray<500 | 502 | 503> = [500, 502, 503]

/**
 * mulberry32: a 32-bit state PRNG giving floats in [0, 1).
 *
 * @internal
 */
export const mulberry32 = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Methods whose answers the `loseAnswer` fault can drop. @internal */
export const loseAnswerMethods: ReadonlySet<string> = new Set(["PATCH", "PUT", "POST"])

/** Whether a fault kind applies to a request method. @internal */
export const applies = (kind: FaultKind, method: string): boolean =>
  kind !== "loseAnswer" || loseAnswerMethods.has(method)

/** A rule and how many requests it matched so far. @internal */
export interface RuleState {
  readonly rule: Rule
  seen: number
}

/** What to do with one request. @internal */
export interface Decision {
  readonly kind: FaultKind
  /** the status of a `status` fault */
  readonly status: 500 | 502 | 503
  /** the index of the rule that chose it, or undefined when the PRNG did */
  readonly rule: number | undefined
}

/** The mutable plan: rate, enabled kinds, rules and the PRNG. @internal */
export interface Plan {
  rate: number
  enabled: ReadonlyArray<FaultKind>
  rules: Array<RuleState>
  random: () => number
  readonly statuses: ReadonlyArray<500 | 502 | 503>
}

const ruleMatches = (state: RuleState, method: string, path: string): boolean => {
  const match = state.rule.match
  if (!applies(state.rule.fault, method)) return false
  if (match?.method !== undefined && match.method.toUpperCase() !== method) return false
  if (match?.path !== undefined && path.search(match.path) === -1) return false
  state.seen += 1
  return match?.nth === undefined || match.nth === state.seen
}

const pick = <A>(items: ReadonlyArray<A>, random: () => number): A =>
  items[Math.min(items.length - 1, Math.floor(random() * items.length))]

/**
 * The fault for a request (`undefined`: pass it through). Rules are tried first: every rule counts the requests
 * it matches (for `nth`), and the first one that fires decides; the PRNG is drawn only for requests no rule takes: one draw decides whether
 * to fault (`< rate`), a second picks the kind among the enabled kinds that apply to the method, and a third the
 * status of a `status` fault.
 *
 * @internal
 */
export const decide = (plan: Plan, method: string, path: string): Decision | undefined => {
  let chosen: Decision | undefined
  for (let index = 0; index < plan.rules.length; index++) {
    const state = plan.rules[index]
    if (ruleMatches(state, method, path) && chosen === undefined) {
      chosen = { kind: state.rule.fault, status: state.rule.status ?? 503, rule: index }
    }
  }
  if (chosen !== undefined) return chosen
  if (plan.rate <= 0) return undefined
  if (plan.random() >= plan.rate) return undefined
  const kinds = allKinds.filter((kind) => plan.enabled.includes(kind) && applies(kind, method))
  if (kinds.length === 0) return undefined
  const kind = pick(kinds, plan.random)
  const status = kind === "status" ? pick(plan.statuses, plan.random) : 503
  return { kind, status, rule: undefined }
}
