import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Credentials from "@effect-registry/core/Credentials"
import * as Digest from "@effect-registry/core/Digest"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { RealRegistry, TokenServer } from "@effect-registry/test-infra"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import {
  captured,
  clientLayer,
  failureOf,
  makeCapture,
  makeRecorder,
  pushImage,
  randomBytes,
  uniqueName
} from "./support/authHarness.js"

// AuthService against Debian's docker-registry (distribution 2.8.2) in Basic (htpasswd) and
// token mode (our TokenServer), through RegistryClient + AuthService.layer + NodeHttp + NodeHash.
// Every registry listens on 127.0.0.1; every wait is bounded.

const alice = { username: "alice", password: "correct horse battery staple" }
const reader = { username: "reader", password: "read only please" }
const aliceCredentials = Credentials.basic(alice.username, alice.password)
const wrongCredentials = Credentials.basic(alice.username, "not the password")
const readerCredentials = Credentials.basic(reader.username, reader.password)

const suiteOptions = { excludeTestServices: true, timeout: "120 seconds" } as const
const timeout = 60_000

const registryOf = Effect.map(RealRegistry.RealRegistry, (registry) => {
  const tokenServer = registry.tokenServer
  return { registry, tokenServer }
})

const tokenServerOf = Effect.flatMap(RealRegistry.RealRegistry, (registry) =>
  registry.tokenServer === undefined
    ? Effect.dieMessage("token mode without a token server")
    : Effect.succeed(registry.tokenServer))

const requestsSince = (server: TokenServer.Running, from: number) =>
  Effect.map(server.requests, (all) => all.slice(from))

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => {
    const parts = Chunk.toReadonlyArray(chunks)
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let offset = 0
    for (const p of parts) {
      out.set(p, offset)
      offset += p.length
    }
    return out
  })

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const unauthorizedReason = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  const e = failureOf(exit)
  return typeof e === "object" && e !== null && "_tag" in e && e._tag === "Unauthorized" && "reason" in e
    ? String(e.reason)
    : undefined
}

const client = RegistryClient.RegistryClient

