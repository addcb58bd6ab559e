// Credentials stay with their registry (issue 15, part 1), at the AuthService level, on a fake network that
// records every request: another origin that challenges gets no credentials (Basic, identity token, static
// token), Docker Hub's host names are one registry, and a token's announced lifetime is clamped.
import { AuthService, Credentials } from "@effect-registry/core"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"

const REGISTRY = "https://registry.test"
const OTHER = "https://other.test"
const PASSWORD = "hunter2-Pa55word-origin"
const IDENTITY = "identity-t0ken-S3cret"
const STATIC = "static-registry-t0ken-S3cret"
const SECRETS = [PASSWORD, IDENTITY, STATIC, btoa(`alice:${PASSWORD}`)]

interface Call {
  readonly method: string
  readonly url: URL
  readonly authorization: string | undefined
  readonly body: string
}

const network = (answer: (call: Call, n: number) => Response) => {
  const calls: Array<Call> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const call = { method: request.method, url, authorization: request.headers["authorization"], body }
      calls.push(call)
      return HttpClientResponse.fromWeb(request, answer(call, calls.length))
    })
  )
  return { calls, http: Layer.succeed(HttpClient.HttpClient, client) }
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } })

const tokens = (extra: Record<string, unknown> = { expires_in: 300 }) => (_call: Call, n: number) =>
  json({ token: `anon-or-granted-${n}`, ...extra })

const unauthorized = (url: string, challenge: string) =>
  HttpClientResponse.fromWeb(
    HttpClientRequest.get(url),
    new Response("{}", { status: 401, headers: { "www-authenticate": challenge } })
  )

const withAuth = <A, E>(
  answer: (call: Call, n: number) => Response,
  options: AuthService.MakeOptions,
  body: (auth: AuthService.Service, calls: ReadonlyArray<Call>) => Effect.Effect<A, E>
) => {
  const { calls, http } = network(answer)
  return Effect.flatMap(AuthService.AuthService, (auth) => body(auth, calls)).pipe(
    Effect.provide(AuthService.layer(options).pipe(Layer.provide(http)))
  )
}

const authorizationFor = (auth: AuthService.Service, url: string) =>
  Effect.map(auth.authorize(HttpClientRequest.get(url), ["repository:app:pull"]), (r) => r.headers["authorization"])

const pull = ["repository:app:pull"]

const credentialKinds = [
  ["Basic", Credentials.basic("alice", PASSWORD)],
  ["identity token", Credentials.identityToken(IDENTITY, "alice")],
  ["static registry token", Credentials.bearer(STATIC)]
] as const

const assertNothingSecretIn = (calls: ReadonlyArray<Call>) => {
  for (const call of calls) {
    for (const secret of SECRETS) {
      assert.notInclude(call.authorization ?? "", secret)
      assert.notInclude(call.body, secret)
      assert.notInclude(call.url.href, secret)
    }
  }
}

