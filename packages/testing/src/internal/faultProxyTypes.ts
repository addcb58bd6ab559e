/**
 * The fault proxy's data types, in a module that imports nothing, so that the proxy's public module and its
 * internal plan and server can all use them without importing one another in a circle. The public `FaultProxy`
 * module re-exports every one of them; import them from there.
 *
 * @since 0.1.0
 */

/**
 * The faults the proxy can inject.
 *
 * - `reset`: forwards the request, sends the answer's headers and part of its body, then resets the connection.
 * - `status`: answers 500, 502 or 503 itself, with a distribution-style JSON error body; nothing is forwarded.
 * - `tooManyRequests`: answers 429 itself with `Retry-After` (seconds or an HTTP-date); nothing is forwarded.
 * - `stall`: reads nothing and never answers; the proxy destroys the connection after `stallMs`.
 * - `truncate`: forwards, sends the headers with the full `Content-Length` and part of the body, then closes.
 * - `loseAnswer` (PATCH, PUT and POST only): forwards the whole request, reads the registry's answer, then
 *   destroys the connection without answering.
 *
 * `reset` and `truncate` of an answer without a body (a 202 to a PATCH, a HEAD) lose the answer the same way as
 * `loseAnswer`: the registry has acted and the client gets no answer.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind = "reset" | "status" | "tooManyRequests" | "stall" | "truncate" | "loseAnswer"

/**
 * An explicit fault, applied whatever the rate and the enabled kinds. `path` is searched in the request's path
 * (without the query); `method` is compared case-insensitively; `nth` (1-based) fires the rule only on the nth
 * request it matches, otherwise it fires on every match. Every rule counts the requests it matches, even those
 * an earlier rule took; when several fire, the first in the list decides. A rule whose fault does not apply to
 * the method (`loseAnswer` on a GET) does not match.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rule {
  readonly match?: {
    readonly method?: string | undefined
    readonly path?: RegExp | undefined
    readonly nth?: number | undefined
  } | undefined
  readonly fault: FaultKind
  /** the status of a `status` fault; default 503 */
  readonly status?: 500 | 502 | 503 | undefined
}

/**
 * An answer the proxy dropped after the registry acted on the request.
 *
 * @since 0.1.0
 * @category models
 */
export interface LostAnswer {
  readonly kind: FaultKind
  readonly method: string
  readonly path: string
  /** the registry's status */
  readonly status: number
  /** the registry's `Range` header (`0-999` after 1000 bytes) */
  readonly range: string | undefined
  /** the upload session (`Docker-Upload-Uuid`, else the last path segment of an upload URL) */
  readonly uuid: string | undefined
  /** the registry's `Location`: the only one that would still have worked */
  readonly location: string | undefined
  /** request body bytes forwarded to the registry */
  readonly bytes: number
}

/**
 * One request as the proxy saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryEntry {
  /** 1-based, in arrival order since start or the last `resetStats` */
  readonly index: number
  readonly method: string
  readonly path: string
  /** the fault injected, or undefined when the request passed through */
  readonly fault: FaultKind | undefined
  /** the index of the rule that chose the fault; undefined when the PRNG did */
  readonly rule: number | undefined
}

/**
 * Counters since start or the last `resetStats`. `requests = passed + faulted`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** requests received */
  readonly requests: number
  /** requests that got no fault */
  readonly passed: number
  /** requests that got a fault */
  readonly faulted: number
  /** requests sent on to the registry (passed ones and `reset`, `truncate`, `loseAnswer`) */
  readonly forwarded: number
  readonly faults: Readonly<Record<FaultKind, number>>
  /** request body bytes handed to the registry for PATCH, PUT and POST on `/blobs/uploads/` */
  readonly uploadBytes: number
  /** response body bytes sent to clients */
  readonly responseBytes: number
  /** forwarded requests that failed between the proxy and the registry */
  readonly upstreamErrors: number
  /** answers dropped after the registry acted (the newest 10 000) */
  readonly lostAnswers: ReadonlyArray<LostAnswer>
  /**
   * bytes held by upload sessions whose PATCH answer was lost, by upload UUID, from the lost answer's `Range`
   * (a `0-0` range counts 1 byte when the PATCH carried any). Distribution 2.8 refuses the older Location after a
   * PATCH, so the client cannot resume these sessions.
   */
  readonly strandedSessions: Readonly<Record<string, number>>
  /** the sum of `strandedSessions` */
  readonly strandedBytes: number
  /** client connections open now */
  readonly activeConnections: number
}
