// Connection failures a person can act on: real sockets on 127.0.0.1 (a closed port, an http server addressed as
// https, an https server addressed as http, TLS servers with an unknown CA and with another host name), each
// ending in a TransportError whose `kind` and `code` say what failed and whose message names the fix. The
// first request of a client (its ping) is not retried on a refused connection or a misaddressed registry.
import * as AuthService from "@effect-registry/core/AuthService"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import type * as RegistryError from "@effect-registry/core/RegistryError"
import * as RetryPolicy from "@effect-registry/core/RetryPolicy"
import { RealRegistry } from "@effect-registry/test-infra"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"
import * as NodeHttpUndici from "../src/NodeHttpUndici.js"
import { selfSigned } from "./support/selfSigned.js"

const answer = (_req: Http.IncomingMessage, res: Http.ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json", "docker-distribution-api-version": "registry/2.0" })
  res.end("{}")
}

const listen = (server: Net.Server): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        if (server instanceof Http.Server) server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  )

// A port nothing listens on: bound once, then closed.
const closedPort = Effect.gen(function*() {
  const server = Http.createServer(answer)
  const port = yield* Effect.async<number>((resume) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
  yield* Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
  })
  return port
})

// Both transports: node:http (`NodeHttp.layer`, the default) and undici (`NodeHttpUndici.layer`).
const transports = [
  {
    name: "undici",
    layer: NodeHttpUndici.layer,
    closedCode: "UND_ERR_SOCKET",
    wrongVersionCode: "ERR_SSL_WRONG_VERSION_NUMBER"
  },
  { name: "node:http", layer: NodeHttp.layer, closedCode: "ECONNRESET", wrongVersionCode: "EPROTO" }
] as const

