import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Net from "node:net"
import * as FaultProxy from "../src/FaultProxy.js"
import * as RealRegistry from "../src/RealRegistry.js"

interface Outcome {
  readonly status: number | undefined
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
  /** the client-side error (code or message), if the exchange failed */
  readonly error: string | undefined
  /** every error seen, first first */
  readonly errors: ReadonlyArray<string>
  readonly ms: number
}

/** One request over its own connection; never fails: the outcome says what happened. */
const raw = (
  url: string,
  options: {
    readonly method?: string
    readonly headers?: Record<string, string>
    readonly body?: Uint8Array
    readonly timeoutMs?: number
  } = {}
): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const started = Date.now()
    let status: number | undefined
    let headers: Http.IncomingHttpHeaders = {}
    const chunks: Array<Buffer> = []
    const errors: Array<string> = []
    let complete = false
    let done = false
    const finish = () => {
      if (done) return
      done = true
      if (status !== undefined && !complete && errors.length === 0) errors.push("incomplete")
      resume(Effect.succeed({
        status,
        headers,
        body: Buffer.concat(chunks),
        error: errors[0],
        errors,
        ms: Date.now() - started
      }))
    }
    const onError = (error: NodeJS.ErrnoException) => errors.push(`${error.code ?? ""} ${error.message}`.trim())
    const request = Http.request(url, {
      method: options.method ?? "GET",
      agent: false,
      headers: options.headers,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs })
    }, (response) => {
      status = response.statusCode
      headers = response.headers
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", onError)
      response.on("end", () => {
        complete = response.complete
      })
    })
    request.on("timeout", () => {
      errors.push("timeout")
      request.destroy()
    })
    request.on("error", onError)
    // "close" comes after every "error" and "end" of the exchange
    request.on("close", () => setImmediate(finish))
    request.end(options.body === undefined ? undefined : Buffer.from(options.body))
    return Effect.sync(() => request.destroy())
  }).pipe(
    Effect.timeoutTo({
      duration: "10 seconds",
      onTimeout: () => ({
        status: undefined,
        headers: {},
        body: Buffer.alloc(0),
        error: "guard",
        errors: ["guard"],
        ms: 10_000
      }),
      onSuccess: (outcome) => outcome
    })
  )

/** A GET over a bare TCP socket: what arrived, and whether the server ended (FIN) or reset (RST) the connection. */
const tcpGet = (port: number, path: string) =>
  Effect.async<{ readonly head: string; readonly body: Buffer; readonly ended: boolean; readonly error?: string }>(
    (resume) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      const chunks: Array<Buffer> = []
      let ended = false
      let error: string | undefined
      socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      socket.on("end", () => {
        ended = true
      })
      socket.on("error", (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message
      })
      socket.on("close", () => {
        const all = Buffer.concat(chunks)
        const split = all.indexOf("\r\n\r\n")
        resume(Effect.succeed({
          head: all.subarray(0, Math.max(0, split)).toString(),
          body: split === -1 ? Buffer.alloc(0) : all.subarray(split + 4),
          ended,
          ...(error === undefined ? {} : { error })
        }))
      })
      socket.setTimeout(5000, () => socket.destroy())
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
      return Effect.sync(() => socket.destroy())
    }
  )