describe("AuthService against the real registry", () => {
  layer(RealRegistry.layer({ mode: "basic", users: [alice] }), suiteOptions)("Basic (htpasswd)", (it) => {
    it.effect("good credentials: push, pull, list", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const repository = uniqueName("basic/app")
        yield* Effect.gen(function*() {
          const c = yield* client
          const image = yield* pushImage(c, repository, "v1")
          assert.deepStrictEqual(yield* c.tags(repository), ["v1"])
          const bytes = yield* collect(c.downloadBlob(repository, image.layerDigest))
          assert.isTrue(sameBytes(bytes, image.layerBytes))
          assert.strictEqual(yield* c.manifestDigest(repository, "v1"), image.digest)
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
      }), timeout)

    it.effect("wrong credentials → Unauthorized RejectedCredentials", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const exit = yield* Effect.exit(Effect.provide(client, clientLayer(registry.url, wrongCredentials)))
        assert.strictEqual(unauthorizedReason(exit), "RejectedCredentials")
      }), timeout)

    it.effect("no credentials → Unauthorized MissingCredentials", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const exit = yield* Effect.exit(Effect.provide(client, clientLayer(registry.url, Credentials.anonymous)))
        assert.strictEqual(unauthorizedReason(exit), "MissingCredentials")
        const error = failureOf(exit)
        assert.include(error?._tag === "Unauthorized" ? error.challenge ?? "" : "", "Basic")
      }), timeout)

    it.effect(
      "redaction: the password and the Basic header never reach logs, spans or errors",
      () =>
        Effect.gen(function*() {
          const { registry } = yield* registryOf
          const capture = makeCapture()
          const repository = uniqueName("basic/redact")
          const ok = yield* captured(
            capture,
            Effect.gen(function*() {
              const c = yield* client
              yield* pushImage(c, repository, "v1")
              yield* c.tags(repository)
              return yield* Effect.exit(c.getManifest(repository, "nope"))
            }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
          )
          assert.isTrue(Exit.isSuccess(ok))
          const wrong = yield* captured(
            capture,
            Effect.provide(client, clientLayer(registry.url, Credentials.basic(alice.username, `${alice.password}!`)))
          )
          assert.strictEqual(unauthorizedReason(wrong), "RejectedCredentials")
          const text = capture.text()
          // the capture did see the traffic: request spans with a redacted Authorization header
          assert.isTrue(
            capture.spans.some((s) => s.attributes.get("http.request.header.authorization") === "<redacted>")
          )
          assert.include(text, "RejectedCredentials")
          assert.include(text, "MANIFEST_UNKNOWN")
          const basicHeader = (password: string) =>
            Encoding.encodeBase64(new TextEncoder().encode(`${alice.username}:${password}`))
          for (const secret of [alice.password, `${alice.password}!`, basicHeader(alice.password)]) {
            assert.notInclude(text, secret)
          }
          assert.notInclude(text, basicHeader(`${alice.password}!`))
        }),
      timeout
    )
  })

  const policy: TokenServer.Policy = (request) =>
    request.user === reader.username
      ? request.scopes.filter((s) => s.type === "repository").map((s) => ({
        type: s.type,
        name: s.name,
        actions: s.actions.filter((a) => a === "pull")
      }))
      : TokenServer.defaultPolicy({ anonymousPull: (repository) => repository.startsWith("public/") })(request)

  layer(
    RealRegistry.layer({ mode: "token", users: [alice, reader], tokenServer: { policy } }),
    suiteOptions
  )("token auth", (it) => {
    it.effect(
      "anonymous pull where the policy allows it; anonymous push and private pull refused",
      () =>
        Effect.gen(function*() {
          const { registry } = yield* registryOf
          const repository = uniqueName("public/app")
          const image = yield* Effect.flatMap(client, (c) => pushImage(c, repository, "v1")).pipe(
            Effect.provide(clientLayer(registry.url, aliceCredentials))
          )
          yield* Effect.gen(function*() {
            const c = yield* client
            assert.strictEqual(yield* c.manifestDigest(repository, "v1"), image.digest)
            const bytes = yield* collect(c.downloadBlob(repository, image.layerDigest))
            assert.isTrue(sameBytes(bytes, image.layerBytes))
            // anonymous push: the token server grants pull only. The challenge says
            // insufficient_scope; with no credentials configured the reason is MissingCredentials.
            const blob = randomBytes(64)
            const push = yield* Effect.exit(
              c.uploadBlob(repository, yield* Digest.sha256(blob), BlobSource.fromBytes(blob), { size: blob.length })
            )
            assert.strictEqual(unauthorizedReason(push), "MissingCredentials")
            const error = failureOf(push)
            assert.include(error?._tag === "Unauthorized" ? error.challenge ?? "" : "", "insufficient_scope")
            const privatePull = yield* Effect.exit(c.tags(uniqueName("private/app")))
            assert.strictEqual(unauthorizedReason(privatePull), "MissingCredentials")
          }).pipe(Effect.provide(clientLayer(registry.url, Credentials.anonymous)))
        }),
      timeout
    )

    it.effect("a user whose token lacks push gets Unauthorized InsufficientScope", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const repository = uniqueName("readers/app")
        yield* Effect.flatMap(client, (c) => pushImage(c, repository, "v1")).pipe(
          Effect.provide(clientLayer(registry.url, aliceCredentials))
        )
        yield* Effect.gen(function*() {
          const c = yield* client
          assert.deepStrictEqual(yield* c.tags(repository), ["v1"])
          const blob = randomBytes(64)
          const push = yield* Effect.exit(
            c.uploadBlob(repository, yield* Digest.sha256(blob), BlobSource.fromBytes(blob), { size: blob.length })
          )
          assert.strictEqual(unauthorizedReason(push), "InsufficientScope")
        }).pipe(Effect.provide(clientLayer(registry.url, readerCredentials)))
      }), timeout)

    it.effect("push with credentials, catalog scope, delete scope", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/app")
        yield* Effect.gen(function*() {
          const c = yield* client
          const from = (yield* server.requests).length
          const image = yield* pushImage(c, repository, "v1")
          const repositories = yield* c.repositories()
          assert.include(repositories, repository)
          yield* c.deleteManifest(repository, image.digest)
          const gone = yield* Effect.exit(c.getManifest(repository, image.digest))
          assert.strictEqual(failureOf(gone)?._tag, "ManifestUnknown")
          const log = yield* requestsSince(server, from)
          const scopesAsked = log.map((r) => r.scopes.join(" "))
          assert.include(scopesAsked, `repository:${repository}:pull,push`)
          assert.include(scopesAsked, "registry:catalog:*")
          assert.include(scopesAsked, `repository:${repository}:delete`)
          assert.isTrue(log.every((r) => r.user === alice.username && r.status === 200))
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
      }), timeout)

    it.effect("mount across repositories: one token request carries both scopes", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const source = uniqueName("alice/src")
        const target = uniqueName("alice/dst")
        yield* Effect.gen(function*() {
          const c = yield* client
          const image = yield* pushImage(c, source, "v1")
          const from = (yield* server.requests).length
          const result = yield* c.mountBlob(target, image.layerDigest, source)
          assert.isTrue(result.mounted)
          assert.isTrue(yield* c.hasBlob(target, image.layerDigest))
          const log = yield* requestsSince(server, from)
          assert.isTrue(
            log.some((r) =>
              r.scopes.includes(`repository:${target}:pull,push`) && r.scopes.includes(`repository:${source}:pull`)
            ),
            "one token request names the target (pull,push) and the source (pull)"
          )
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
      }), timeout)

    it.effect("100 consecutive operations on one repository cost one token request", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/many")
        const image = yield* Effect.flatMap(client, (c) => pushImage(c, repository, "v1")).pipe(
          Effect.provide(clientLayer(registry.url, aliceCredentials))
        )
        yield* Effect.gen(function*() {
          const c = yield* client
          const before = yield* server.issued
          for (let i = 0; i < 100; i++) {
            switch (i % 4) {
              case 0:
                assert.isTrue(yield* c.hasBlob(repository, image.layerDigest))
                break
              case 1:
                assert.strictEqual((yield* c.blobMetadata(repository, image.configDigest)).digest, image.configDigest)
                break
              case 2:
                assert.deepStrictEqual(yield* c.tags(repository), ["v1"])
                break
              default:
                assert.strictEqual((yield* c.getManifest(repository, "v1")).digest, image.digest)
            }
          }
          assert.strictEqual((yield* server.issued) - before, 1)
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
      }), timeout)

    it.effect("20 concurrent operations share one token request", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/parallel")
        yield* Effect.gen(function*() {
          const c = yield* client
          const before = yield* server.issued
          const digests = yield* Effect.forEach(
            Array.from({ length: 20 }, () => randomBytes(8)),
            (bytes) => Digest.sha256(bytes)
          )
          const found = yield* Effect.forEach(digests, (d) => c.hasBlob(repository, d), { concurrency: "unbounded" })
          assert.deepStrictEqual(found, digests.map(() => false))
          assert.strictEqual((yield* server.issued) - before, 1)
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
      }), timeout)

    it.effect("a token the cache considers expired (Clock) is fetched again", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/clock")
        yield* Effect.gen(function*() {
          const c = yield* client
          const before = yield* server.issued
          assert.isFalse(yield* c.hasBlob(repository, yield* Digest.sha256(randomBytes(8))))
          assert.isFalse(yield* c.hasBlob(repository, yield* Digest.sha256(randomBytes(8))))
          assert.strictEqual((yield* server.issued) - before, 1)
          // the token server's tokens live 5 minutes: past that, the cache must not use the token
          yield* TestClock.adjust("6 minutes")
          assert.isFalse(yield* c.hasBlob(repository, yield* Digest.sha256(randomBytes(8))))
          assert.strictEqual((yield* server.issued) - before, 2)
          assert.isFalse(yield* c.hasBlob(repository, yield* Digest.sha256(randomBytes(8))))
          assert.strictEqual((yield* server.issued) - before, 2)
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)), Effect.provide(TestContext.TestContext))
      }), timeout)

    it.effect(
      "a token the registry refuses as invalid_token (expired) is dropped and fetched again, once",
      () =>
        Effect.gen(function*() {
          const { registry } = yield* registryOf
          const server = yield* tokenServerOf
          const repository = uniqueName("alice/expired")
          const recorder = makeRecorder()
          yield* Effect.gen(function*() {
            const c = yield* client
            const from = (yield* server.requests).length
            recorder.replaceNext = yield* server.mint({
              subject: alice.username,
              access: [{ type: "repository", name: repository, actions: ["pull", "push"] }],
              lifetimeSeconds: -3600
            })
            const blob = randomBytes(300)
            const digest = yield* Digest.sha256(blob)
            yield* c.uploadBlob(repository, digest, BlobSource.fromBytes(blob), { size: blob.length })
            assert.isUndefined(recorder.replaceNext, "the expired token was handed to the client")
            assert.isTrue(yield* c.hasBlob(repository, digest))
            const log = yield* requestsSince(server, from)
            const pushRequests = log.filter((r) => r.scopes.join(" ") === `repository:${repository}:pull,push`)
            assert.strictEqual(pushRequests.length, 2, "the expired token and its replacement")
          }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials, { recorder })))
        }),
      timeout
    )

    it.effect(
      "insufficient_scope: a pull token, then a push, asks again with the challenge's scopes",
      () =>
        Effect.gen(function*() {
          const { registry } = yield* registryOf
          const server = yield* tokenServerOf
          const repository = uniqueName("alice/widen")
          const pull = AuthService.scopes.pull(repository)
          yield* Effect.gen(function*() {
            const auth = yield* AuthService.AuthService
            const http = yield* HttpClient.HttpClient
            const from = (yield* server.requests).length
            const post = HttpClientRequest.post(`${registry.url}/v2/${repository}/blobs/uploads/`)
            // the caller (wrongly) declares pull only: the registry's challenge names pull,push
            const first = yield* http.execute(yield* auth.authorize(post, [pull]))
            assert.strictEqual(first.status, 401)
            assert.include(first.headers["www-authenticate"] ?? "", "insufficient_scope")
            yield* auth.challenge(first, [pull])
            const second = yield* http.execute(yield* auth.authorize(post, [pull]))
            assert.strictEqual(second.status, 202)
            const log = yield* requestsSince(server, from)
            assert.deepStrictEqual(log.map((r) => r.scopes.join(" ")), [pull, `repository:${repository}:pull,push`])
            // the widened scopes are remembered: the same request needs no further token
            const third = yield* http.execute(yield* auth.authorize(post, [pull]))
            assert.strictEqual(third.status, 202)
            assert.strictEqual((yield* requestsSince(server, from)).length, 2)
          }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials)))
        }),
      timeout
    )

    it.effect("refresh-token POST flow with an identity token from the password grant", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/identity")
        const refreshToken = yield* Effect.gen(function*() {
          const http = yield* HttpClient.HttpClient
          const response = yield* http.execute(
            HttpClientRequest.post(server.realm).pipe(HttpClientRequest.bodyUrlParams({
              grant_type: "password",
              username: alice.username,
              password: alice.password,
              service: server.service,
              client_id: "auth-test",
              access_type: "offline"
            }))
          )
          const body = (yield* response.json) as { readonly refresh_token?: unknown }
          assert.strictEqual(response.status, 200)
          return typeof body.refresh_token === "string" ? body.refresh_token : ""
        }).pipe(Effect.provide(clientLayer(registry.url, Credentials.anonymous)))
        assert.isAbove(refreshToken.length, 0)
        const from = (yield* server.requests).length
        yield* Effect.gen(function*() {
          const c = yield* client
          const image = yield* pushImage(c, repository, "v1")
          assert.strictEqual(yield* c.manifestDigest(repository, "v1"), image.digest)
          const log = yield* requestsSince(server, from)
          assert.isAbove(log.length, 0)
          for (const r of log) {
            assert.strictEqual(r.method, "POST")
            assert.strictEqual(r.grantType, "refresh_token")
            assert.strictEqual(r.user, alice.username)
            assert.strictEqual(r.status, 200)
          }
        }).pipe(Effect.provide(clientLayer(registry.url, Credentials.identityToken(refreshToken, alice.username))))
        // a revoked refresh token is a typed refusal
        yield* server.revokeRefreshTokens
        const revoked = yield* Effect.exit(
          Effect.provide(client, clientLayer(registry.url, Credentials.identityToken(refreshToken, alice.username)))
        )
        assert.strictEqual(unauthorizedReason(revoked), "RejectedCredentials")
      }), timeout)

    it.effect("oauth2 password grant, then the refresh token the server returned", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/oauth2")
        const from = (yield* server.requests).length
        yield* Effect.gen(function*() {
          const c = yield* client
          yield* pushImage(c, repository, "v1")
          assert.deepStrictEqual(yield* c.tags(repository), ["v1"])
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials, { auth: { oauth2: true } })))
        const log = yield* requestsSince(server, from)
        assert.isAbove(log.length, 1)
        assert.isTrue(log.every((r) => r.method === "POST" && r.status === 200))
        assert.strictEqual(log[0].grantType, "password")
        assert.isTrue(log.slice(1).every((r) => r.grantType === "refresh_token"))
      }), timeout)

    it.effect(
      "redaction: passwords and every issued token stay out of logs, spans and errors",
      () =>
        Effect.gen(function*() {
          const { registry } = yield* registryOf
          const server = yield* tokenServerOf
          const capture = makeCapture()
          const recorder = makeRecorder()
          const repository = uniqueName("alice/redact")
          const minted: Array<string> = []
          const ok = yield* captured(
            capture,
            Effect.gen(function*() {
              const c = yield* client
              yield* pushImage(c, repository, "v1")
              const unknown = yield* Effect.exit(c.getManifest(repository, "nope"))
              assert.strictEqual(failureOf(unknown)?._tag, "ManifestUnknown")
              // the next token (catalog scope) is an expired one: refused (invalid_token), then replaced
              const expired = yield* server.mint({ subject: alice.username, lifetimeSeconds: -3600 })
              minted.push(expired)
              recorder.replaceNext = expired
              assert.include(yield* c.repositories(), repository)
              assert.isUndefined(recorder.replaceNext)
            }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials, { recorder, auth: { oauth2: true } })))
          )
          assert.isTrue(Exit.isSuccess(ok))
          const wrong = yield* captured(
            capture,
            Effect.provide(client, clientLayer(registry.url, wrongCredentials, { recorder }))
          )
          assert.strictEqual(unauthorizedReason(wrong), "RejectedCredentials")
          const denied = yield* captured(
            capture,
            Effect.gen(function*() {
              const c = yield* client
              const blob = randomBytes(32)
              return yield* c.uploadBlob(repository, yield* Digest.sha256(blob), BlobSource.fromBytes(blob))
            }).pipe(Effect.provide(clientLayer(registry.url, readerCredentials, { recorder })))
          )
          assert.strictEqual(unauthorizedReason(denied), "InsufficientScope")
          const staticToken = yield* server.mint({ subject: alice.username, lifetimeSeconds: -60 })
          minted.push(staticToken)
          const refused = yield* captured(
            capture,
            Effect.provide(client, clientLayer(registry.url, Credentials.bearer(staticToken), { recorder }))
          )
          assert.strictEqual(unauthorizedReason(refused), "InvalidToken")

          const text = capture.text()
          assert.isAbove(recorder.tokens.length, 3)
          assert.isTrue(capture.spans.some((s) => s.name === "AuthService.fetchToken"))
          assert.isTrue(
            capture.spans.some((s) => s.attributes.get("http.request.header.authorization") === "<redacted>")
          )
          for (const name of ["RejectedCredentials", "InsufficientScope", "InvalidToken", "MANIFEST_UNKNOWN"]) {
            assert.include(text, name)
          }
          for (const secret of [alice.password, reader.password, "not the password", ...recorder.tokens, ...minted]) {
            assert.notInclude(text, secret)
          }
          // no JWT-looking value at all (header.payload.signature, base64url)
          assert.notMatch(text, /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/)
        }),
      timeout
    )
  })

  layer(
    RealRegistry.layer({ mode: "token", users: [alice], tokenServer: { allowPost: false } }),
    suiteOptions
  )("token auth, a token server that refuses POST", (it) => {
    it.effect("oauth2 falls back to GET with Basic credentials", () =>
      Effect.gen(function*() {
        const { registry } = yield* registryOf
        const server = yield* tokenServerOf
        const repository = uniqueName("alice/get")
        const from = (yield* server.requests).length
        yield* Effect.gen(function*() {
          const c = yield* client
          const image = yield* pushImage(c, repository, "v1")
          assert.strictEqual(yield* c.manifestDigest(repository, "v1"), image.digest)
        }).pipe(Effect.provide(clientLayer(registry.url, aliceCredentials, { auth: { oauth2: true } })))
        const log = yield* requestsSince(server, from)
        const posts = log.filter((r) => r.method === "POST")
        const gets = log.filter((r) => r.method === "GET")
        assert.isAbove(posts.length, 0)
        assert.isTrue(posts.every((r) => r.status === 405 && !r.issued))
        assert.strictEqual(gets.length, posts.length, "every refused POST is followed by a GET")
        assert.isTrue(gets.every((r) => r.status === 200 && r.issued && r.user === alice.username))
      }), timeout)
  })
})