for (const transport of transports) {
  // Builds a client (which pings `/v2/`) with the default retry policy, counting the requests sent.
  const connect = (url: string, http: NodeHttp.Options = {}) =>
    Effect.gen(function*() {
      const sent = { requests: 0 }
      const layer = RegistryClient.layer({
        url,
        retrySchedule: RetryPolicy.transient,
        transformClient: (client) =>
          HttpClient.tapRequest(client, () =>
            Effect.sync(() => {
              sent.requests++
            }))
      }).pipe(
        Layer.provide(AuthService.anonymous),
        Layer.provide(Layer.mergeAll(
          transport.layer({ timeouts: { connect: "5 seconds", headers: "10 seconds" }, ...http }),
          NodeHash.layer
        ))
      )
      const exit = yield* Effect.exit(Effect.provide(RegistryClient.RegistryClient, layer))
      return { exit, sent }
    })

  const transportError = <A, E>(exit: Exit.Exit<A, E>): RegistryError.TransportError => {
    assert.isTrue(Exit.isFailure(exit), "the client was built")
    const error: unknown = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : exit
    assert.strictEqual((error as { _tag?: string })._tag, "TransportError", String(error))
    return error as RegistryError.TransportError
  }

  describe(`${transport.name}: connection failures name the URL, the kind of failure and the fix`, () => {
    it.live("a closed port: ConnectionRefused, one attempt", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const { exit, sent } = yield* connect(`http://127.0.0.1:${port}`, {
          registries: { [`127.0.0.1:${port}`]: { plainHttp: true } }
        })
        const error = transportError(exit)
        assert.strictEqual(error.kind, "ConnectionRefused")
        assert.strictEqual(error.code, "ECONNREFUSED")
        assert.strictEqual(error.reason, "Transport")
        assert.strictEqual(error.url, `http://127.0.0.1:${port}/v2/`)
        assert.strictEqual(error.request, `GET http://127.0.0.1:${port}/v2/`)
        assert.include(error.message, `connection refused by 127.0.0.1:${port}`)
        assert.include(error.message, "check that the registry is running")
        // the first request of a client is not asked again when nothing listens
        assert.strictEqual(sent.requests, 1)
        // later requests still retry a refused connection (a registry restarting)
        assert.isTrue(RetryPolicy.isTransient(error))
      }).pipe(Effect.scoped))

    it.live("an http server addressed as https: PlainHttpOnTls, names plainHttp and --plain-http", () =>
      Effect.gen(function*() {
        const port = yield* listen(Http.createServer(answer))
        const { exit, sent } = yield* connect(`https://127.0.0.1:${port}`)
        const error = transportError(exit)
        assert.strictEqual(error.kind, "PlainHttpOnTls")
        assert.strictEqual(error.code, transport.wrongVersionCode)
        assert.strictEqual(error.url, `https://127.0.0.1:${port}/v2/`)
        assert.include(error.message, "plainHttp: true")
        assert.include(error.message, "--plain-http")
        assert.strictEqual(sent.requests, 1)
        assert.isFalse(RetryPolicy.isTransient(error))
      }).pipe(Effect.scoped))

    it.live("an https server addressed as http: ClosedBeforeAnswer, says to drop plainHttp / --plain-http", () =>
      Effect.gen(function*() {
        const cert = yield* selfSigned("IP:127.0.0.1")
        const port = yield* listen(Https.createServer({ key: cert.key, cert: cert.cert }, answer))
        const { exit, sent } = yield* connect(`http://127.0.0.1:${port}`)
        const error = transportError(exit)
        // Node's https server closes the connection on plain http without a byte
        assert.strictEqual(error.kind, "ClosedBeforeAnswer")
        assert.strictEqual(error.code, transport.closedCode)
        assert.strictEqual(error.url, `http://127.0.0.1:${port}/v2/`)
        assert.include(error.message, "remove `plainHttp`")
        assert.include(error.message, "--plain-http")
        assert.strictEqual(sent.requests, 1)
      }).pipe(Effect.scoped))

    it.live("an https server answering 400 to plain http (as Go's and nginx's do): TlsOnPlainHttp", () =>
      Effect.gen(function*() {
        // what Go's net/http (the distribution registry) writes on its TLS port to a plain http request
        const port = yield* listen(Http.createServer((_req, res) => {
          res.writeHead(400, { connection: "close" })
          res.end("Client sent an HTTP request to an HTTPS server.\n")
        }))
        const { exit, sent } = yield* connect(`http://127.0.0.1:${port}`)
        const error = transportError(exit)
        assert.strictEqual(error.kind, "TlsOnPlainHttp")
        assert.strictEqual(error.status, 400)
        assert.include(error.message, "speaks https")
        assert.include(error.message, "--plain-http")
        assert.strictEqual(sent.requests, 1)
      }).pipe(Effect.scoped))

    it.live("a TLS server with an unknown CA: TlsUnknownCa, names tls.ca, --ca-file and --insecure", () =>
      Effect.gen(function*() {
        const cert = yield* selfSigned("IP:127.0.0.1")
        const seen = { requests: 0 }
        const port = yield* listen(Https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
          seen.requests++
          answer(req, res)
        }))
        const { exit, sent } = yield* connect(`https://127.0.0.1:${port}`)
        const error = transportError(exit)
        assert.strictEqual(error.kind, "TlsUnknownCa")
        assert.strictEqual(error.code, "DEPTH_ZERO_SELF_SIGNED_CERT")
        assert.strictEqual(error.url, `https://127.0.0.1:${port}/v2/`)
        for (const fix of ["tls.ca", "--ca-file", "tls.insecure", "--insecure"]) assert.include(error.message, fix)
        assert.strictEqual(sent.requests, 1)
        assert.strictEqual(seen.requests, 0)
        assert.isFalse(RetryPolicy.isTransient(error))

        // the fix the message names works
        const fixed = yield* connect(`https://127.0.0.1:${port}`, { tls: { ca: cert.cert } })
        assert.isTrue(Exit.isSuccess(fixed.exit))
      }).pipe(Effect.scoped))

    it.live("a TLS server whose certificate is for another host name: TlsNameMismatch", () =>
      Effect.gen(function*() {
        const cert = yield* selfSigned("DNS:registry.other.test")
        const port = yield* listen(Https.createServer({ key: cert.key, cert: cert.cert }, answer))
        const { exit, sent } = yield* connect(`https://127.0.0.1:${port}`, { tls: { ca: cert.cert } })
        const error = transportError(exit)
        assert.strictEqual(error.kind, "TlsNameMismatch")
        assert.strictEqual(error.code, "ERR_TLS_CERT_ALTNAME_INVALID")
        assert.include(error.message, "not for that host name")
        assert.include(error.message, "tls.servername")
        assert.include(error.message, "--insecure")
        assert.strictEqual(sent.requests, 1)

        const fixed = yield* connect(`https://127.0.0.1:${port}`, {
          tls: { ca: cert.cert, servername: "registry.other.test" }
        })
        assert.isTrue(Exit.isSuccess(fixed.exit))
      }).pipe(Effect.scoped))
  })

  describe(`${transport.name}: against distribution's own TLS (Debian's docker-registry)`, () => {
    it.live(
      "addressed over plain http it answers 400: TlsOnPlainHttp; without its CA: TlsUnknownCa",
      () =>
        Effect.gen(function*() {
          const registry = yield* RealRegistry.make({ mode: "tls" })
          const plain = yield* connect(registry.url.replace(/^https:/, "http:"))
          const first = transportError(plain.exit)
          assert.strictEqual(first.kind, "TlsOnPlainHttp")
          assert.include(first.message, "--plain-http")
          assert.strictEqual(plain.sent.requests, 1)

          const untrusted = yield* connect(registry.url)
          const second = transportError(untrusted.exit)
          assert.strictEqual(second.kind, "TlsUnknownCa")
          assert.strictEqual(second.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
          assert.include(second.message, "--ca-file")
          assert.strictEqual(untrusted.sent.requests, 1)
        }).pipe(Effect.scoped),
      120_000
    )
  })
}
