/**
 * The fault proxy's request handling on node:http: forwarding with streamed bodies both ways, and the faults.
 * Plain Node code driven by callbacks; `FaultProxy.ts` wraps it in a scoped Effect.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type * as Net from "node:net"
import { allKinds, decide, type Decision, type Plan } from "./faultProxyPlan.js"
import type { FaultKind, HistoryEntry, LostAnswer, Stats } from "./faultProxyTypes.js"

/** Fixed settings of a proxy. @internal */
export interface Config {
  readonly upstreamHost: string
  readonly upstreamPort: number
  readonly stallMs: number
  readonly retryAfter: "seconds" | "date" | "alternate"
  readonly retryAfterSeconds: number
  readonly cutAfterBytes: number
  readonly upstreamIdleMs: number
  readonly historyLimit: number
  /** milliseconds since the epoch, for `Retry-After` dates */
  readonly now: () => number
}

/** Counters (mutable). @internal */
export interface Counters {
  requests: number
  passed: number
  forwarded: number
  faults: Record<FaultKind, number>
  uploadBytes: number
  responseBytes: number
  upstreamErrors: number
  lostAnswers: Array<LostAnswer>
  stranded: Map<string, number>
  history: Array<HistoryEntry>
}

/** @internal */
export const emptyCounters = (): Counters => ({
  requests: 0,
  passed: 0,
  forwarded: 0,
  faults: { reset: 0, status: 0, tooManyRequests: 0, stall: 0, truncate: 0, loseAnswer: 0 },
  uploadBytes: 0,
  responseBytes: 0,
  upstreamErrors: 0,
  lostAnswers: [],
  stranded: new Map(),
  history: []
})

/** The proxy's live parts. @internal */
export interface Proxy {
  readonly server: Http.Server
  readonly plan: Plan
  counters: Counters
  readonly stats: () => Stats
  /** destroys every socket and timer and the upstream agent (the caller closes the server) */
  readonly shutdown: () => void
}

const hopByHop: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect"
])

/** Lost answers and history entries kept at most (the oldest go first). */
const lostAnswersLimit = 10_000
/** Bytes of a dropped answer's body read before it is discarded unread. */
const dropBodyLimit = 1024 * 1024
/** How long a half-closed (truncated) connection may stay before it is destroyed. */
const lingerMs = 2_000
/** The pause between the last bytes of a `reset` answer and the reset. */
const resetDelayMs = 20

const noop = () => {}

const pathnameOf = (target: string): string => {
  const query = target.indexOf("?")
  return query === -1 ? target : target.slice(0, query)
}

const uploadPath = /\/blobs\/uploads\/([^/]*)$/

const isUploadRequest = (method: string, path: string): boolean =>
  (method === "PATCH" || method === "PUT" || method === "POST") && uploadPath.test(path)

const headerValue = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : value?.[0]

/** Bytes a `Range: 0-<end>` header says the session holds ("0-0" is ambiguous: 0 or 1 byte). */
const rangeBytes = (range: string | undefined, carried: number): number | undefined => {
  const match = range === undefined ? null : /^(?:bytes=)?(\d+)-(\d+)$/.exec(range.trim())
  if (match === null) return undefined
  const end = Number(match[2])
  if (!Number.isSafeInteger(end)) return undefined
  return end === 0 ? (carried > 0 ? 1 : 0) : end + 1
}

const errorBody = (code: string, message: string): string =>
  JSON.stringify({ errors: [{ code, message, detail: null }] })

const errorMessages: Record<number, readonly [string, string]> = {
  500: ["UNKNOWN", "unknown error"],
  502: ["UNAVAILABLE", "bad gateway"],
  503: ["UNAVAILABLE", "service unavailable"],
  429: ["TOOMANYREQUESTS", "too many requests"]
}

const forwardedRequestHeaders = (headers: Http.IncomingHttpHeaders): Http.OutgoingHttpHeaders => {
  const out: Http.OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value
  }
  return out
}

const forwardedResponseHeaders = (raw: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (!hopByHop.has(raw[index].toLowerCase())) out.push(raw[index], raw[index + 1])
  }
  return out
}

const contentLengthOf = (response: Http.IncomingMessage): number | undefined => {
  const value = headerValue(response.headers["content-length"])
  if (value === undefined || !/^\d+$/.test(value)) return undefined
  const length = Number(value)
  return Number.isSafeInteger(length) ? length : undefined
}

const hasBody = (method: string, response: Http.IncomingMessage): boolean => {
  const status = response.statusCode ?? 0
  if (method === "HEAD" || status === 204 || status === 304 || status < 200) return false
  const length = contentLengthOf(response)
  return length === undefined || length > 0
}