describe("AuthService: credentials are bound to one registry", () => {
  it.effect("another origin answering 401 Basic gets no credentials, and the error says whose they are", () =>
    withAuth(tokens(), { credentials: Credentials.basic("alice", PASSWORD) }, (auth, calls) =>
      Effect.gen(function*() {
        // the first registry that asks binds the credentials
        yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Basic realm="r"`), [])
        assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/app/tags/list`), `Basic ${SECRETS[3]}`)
        const exit = yield* Effect.exit(
          auth.challenge(unauthorized(`${OTHER}/v2/app/tags/list`, `Basic realm="r"`), pull)
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error
          assert.strictEqual(error._tag, "Unauthorized")
          if (error._tag === "Unauthorized") assert.strictEqual(error.reason, "MissingCredentials")
          assert.include(error.message, `configured for ${REGISTRY} only`)
        }
        assert.isUndefined(yield* authorizationFor(auth, `${OTHER}/v2/app/tags/list`))
        // nor the same host over plain http, nor another port
        for (const url of ["http://registry.test/v2/", "https://registry.test:4443/v2/"]) {
          assert.isTrue(Exit.isFailure(yield* Effect.exit(auth.challenge(unauthorized(url, `Basic realm="r"`), []))))
          assert.isUndefined(yield* authorizationFor(auth, url))
        }
        assert.strictEqual(calls.length, 0)
      })))

  for (const [kind, credentials] of credentialKinds) {
    it.effect(`a Bearer realm on another origin, named by another origin, gets nothing of the ${kind}`, () =>
      withAuth(tokens(), { credentials }, (auth, calls) =>
        Effect.gen(function*() {
          // the registry itself (realm on a third origin: allowed) binds the credentials and gets them
          yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Bearer realm="https://auth.test/token"`), pull)
          const own = yield* authorizationFor(auth, `${REGISTRY}/v2/app/manifests/v1`)
          assert.isDefined(own)
          const before = calls.length
          // another origin names its own realm: it gets an anonymous token fetch, nothing more
          yield* auth.challenge(unauthorized(`${OTHER}/v2/app/tags/list`, `Bearer realm="${OTHER}/token"`), pull)
          const foreign = yield* authorizationFor(auth, `${OTHER}/v2/app/tags/list`)
          const toOther = calls.slice(before)
          assert.isAtLeast(toOther.length, 1)
          for (const call of toOther) {
            assert.strictEqual(call.url.origin, OTHER)
            assert.isUndefined(call.authorization)
            assert.notInclude(call.body, "refresh_token")
          }
          assert.notStrictEqual(foreign, `Bearer ${STATIC}`)
          assertNothingSecretIn(toOther)
        })))
  }

  it.effect("with `registry` set, a first challenge from another origin does not take the credentials", () =>
    withAuth(
      tokens(),
      { credentials: Credentials.basic("alice", PASSWORD), registry: REGISTRY },
      (auth, calls) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(auth.challenge(unauthorized(`${OTHER}/v2/`, `Basic realm="r"`), []))
          assert.isTrue(Exit.isFailure(exit))
          yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Basic realm="r"`), [])
          assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/`), `Basic ${SECRETS[3]}`)
          assert.isUndefined(yield* authorizationFor(auth, `${OTHER}/v2/`))
          assert.strictEqual(calls.length, 0)
        })
    ))

  it.effect("Docker Hub's host names are one registry; look-alikes and plain http are not", () =>
    withAuth(
      tokens(),
      { credentials: Credentials.basic("alice", PASSWORD), registry: "docker.io" },
      (auth) =>
        Effect.gen(function*() {
          for (const host of ["registry-1.docker.io", "index.docker.io", "docker.io", "registry.hub.docker.com"]) {
            const url = `https://${host}/v2/`
            yield* auth.challenge(unauthorized(url, `Basic realm="r"`), [])
            assert.strictEqual(yield* authorizationFor(auth, url), `Basic ${SECRETS[3]}`, host)
          }
          for (const url of ["http://registry-1.docker.io/v2/", "https://registry-1.docker.io.evil.test/v2/"]) {
            assert.isTrue(Exit.isFailure(yield* Effect.exit(auth.challenge(unauthorized(url, `Basic realm="r"`), []))))
            assert.isUndefined(yield* authorizationFor(auth, url), url)
          }
        })
    ))

  it.effect("an https registry's plain-http realm is refused, on its own origin or another; nothing is sent", () =>
    withAuth(
      tokens(),
      { credentials: Credentials.basic("alice", PASSWORD), registry: REGISTRY },
      (auth, calls) =>
        Effect.gen(function*() {
          for (const realm of ["http://registry.test/token", "http://auth.test/token"]) {
            const exit = yield* Effect.exit(
              auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Bearer realm="${realm}"`), pull)
            )
            assert.isTrue(Exit.isFailure(exit))
            if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "Unauthorized") {
              assert.strictEqual(exit.cause.error.reason, "InsecureRealm")
            }
          }
          assert.strictEqual(calls.length, 0)
        })
    ))
})

describe("AuthService: a token's announced lifetime is clamped", () => {
  it.effect("expires_in 1e308 gives a token used for hours (not fetched per request), refreshed within 2 days", () =>
    withAuth(
      tokens({ expires_in: 1e308 }),
      { credentials: Credentials.basic("alice", PASSWORD) },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Bearer realm="https://auth.test/token"`), pull)
          for (let i = 0; i < 10; i++) {
            yield* TestClock.adjust("1 hour")
            assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/`), "Bearer anon-or-granted-1")
          }
          assert.strictEqual(calls.length, 1)
          yield* TestClock.adjust("2 days")
          assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/`), "Bearer anon-or-granted-2")
          assert.strictEqual(calls.length, 2)
        })
    ))

  for (const expiresIn of [0, -5, "1e999", "NaN", null, "9".repeat(400)]) {
    it.effect(`expires_in ${JSON.stringify(expiresIn).slice(0, 12)} counts as the default 60 seconds`, () =>
      withAuth(tokens({ expires_in: expiresIn }), {}, (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Bearer realm="https://auth.test/token"`), pull)
          for (let i = 0; i < 5; i++) {
            yield* TestClock.adjust("10 seconds")
            assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/`), "Bearer anon-or-granted-1")
          }
          assert.strictEqual(calls.length, 1)
          yield* TestClock.adjust("15 seconds")
          assert.strictEqual(yield* authorizationFor(auth, `${REGISTRY}/v2/`), "Bearer anon-or-granted-2")
        })))
  }

  it.effect("a sub-second expires_in is taken as 1 second, not a fetch per request", () =>
    withAuth(tokens({ expires_in: 0.000001 }), {}, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(`${REGISTRY}/v2/`, `Bearer realm="https://auth.test/token"`), pull)
        for (let i = 0; i < 5; i++) yield* authorizationFor(auth, `${REGISTRY}/v2/`)
        assert.strictEqual(calls.length, 1)
      })))
})