const sha256 = (bytes: Uint8Array) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`

const octets = { "content-type": "application/octet-stream" }

const defined = <A>(value: A | undefined): A => {
  if (value === undefined) throw new Error("expected a value")
  return value
}

const header = (outcome: Outcome, name: string): string => {
  const value = outcome.headers[name]
  return defined(Array.isArray(value) ? value[0] : value)
}

/** POST + monolithic PUT (through whatever `url` is); returns the digest. */
const upload = (url: string, repository: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const digest = sha256(bytes)
    const started = yield* raw(`${url}/v2/${repository}/blobs/uploads/`, { method: "POST" })
    assert.strictEqual(started.status, 202)
    const location = new URL(header(started, "location"))
    location.searchParams.set("digest", digest)
    const put = yield* raw(location.toString(), { method: "PUT", headers: octets, body: bytes })
    assert.strictEqual(put.status, 201, put.body.toString())
    return digest
  })

const errorCode = (outcome: Outcome): string => {
  const parsed: { readonly errors: ReadonlyArray<{ readonly code: string }> } = JSON.parse(outcome.body.toString())
  return parsed.errors[0].code
}

const waitFor = (condition: Effect.Effect<boolean>, attempts: number) =>
  Effect.gen(function*() {
    for (let left = attempts; left > 0; left--) {
      if (yield* condition) return true
      yield* Effect.sleep("20 millis")
    }
    return false
  })

const refused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    const done = (value: boolean) => {
      socket.destroy()
      resume(Effect.succeed(value))
    }
    socket.setTimeout(2000, () => done(false))
    socket.once("connect", () => done(false))
    socket.once("error", () => done(true))
  })

layer(RealRegistry.layer(), { excludeTestServices: true, timeout: "60 seconds" })("FaultProxy", (it) => {
  it.scoped("passes requests through: ping, chunked upload, monolithic upload, byte-exact download", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({ upstream: registry.url })
      assert.strictEqual(proxy.url, `http://127.0.0.1:${proxy.port}`)

      const ping = yield* raw(`${proxy.url}/v2/`)
      assert.strictEqual(ping.status, 200)
      assert.strictEqual(ping.body.toString(), "{}")
      assert.strictEqual(header(ping, "docker-distribution-api-version"), "registry/2.0")

      // chunked: POST, two PATCHes, closing PUT; every Location names the proxy
      const blob = Crypto.randomBytes(3 * 1024 * 1024 + 17)
      const started = yield* raw(`${proxy.url}/v2/fp/pass/blobs/uploads/`, { method: "POST" })
      assert.strictEqual(started.status, 202)
      assert.isTrue(header(started, "location").startsWith(`${proxy.url}/v2/fp/pass/blobs/uploads/`))
      const first = yield* raw(header(started, "location"), {
        method: "PATCH",
        headers: octets,
        body: blob.subarray(0, 1024 * 1024)
      })
      assert.strictEqual(first.status, 202)
      assert.strictEqual(header(first, "range"), `0-${1024 * 1024 - 1}`)
      assert.isTrue(header(first, "location").startsWith(proxy.url))
      const second = yield* raw(header(first, "location"), {
        method: "PATCH",
        headers: octets,
        body: blob.subarray(1024 * 1024)
      })
      assert.strictEqual(second.status, 202)
      const close = new URL(header(second, "location"))
      close.searchParams.set("digest", sha256(blob))
      const put = yield* raw(close.toString(), { method: "PUT", headers: { "content-length": "0" } })
      assert.strictEqual(put.status, 201)
      assert.strictEqual(header(put, "docker-content-digest"), sha256(blob))
      assert.isTrue(header(put, "location").startsWith(proxy.url))

      const monolithic = Crypto.randomBytes(2 * 1024 * 1024)
      const digest = yield* upload(proxy.url, "fp/pass", monolithic)

      const got = yield* raw(`${proxy.url}/v2/fp/pass/blobs/${sha256(blob)}`)
      assert.strictEqual(got.status, 200)
      assert.isUndefined(got.error)
      assert.isTrue(got.body.equals(blob))
      const got2 = yield* raw(`${proxy.url}/v2/fp/pass/blobs/${digest}`)
      assert.isTrue(got2.body.equals(monolithic))
      const head = yield* raw(`${proxy.url}/v2/fp/pass/blobs/${digest}`, { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(header(head, "content-length"), String(monolithic.length))

      const stats = yield* proxy.stats
      assert.strictEqual(stats.requests, 10)
      assert.strictEqual(stats.passed, 10)
      assert.strictEqual(stats.faulted, 0)
      assert.strictEqual(stats.forwarded, 10)
      assert.strictEqual(stats.uploadBytes, blob.length + monolithic.length)
      assert.strictEqual(stats.responseBytes, 2 + blob.length + monolithic.length)
      assert.strictEqual(stats.strandedBytes, 0)
      assert.strictEqual(stats.upstreamErrors, 0)
    }))

  it.scoped("reset: the client gets the headers and part of the body, then a socket error", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const blob = Crypto.randomBytes(512 * 1024)
      const digest = yield* upload(registry.url, "fp/reset", blob)
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        rules: [{ match: { method: "GET", path: /\/blobs\/sha256:/ }, fault: "reset" }]
      })
      const got = yield* raw(`${proxy.url}/v2/fp/reset/blobs/${digest}`)
      assert.strictEqual(got.status, 200)
      assert.strictEqual(header(got, "content-length"), String(blob.length))
      assert.isDefined(got.error)
      assert.isAbove(got.body.length, 0)
      assert.isBelow(got.body.length, blob.length)
      assert.isTrue(blob.subarray(0, got.body.length).equals(got.body))
      // on the wire: the headers and at most 64 KiB, then a RST (Linux shows a RST that lands on still unread data
      // as a plain EOF, so look at up to three connections)
      const wires = []
      for (let attempt = 0; attempt < 3; attempt++) {
        const wire = yield* tcpGet(proxy.port, `/v2/fp/reset/blobs/${digest}`)
        wires.push(wire)
        assert.match(wire.head, /^HTTP\/1\.1 200 /)
        assert.isAtMost(wire.body.length, 64 * 1024)
        assert.isTrue(blob.subarray(0, wire.body.length).equals(wire.body))
        if (wire.error === "ECONNRESET") break
      }
      assert.strictEqual(wires[wires.length - 1].error, "ECONNRESET")
      const stats = yield* proxy.stats
      assert.strictEqual(stats.faults.reset, 1 + wires.length)
      assert.isAtMost(stats.responseBytes, (1 + wires.length) * 64 * 1024)
    }))

  it.scoped("status: 500, 502 and 503 with a distribution-style JSON body, nothing forwarded", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        rules: [
          { match: { path: /^\/v2\/$/, nth: 1 }, fault: "status", status: 500 },
          { match: { path: /^\/v2\/$/, nth: 2 }, fault: "status", status: 502 },
          { match: { path: /^\/v2\/$/, nth: 3 }, fault: "status" },
          { match: { method: "patch" }, fault: "status" }
        ]
      })
      const statuses: Array<number | undefined> = []
      for (let i = 0; i < 3; i++) {
        const outcome = yield* raw(`${proxy.url}/v2/`)
        statuses.push(outcome.status)
        assert.match(header(outcome, "content-type"), /^application\/json/)
        assert.oneOf(errorCode(outcome), ["UNKNOWN", "UNAVAILABLE"])
      }
      assert.deepStrictEqual(statuses, [500, 502, 503])
      // a request with a body gets its answer once the body is read (and dropped), not an EPIPE
      const patch = yield* raw(`${proxy.url}/v2/fp/status/blobs/uploads/some-uuid`, {
        method: "PATCH",
        headers: octets,
        body: Crypto.randomBytes(1024 * 1024)
      })
      assert.strictEqual(patch.status, 503)
      assert.strictEqual(errorCode(patch), "UNAVAILABLE")
      const stats = yield* proxy.stats
      assert.strictEqual(stats.faults.status, 4)
      assert.strictEqual(stats.forwarded, 0)
      assert.strictEqual(stats.uploadBytes, 0)
    }))

  it.scoped("tooManyRequests: 429 with Retry-After in seconds, then as an HTTP-date", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        retryAfterSeconds: 2,
        rules: [{ match: { path: /\/blobs\/uploads\/$/ }, fault: "tooManyRequests" }]
      })
      const url = `${proxy.url}/v2/fp/429/blobs/uploads/`
      const first = yield* raw(url, { method: "POST", headers: octets, body: Crypto.randomBytes(256 * 1024) })
      assert.strictEqual(first.status, 429)
      assert.strictEqual(errorCode(first), "TOOMANYREQUESTS")
      assert.strictEqual(header(first, "retry-after"), "2")
      const before = Date.now()
      const second = yield* raw(url, { method: "POST" })
      assert.strictEqual(second.status, 429)
      const date = header(second, "retry-after")
      assert.match(date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
      const wait = Date.parse(date) - before
      assert.isAtLeast(wait, 1000)
      assert.isAtMost(wait, 4000)
      const third = yield* raw(url, { method: "POST" })
      assert.strictEqual(header(third, "retry-after"), "2")

      const dates = yield* FaultProxy.make({
        upstream: registry.url,
        retryAfter: "date",
        rules: [{ fault: "tooManyRequests" }]
      })
      for (let i = 0; i < 2; i++) {
        const outcome = yield* raw(`${dates.url}/v2/`)
        assert.strictEqual(outcome.status, 429)
        assert.isFalse(Number.isNaN(Date.parse(header(outcome, "retry-after"))))
      }
      const stats = yield* proxy.stats
      assert.strictEqual(stats.faults.tooManyRequests, 3)
      assert.strictEqual(stats.forwarded, 0)
      assert.strictEqual(stats.uploadBytes, 0)
    }))

  it.scoped("stall: the client times out; the proxy frees a stalled socket within stallMs", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({ upstream: registry.url, stallMs: 600, rules: [{ fault: "stall" }] })
      const impatient = yield* raw(`${proxy.url}/v2/`, { timeoutMs: 200 })
      assert.strictEqual(impatient.error, "timeout")
      assert.isUndefined(impatient.status)
      assert.isTrue(yield* waitFor(Effect.map(proxy.stats, (s) => s.activeConnections === 0), 50))

      const patient = yield* raw(`${proxy.url}/v2/`)
      assert.isUndefined(patient.status)
      assert.isDefined(patient.error)
      assert.notStrictEqual(patient.error, "guard")
      assert.isAtLeast(patient.ms, 550)
      assert.isBelow(patient.ms, 3000)
      const stats = yield* proxy.stats
      assert.strictEqual(stats.faults.stall, 2)
      assert.strictEqual(stats.forwarded, 0)
    }))

  it.scoped("truncate: headers with the full Content-Length, then fewer bytes and a close", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const blob = Crypto.randomBytes(200 * 1024)
      const digest = yield* upload(registry.url, "fp/truncate", blob)
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        cutAfterBytes: 50_000,
        rules: [{ match: { method: "GET" }, fault: "truncate" }]
      })
      const got = yield* raw(`${proxy.url}/v2/fp/truncate/blobs/${digest}`)
      assert.strictEqual(got.status, 200)
      assert.strictEqual(header(got, "content-length"), String(blob.length))
      assert.isDefined(got.error)
      assert.strictEqual(got.body.length, 50_000)
      assert.isTrue(blob.subarray(0, 50_000).equals(got.body))
      // on the wire: the full Content-Length, 50 000 bytes, then an orderly close (FIN), not a reset
      const wire = yield* tcpGet(proxy.port, `/v2/fp/truncate/blobs/${digest}`)
      assert.match(wire.head, new RegExp(`content-length: ${blob.length}`, "i"))
      assert.isTrue(wire.ended)
      assert.isUndefined(wire.error)
      assert.strictEqual(wire.body.length, 50_000)
      // a small body is cut at half its length
      const ping = yield* raw(`${proxy.url}/v2/`)
      assert.strictEqual(ping.status, 200)
      assert.strictEqual(ping.body.toString(), "{")
      assert.isDefined(ping.error)
      assert.strictEqual((yield* proxy.stats).faults.truncate, 3)
    }))

  it.scoped("loseAnswer on PATCH: the registry took the bytes, the client cannot resume, stats strand them", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        rules: [{ match: { method: "PATCH", nth: 1 }, fault: "loseAnswer" }]
      })
      const started = yield* raw(`${proxy.url}/v2/fp/lose/blobs/uploads/`, { method: "POST" })
      assert.strictEqual(started.status, 202)
      const older = header(started, "location")
      const chunk = Crypto.randomBytes(1000)
      const patch = yield* raw(older, { method: "PATCH", headers: octets, body: chunk })
      assert.isUndefined(patch.status)
      assert.isDefined(patch.error)
      assert.notStrictEqual(patch.error, "guard")

      // the client only has the older Location, which the registry now refuses
      const status = yield* raw(older)
      assert.strictEqual(status.status, 404)
      assert.strictEqual(errorCode(status), "BLOB_UPLOAD_INVALID")

      const stats = yield* proxy.stats
      assert.strictEqual(stats.uploadBytes, 1000)
      assert.strictEqual(stats.strandedBytes, 1000)
      assert.deepStrictEqual(stats.strandedSessions, { [header(started, "docker-upload-uuid")]: 1000 })
      assert.strictEqual(stats.lostAnswers.length, 1)
      const lost = stats.lostAnswers[0]
      assert.strictEqual(lost.kind, "loseAnswer")
      assert.strictEqual(lost.status, 202)
      assert.strictEqual(lost.range, "0-999")
      assert.strictEqual(lost.bytes, 1000)
      // the newer Location existed only in the dropped answer: the registry did act on the PATCH
      const newer = yield* raw(defined(lost.location))
      assert.strictEqual(newer.status, 204)
      assert.strictEqual(header(newer, "range"), "0-999")
    }))

  it.scoped("loseAnswer on the closing PUT and reset of a body-less answer: the registry acted anyway", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({
        upstream: registry.url,
        rules: [
          { match: { method: "PUT" }, fault: "loseAnswer" },
          { match: { method: "PATCH" }, fault: "reset" }
        ]
      })
      const blob = Crypto.randomBytes(4096)
      const started = yield* raw(`${proxy.url}/v2/fp/lose2/blobs/uploads/`, { method: "POST" })
      const location = new URL(header(started, "location"))
      location.searchParams.set("digest", sha256(blob))
      const put = yield* raw(location.toString(), { method: "PUT", headers: octets, body: blob })
      assert.isUndefined(put.status)
      assert.isDefined(put.error)
      const head = yield* raw(`${proxy.url}/v2/fp/lose2/blobs/${sha256(blob)}`, { method: "HEAD" })
      assert.strictEqual(head.status, 200)

      const other = yield* raw(`${proxy.url}/v2/fp/lose2/blobs/uploads/`, { method: "POST" })
      const patch = yield* raw(header(other, "location"), { method: "PATCH", headers: octets, body: blob })
      assert.isUndefined(patch.status)
      assert.isDefined(patch.error)
      const stats = yield* proxy.stats
      assert.strictEqual(stats.uploadBytes, 2 * blob.length)
      assert.strictEqual(stats.strandedBytes, blob.length)
      assert.deepStrictEqual(stats.lostAnswers.map((lost) => [lost.kind, lost.method, lost.status]), [
        ["loseAnswer", "PUT", 201],
        ["reset", "PATCH", 202]
      ])
    }))

  it.scoped("the seeded PRNG repeats the same fault sequence; the counters add up", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const run = (seed: number) =>
        Effect.gen(function*() {
          const proxy = yield* FaultProxy.make({
            upstream: registry.url,
            rate: 0.5,
            seed,
            enabled: ["status", "tooManyRequests"]
          })
          const statuses: Array<number | undefined> = []
          for (let i = 0; i < 30; i++) statuses.push((yield* raw(`${proxy.url}/v2/`)).status)
          return { statuses, history: yield* proxy.history, stats: yield* proxy.stats }
        })
      const first = yield* run(7)
      const again = yield* run(7)
      const other = yield* run(8)
      const faults = (history: ReadonlyArray<FaultProxy.HistoryEntry>) => history.map((entry) => entry.fault)
      assert.deepStrictEqual(faults(first.history), faults(again.history))
      assert.deepStrictEqual(first.statuses, again.statuses)
      assert.notDeepEqual(faults(first.history), faults(other.history))

      const { stats, statuses } = first
      assert.strictEqual(stats.requests, 30)
      assert.strictEqual(stats.passed + stats.faulted, stats.requests)
      assert.strictEqual(stats.faults.status + stats.faults.tooManyRequests, stats.faulted)
      assert.isAbove(stats.faulted, 5)
      assert.isAbove(stats.passed, 5)
      assert.strictEqual(statuses.filter((s) => s === 200).length, stats.passed)
      assert.strictEqual(statuses.filter((s) => s === 429).length, stats.faults.tooManyRequests)
      assert.strictEqual(statuses.filter((s) => s !== undefined && s >= 500).length, stats.faults.status)
      assert.strictEqual(stats.forwarded, stats.passed)
      assert.strictEqual(stats.responseBytes, 2 * stats.passed)
    }))

  it.scoped("setRate, setEnabled, setRules and resetStats act at run time; bad options fail typed", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const proxy = yield* FaultProxy.make({ upstream: registry.url })
      yield* proxy.setRate(1)
      yield* proxy.setEnabled(["status"])
      for (let i = 0; i < 3; i++) assert.isAtLeast(defined((yield* raw(`${proxy.url}/v2/`)).status), 500)
      yield* proxy.setEnabled(["tooManyRequests"])
      assert.strictEqual((yield* raw(`${proxy.url}/v2/`)).status, 429)
      yield* proxy.setRate(0)
      assert.strictEqual((yield* raw(`${proxy.url}/v2/`)).status, 200)
      yield* proxy.setRules([{ match: { nth: 2 }, fault: "status", status: 502 }])
      assert.strictEqual((yield* raw(`${proxy.url}/v2/`)).status, 200)
      assert.strictEqual((yield* raw(`${proxy.url}/v2/`)).status, 502)
      assert.strictEqual((yield* raw(`${proxy.url}/v2/`)).status, 200)
      const stats = yield* proxy.stats
      assert.strictEqual(stats.requests, 8)
      assert.deepStrictEqual(
        { ...stats.faults },
        { reset: 0, status: 4, tooManyRequests: 1, stall: 0, truncate: 0, loseAnswer: 0 }
      )
      yield* proxy.resetStats
      const zero = yield* proxy.stats
      assert.strictEqual(zero.requests, 0)
      assert.strictEqual(zero.faulted, 0)
      assert.deepStrictEqual(yield* proxy.history, [])

      const bad = yield* Effect.exit(proxy.setRate(1.5))
      assert.isTrue(Exit.isFailure(bad))
      const badRule = yield* Effect.either(proxy.setRules([{ match: { nth: 0 }, fault: "reset" }]))
      assert.isTrue(badRule._tag === "Left" && badRule.left.reason === "InvalidOptions")
      const badUpstream = yield* Effect.either(FaultProxy.make({ upstream: "https://127.0.0.1:1" }))
      assert.isTrue(badUpstream._tag === "Left" && badUpstream.left._tag === "FaultProxyError")
    }))

  it.scoped("on scope close every socket is destroyed (a stalled one too) and the port is released", () =>
    Effect.gen(function*() {
      const registry = yield* RealRegistry.RealRegistry
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const proxy = yield* FaultProxy.make({ upstream: registry.url, stallMs: 60_000, rules: [{ fault: "stall" }] })
        const fiber = yield* Effect.fork(raw(`${proxy.url}/v2/`))
        assert.isTrue(yield* waitFor(Effect.map(proxy.stats, (s) => s.activeConnections === 1), 100))
        return { port: proxy.port, fiber }
      }))
      const outcome = yield* result.fiber.await
      assert.isTrue(Exit.isSuccess(outcome))
      if (Exit.isSuccess(outcome)) {
        assert.isDefined(outcome.value.error)
        assert.notStrictEqual(outcome.value.error, "guard")
        assert.isBelow(outcome.value.ms, 5000)
      }
      assert.isTrue(yield* refused(result.port))
    }))
})