/** @internal */
export const makeProxy = (config: Config, plan: Plan): Proxy => {
  const sockets = new Set<Net.Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 256 })
  let tooManyCount = 0
  let closed = false

  const proxy: Proxy = {
    server: Http.createServer(),
    plan,
    counters: emptyCounters(),
    stats: () => {
      const c = proxy.counters
      let strandedBytes = 0
      for (const bytes of c.stranded.values()) strandedBytes += bytes
      const faulted = allKinds.reduce((sum, kind) => sum + c.faults[kind], 0)
      return {
        requests: c.requests,
        passed: c.passed,
        faulted,
        forwarded: c.forwarded,
        faults: { ...c.faults },
        uploadBytes: c.uploadBytes,
        responseBytes: c.responseBytes,
        upstreamErrors: c.upstreamErrors,
        lostAnswers: [...c.lostAnswers],
        strandedSessions: Object.fromEntries(c.stranded),
        strandedBytes,
        activeConnections: sockets.size
      }
    },
    shutdown: () => {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      agent.destroy()
    }
  }
  const { server } = proxy

  const later = (ms: number, f: () => void): () => void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
    return () => {
      clearTimeout(timer)
      timers.delete(timer)
    }
  }

  server.on("connection", (socket: Net.Socket) => {
    if (closed) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })

  const destroyClient = (res: Http.ServerResponse, abrupt: boolean) => {
    const socket = res.socket
    if (socket === null) {
      res.destroy()
    } else if (abrupt && typeof socket.resetAndDestroy === "function") {
      socket.resetAndDestroy()
    } else {
      socket.destroy()
    }
  }

  /** Answers once the request body has been read (and discarded); never forwards. */
  const answerLocally = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    status: number,
    extraHeaders: Record<string, string>
  ) => {
    const [code, message] = errorMessages[status] ?? ["UNKNOWN", "unknown error"]
    const body = Buffer.from(errorBody(code, message))
    const send = () => {
      if (res.destroyed || res.headersSent) return
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "docker-distribution-api-version": "registry/2.0",
        "content-length": String(body.length),
        ...extraHeaders
      })
      res.end(body)
    }
    req.once("end", send)
    req.resume()
  }

  const retryAfterValue = (): string => {
    tooManyCount += 1
    const seconds = config.retryAfterSeconds
    const useDate = config.retryAfter === "date" || (config.retryAfter === "alternate" && tooManyCount % 2 === 0)
    if (!useDate) return String(seconds)
    // HTTP-date has whole seconds: round up so the wait is at least `seconds`.
    return new Date(Math.ceil((config.now() + seconds * 1000) / 1000) * 1000).toUTCString()
  }

  const stall = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    req.pause()
    const cancel = later(config.stallMs, () => destroyClient(res, false))
    res.once("close", cancel)
  }

  const recordLost = (entry: LostAnswer) => {
    const c = proxy.counters
    c.lostAnswers.push(entry)
    if (c.lostAnswers.length > lostAnswersLimit) c.lostAnswers.shift()
    if (entry.method === "PATCH" && entry.status === 202 && entry.uuid !== undefined) {
      const bytes = rangeBytes(entry.range, entry.bytes)
      if (bytes !== undefined) c.stranded.set(entry.uuid, Math.max(c.stranded.get(entry.uuid) ?? 0, bytes))
    }
  }

  const forward = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    method: string,
    target: string,
    path: string,
    mode: "pass" | "reset" | "truncate" | "loseAnswer"
  ) => {
    proxy.counters.forwarded += 1
    const upload = isUploadRequest(method, path)
    let carried = 0
    let settled = false
    let answered = false
    const upstream = Http.request({
      host: config.upstreamHost,
      port: config.upstreamPort,
      method,
      path: target,
      headers: forwardedRequestHeaders(req.headers),
      agent,
      timeout: config.upstreamIdleMs
    })
    upstream.on("error", () => {
      if (settled) return
      settled = true
      proxy.counters.upstreamErrors += 1
      if (res.headersSent || res.destroyed) {
        destroyClient(res, false)
      } else {
        const body = Buffer.from(errorBody("UNAVAILABLE", "the fault proxy could not reach the registry"))
        res.writeHead(502, {
          "content-type": "application/json; charset=utf-8",
          "content-length": String(body.length),
          connection: "close"
        })
        res.end(body)
      }
    })
    upstream.on("timeout", () => upstream.destroy(new Error("registry idle timeout")))
    res.once("close", () => {
      if (!res.writableFinished && !answered) {
        settled = true
        upstream.destroy()
      }
    })

    // Request body: streamed with backpressure; bytes counted once handed to the registry's socket.
    req.on("data", (chunk: Buffer) => {
      const ok = upstream.write(chunk, (error) => {
        if (error !== undefined && error !== null) return
        carried += chunk.length
        if (upload) proxy.counters.uploadBytes += chunk.length
      })
      if (!ok) req.pause()
    })
    upstream.on("drain", () => req.resume())
    req.once("end", () => upstream.end())

    upstream.once("response", (answer) => {
      answer.on("error", noop)
      answer.once("end", () => {
        answered = true
      })
      if (settled) {
        answer.destroy()
        return
      }
      const status = answer.statusCode ?? 0
      if (mode === "loseAnswer" || (mode !== "pass" && !hasBody(method, answer))) {
        // The registry has acted; read its answer whole, then leave the client without one.
        let read = 0
        answer.on("data", (chunk: Buffer) => {
          read += chunk.length
          if (read > dropBodyLimit) answer.destroy()
        })
        const drop = () => {
          if (settled) return
          settled = true
          recordLost({
            kind: mode,
            method,
            path,
            status,
            range: headerValue(answer.headers["range"]),
            uuid: headerValue(answer.headers["docker-upload-uuid"]) ?? uploadPath.exec(path)?.[1] ?? undefined,
            location: headerValue(answer.headers["location"]),
            bytes: carried
          })
          destroyClient(res, mode === "reset")
        }
        answer.once("end", drop)
        answer.once("close", drop)
        return
      }

      res.writeHead(status, answer.statusMessage, forwardedResponseHeaders(answer.rawHeaders))
      const length = contentLengthOf(answer)
      const cut = mode === "pass"
        ? Number.POSITIVE_INFINITY
        : length === undefined
        ? config.cutAfterBytes
        : Math.min(config.cutAfterBytes, Math.floor(length / 2))
      let sent = 0
      const cutNow = (part: Buffer) => {
        settled = true
        answer.destroy()
        res.flushHeaders()
        const finish = () => {
          if (mode === "reset") {
            // A RST that reaches unread data in the client's receive queue reads there as a plain EOF (Linux), and
            // right after the write callback the data is still unread: give the client a moment to read it.
            const cancel = later(resetDelayMs, () => destroyClient(res, true))
            res.once("close", cancel)
          } else {
            res.socket?.end()
            const cancel = later(lingerMs, () => destroyClient(res, false))
            res.once("close", cancel)
          }
        }
        if (part.length > 0) {
          proxy.counters.responseBytes += part.length
          res.write(part, finish)
        } else {
          setImmediate(finish)
        }
      }
      answer.on("data", (chunk: Buffer) => {
        if (settled) return
        if (sent + chunk.length > cut || (sent + chunk.length === cut && mode !== "pass")) {
          cutNow(chunk.subarray(0, cut - sent))
          return
        }
        sent += chunk.length
        proxy.counters.responseBytes += chunk.length
        if (!res.write(chunk)) answer.pause()
      })
      res.on("drain", () => answer.resume())
      answer.once("end", () => {
        if (settled) return
        if (mode === "pass") {
          settled = true
          res.end()
        } else {
          cutNow(Buffer.alloc(0))
        }
      })
      answer.once("close", () => {
        if (!settled && !answer.complete) {
          settled = true
          proxy.counters.upstreamErrors += 1
          destroyClient(res, false)
        }
      })
    })
  }

  server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    req.on("error", noop)
    res.on("error", noop)
    const counters = proxy.counters
    const method = (req.method ?? "GET").toUpperCase()
    const target = req.url ?? "/"
    const path = pathnameOf(target)
    counters.requests += 1
    const decision: Decision | undefined = decide(plan, method, path)
    counters.history.push({
      index: counters.requests,
      method,
      path,
      fault: decision?.kind,
      rule: decision?.rule
    })
    if (counters.history.length > config.historyLimit) counters.history.shift()
    if (decision === undefined) {
      counters.passed += 1
      forward(req, res, method, target, path, "pass")
      return
    }
    counters.faults[decision.kind] += 1
    switch (decision.kind) {
      case "status":
        return answerLocally(req, res, decision.status, {})
      case "tooManyRequests":
        return answerLocally(req, res, 429, { "retry-after": retryAfterValue() })
      case "stall":
        return stall(req, res)
      case "reset":
      case "truncate":
      case "loseAnswer":
        return forward(req, res, method, target, path, decision.kind)
    }
  })

  return proxy
}
