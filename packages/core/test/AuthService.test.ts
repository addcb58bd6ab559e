import { AuthService, Credentials } from "@effect-registry/core"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"

const REGISTRY = "https://registry.test"
const REALM = "https://auth.test/token"
const SERVICE = "registry.test"
const PASSWORD = "hunter2-Pa55word"
const TOKEN_PREFIX = "tok3n-S3cret"

interface Call {
  readonly method: string
  readonly url: URL
  readonly authorization: string | undefined
  readonly contentType: string | undefined
  readonly body: string | undefined
}

type Handler = (call: Call, n: number) => Response | Effect.Effect<Response>

/** A fake network: every request is recorded; `handler` answers token requests (numbered from 1). */
const network = (handler: Handler) => {
  const calls: Array<Call> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : undefined
      const call: Call = {
        method: request.method,
        url,
        authorization: request.headers["authorization"],
        contentType: request.body._tag === "Uint8Array" ? request.body.contentType : undefined,
        body
      }
      calls.push(call)
      const answer = handler(call, calls.length)
      const response = Effect.isEffect(answer) ? yield* answer : answer
      return HttpClientResponse.fromWeb(request, response)
    })
  )
  return { calls, http: Layer.succeed(HttpClient.HttpClient, client) }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/** A token server that hands out `tok3n-S3cret-<n>`. */
const tokens = (extra: Record<string, unknown> = { expires_in: 300 }): Handler => (_call, n) =>
  json({ token: `${TOKEN_PREFIX}-${n}`, ...extra })

const unauthorized = (request: HttpClientRequest.HttpClientRequest, challenge: string) =>
  HttpClientResponse.fromWeb(
    request,
    new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
      status: 401,
      headers: { "www-authenticate": challenge, "content-type": "application/json" }
    })
  )

const bearerChallenge = (extra = "") => `Bearer realm="${REALM}",service="${SERVICE}"${extra}`

const get = (path: string, origin = REGISTRY) => HttpClientRequest.get(`${origin}${path}`)

const pull = AuthService.scopes.pull("alice/app")
const alice = Credentials.basic("alice", PASSWORD)
const aliceBasic = `Basic ${btoa(`alice:${PASSWORD}`)}`

const withAuth = <A, E>(
  handler: Handler,
  options: AuthService.MakeOptions,
  body: (auth: AuthService.Service, calls: ReadonlyArray<Call>) => Effect.Effect<A, E>
) => {
  const { calls, http } = network(handler)
  return Effect.flatMap(AuthService.AuthService, (auth) => body(auth, calls)).pipe(
    Effect.provide(AuthService.layer(options).pipe(Layer.provide(http)))
  )
}

const bearerOf = (request: HttpClientRequest.HttpClientRequest) => request.headers["authorization"]

const assertNoSecret = (error: unknown, secrets: ReadonlyArray<string>) => {
  const renderings = [String(error), JSON.stringify(error), error instanceof Error ? error.message : ""]
  for (const text of renderings) {
    for (const secret of secrets) assert.notInclude(text, secret)
  }
}

describe("AuthService: no challenge known", () => {
  it.effect("authorize leaves the request anonymous and sends nothing", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        const request = yield* auth.authorize(get("/v2/"), [pull])
        assert.isUndefined(bearerOf(request))
        assert.strictEqual(calls.length, 0)
      })))
})

describe("AuthService: Basic", () => {
  it.effect("sends Basic only to the origin that challenged", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="Registry Realm"`), [])
        const same = yield* auth.authorize(get("/v2/alice/app/tags/list"), [pull])
        assert.strictEqual(bearerOf(same), aliceBasic)
        for (const origin of ["https://cdn.test", "http://registry.test", "https://registry.test:444"]) {
          const other = yield* auth.authorize(get("/blob", origin), [pull])
          assert.isUndefined(bearerOf(other), origin)
        }
        assert.strictEqual(calls.length, 0)
      })))

  it.effect("encodes non Latin-1 credentials as UTF-8", () =>
    withAuth(tokens(), { credentials: Credentials.basic("zoë", "пароль") }, (auth) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), [])
        const request = yield* auth.authorize(get("/v2/"), [])
        const encoded = (bearerOf(request) ?? "").slice("Basic ".length)
        const decoded = new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)))
        assert.strictEqual(decoded, "zoë:пароль")
      })))

  it.effect("without credentials the challenge fails MissingCredentials", () =>
    withAuth(tokens(), {}, (auth) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), []))
        assert.strictEqual(error._tag, "Unauthorized")
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "MissingCredentials")
      })))

  it.effect("credentials refused by the registry fail RejectedCredentials, without the password", () =>
    withAuth(tokens(), { credentials: alice }, (auth) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), [])
        const sent = yield* auth.authorize(get("/v2/"), [])
        const error = yield* Effect.flip(auth.challenge(unauthorized(sent, `Basic realm="r"`), []))
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "RejectedCredentials")
        assertNoSecret(error, [PASSWORD, aliceBasic.slice(6)])
      })))
})

describe("AuthService: Bearer", () => {
  it.effect("asks the token server with service, one scope parameter per scope and Basic credentials", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        const scopes = [AuthService.scopes.push("alice/app"), AuthService.scopes.pull("alice/src")]
        yield* auth.challenge(unauthorized(get("/v2/alice/app/blobs/uploads/"), bearerChallenge()), scopes)
        assert.strictEqual(calls.length, 1)
        const call = calls[0]
        assert.strictEqual(call.method, "GET")
        assert.strictEqual(`${call.url.origin}${call.url.pathname}`, REALM)
        assert.deepStrictEqual(call.url.searchParams.getAll("service"), [SERVICE])
        assert.deepStrictEqual(call.url.searchParams.getAll("scope"), [
          "repository:alice/app:pull,push",
          "repository:alice/src:pull"
        ])
        assert.strictEqual(call.authorization, aliceBasic)
        assert.notInclude(call.url.href, PASSWORD)
        const request = yield* auth.authorize(get("/v2/alice/app/blobs/uploads/"), scopes)
        assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-1`)
        assert.strictEqual(calls.length, 1)
      })))

  it.effect("sends no empty scope parameter and no credentials when anonymous", () =>
    withAuth(tokens(), {}, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [])
        assert.isFalse(calls[0].url.searchParams.has("scope"))
        assert.strictEqual(calls[0].url.search, `?service=${SERVICE}`)
        assert.isUndefined(calls[0].authorization)
        const request = yield* auth.authorize(get("/v2/"), [])
        assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-1`)
      })))

  it.effect("keeps the realm's own query parameters", () =>
    withAuth(tokens(), {}, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(
          unauthorized(get("/v2/"), `Bearer realm="https://auth.test/token?account=x",service="${SERVICE}"`),
          [pull]
        )
        assert.deepStrictEqual([...calls[0].url.searchParams.keys()], ["account", "service", "scope"])
      })))

  it.effect("caches: many authorize calls cost one token request", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        for (let i = 0; i < 100; i++) {
          const request = yield* auth.authorize(get(`/v2/alice/app/manifests/v${i}`), [pull])
          assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-1`)
        }
        // Scope order and duplicates do not matter.
        const scopes = [AuthService.scopes.pull("b"), AuthService.scopes.pull("a")]
        yield* auth.authorize(get("/v2/"), scopes)
        yield* auth.authorize(get("/v2/"), [...scopes].reverse().concat(scopes))
        assert.strictEqual(calls.length, 2)
      })))

  it.effect("authorizes preemptively once a challenge is known for the origin", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [])
        const request = yield* auth.authorize(get("/v2/alice/app/tags/list"), [pull])
        assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-2`)
        assert.deepStrictEqual(calls[1].url.searchParams.getAll("scope"), [pull])
        const elsewhere = yield* auth.authorize(get("/v2/alice/app/tags/list", "https://other.test"), [pull])
        assert.isUndefined(bearerOf(elsewhere))
      })))

  it.live("concurrent authorize calls share one token request", () =>
    withAuth(
      (call, n) => Effect.as(Effect.sleep("30 millis"), json({ token: `${TOKEN_PREFIX}-${n}`, expires_in: 300 })),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [])
          const requests = yield* Effect.all(
            Array.from({ length: 25 }, (_, i) => auth.authorize(get(`/v2/alice/app/manifests/${i}`), [pull])),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(calls.length, 2)
          for (const request of requests) assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-2`)
        })
    ))

  it.live("concurrent 401s on a fresh service share one token request", () =>
    withAuth(
      (call, n) => Effect.as(Effect.sleep("30 millis"), json({ token: `${TOKEN_PREFIX}-${n}`, expires_in: 300 })),
      {},
      (auth, calls) =>
        Effect.gen(function*() {
          yield* Effect.all(
            Array.from({ length: 10 }, () => auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(calls.length, 1)
        })
    ))

  it.live("an interrupted caller does not fail the others waiting for the same token", () =>
    withAuth(
      (call, n) => Effect.as(Effect.sleep("50 millis"), json({ token: `${TOKEN_PREFIX}-${n}`, expires_in: 300 })),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [])
          const first = yield* Effect.fork(auth.authorize(get("/v2/a"), [pull]))
          const second = yield* Effect.fork(auth.authorize(get("/v2/b"), [pull]))
          yield* Effect.sleep("10 millis")
          yield* first.interruptAsFork(first.id())
          const request = yield* second.await.pipe(Effect.flatten)
          assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-2`)
          assert.strictEqual(calls.length, 2)
        })
    ))

  it.effect("fetches a new token shortly before expiry (TestClock)", () =>
    withAuth(
      tokens({ expires_in: 300, issued_at: "2026-11-26T22:00:00Z" }),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          yield* TestClock.adjust("200 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-1`)
          yield* TestClock.adjust("65 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-1`)
          // 10% of 300 s before expiry: from 270 s on a new token is fetched.
          yield* TestClock.adjust("6 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
          assert.strictEqual(calls.length, 2)
        })
    ))

  it.effect("believes issued_at only when it lies in the past within the lifetime", () =>
    withAuth(
      // The server clock says the token was issued 250 s before the (test) clock's now.
      tokens({ expires_in: 300, issued_at: new Date(-250_000).toISOString() }),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          yield* TestClock.adjust("21 seconds")
          yield* auth.authorize(get("/v2/"), [pull])
          assert.strictEqual(calls.length, 2)
        })
    ))

  it.effect("a token without expires_in lives 60 seconds", () =>
    withAuth(
      (_call, n) => json({ token: `${TOKEN_PREFIX}-${n}` }),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          yield* TestClock.adjust("50 seconds")
          yield* auth.authorize(get("/v2/"), [pull])
          assert.strictEqual(calls.length, 1)
          yield* TestClock.adjust("10 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
          assert.strictEqual(calls.length, 2)
        })
    ))

  it.effect("reads access_token when the server sends only that", () =>
    withAuth(
      (_call, n) => json({ access_token: `${TOKEN_PREFIX}-${n}`, expires_in: 120 }),
      {},
      (auth) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-1`)
        })
    ))

  it.effect("invalid_token drops the token and fetches a new one", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        const sent = yield* auth.authorize(get("/v2/alice/app/manifests/latest"), [pull])
        assert.strictEqual(bearerOf(sent), `Bearer ${TOKEN_PREFIX}-1`)
        yield* auth.challenge(unauthorized(sent, bearerChallenge(`,error="invalid_token"`)), [pull])
        assert.strictEqual(calls.length, 2)
        assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
        assert.strictEqual(calls.length, 2)
      })))

  it.effect("insufficient_scope widens the scopes, and later calls use the wider token", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        const push = AuthService.scopes.push("alice/app")
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [push])
        const sent = yield* auth.authorize(get("/v2/alice/app/blobs/uploads/?mount=x&from=alice/src"), [push])
        yield* auth.challenge(
          unauthorized(
            sent,
            bearerChallenge(
              `,scope="repository:alice/app:pull,push repository:alice/src:pull",error="insufficient_scope"`
            )
          ),
          [push]
        )
        assert.strictEqual(calls.length, 2)
        assert.deepStrictEqual(calls[1].url.searchParams.getAll("scope"), [push, "repository:alice/src:pull"])
        const retried = yield* auth.authorize(get("/v2/alice/app/blobs/uploads/?mount=x&from=alice/src"), [push])
        assert.strictEqual(bearerOf(retried), `Bearer ${TOKEN_PREFIX}-2`)
        assert.strictEqual(calls.length, 2)
      })))

  it.effect("insufficient_scope for a token that already has every named scope fails InsufficientScope", () =>
    withAuth(tokens(), { credentials: alice }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        const sent = yield* auth.authorize(get("/v2/"), [pull])
        const error = yield* Effect.flip(
          auth.challenge(unauthorized(sent, bearerChallenge(`,scope="${pull}",error="insufficient_scope"`)), [pull])
        )
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "InsufficientScope")
        assert.strictEqual(calls.length, 1)
        assertNoSecret(error, [PASSWORD, `${TOKEN_PREFIX}-1`])
      })))

  it.effect("anonymous insufficient_scope: MissingCredentials whose message says both why and what", () =>
    withAuth(tokens(), {}, (auth, calls) =>
      Effect.gen(function*() {
        const push = AuthService.scopes.push("alice/app")
        const path = "/v2/alice/app/blobs/uploads/"
        const insufficient = bearerChallenge(`,scope="${push}",error="insufficient_scope"`)
        yield* auth.challenge(unauthorized(get(path), bearerChallenge()), [pull])
        const sent = yield* auth.authorize(get(path), [pull])
        // First time: the scope is widened and a token asked for it (granted anonymously, with less).
        yield* auth.challenge(unauthorized(sent, insufficient), [pull])
        assert.strictEqual(calls.length, 2)
        assert.deepStrictEqual(calls[1].url.searchParams.getAll("scope"), [push])
        const retried = yield* auth.authorize(get(path), [pull])
        assert.strictEqual(bearerOf(retried), `Bearer ${TOKEN_PREFIX}-2`)
        const error = yield* Effect.flip(auth.challenge(unauthorized(retried, insufficient), [pull]))
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "MissingCredentials")
        assert.include(error._tag === "Unauthorized" ? error.challenge : "", "insufficient_scope")
        assert.include(error.message, "requires credentials and none are configured")
        assert.include(error.message, "asked for a wider scope (insufficient_scope)")
        assert.include(error.message, push)
        assert.strictEqual(calls.length, 2)
        assertNoSecret(error, [TOKEN_PREFIX])
      })))

  it.effect("a static registry token is sent as is, to the challenging origin only", () =>
    withAuth(tokens(), { credentials: Credentials.bearer("static-T0ken") }, (auth, calls) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        const sent = yield* auth.authorize(get("/v2/"), [pull])
        assert.strictEqual(bearerOf(sent), "Bearer static-T0ken")
        assert.isUndefined(bearerOf(yield* auth.authorize(get("/v2/", "https://other.test"), [pull])))
        assert.strictEqual(calls.length, 0)
        const error = yield* Effect.flip(
          auth.challenge(unauthorized(sent, bearerChallenge(`,error="invalid_token"`)), [])
        )
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "InvalidToken")
        assertNoSecret(error, ["static-T0ken"])
      })))

  it.effect("refuses a plain-http realm for an https registry unless allowed", () =>
    Effect.gen(function*() {
      const insecure = `Bearer realm="http://auth.test/token",service="${SERVICE}"`
      const refused = yield* withAuth(tokens(), { credentials: alice }, (auth, calls) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), insecure), [pull]))
          assert.strictEqual(calls.length, 0)
          assert.isUndefined(bearerOf(yield* auth.authorize(get("/v2/"), [pull])))
          return error
        }))
      assert.strictEqual(refused._tag === "Unauthorized" && refused.reason, "InsecureRealm")
      yield* withAuth(tokens(), { credentials: alice, allowInsecureRealm: true }, (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), insecure), [pull])
          assert.strictEqual(calls[0].url.protocol, "http:")
        }))
      // A plain-http registry with a plain-http realm (a local test setup) is fine.
      yield* withAuth(tokens(), { credentials: alice }, (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/", "http://127.0.0.1:5000"), insecure), [pull])
          assert.strictEqual(calls.length, 1)
        }))
    }))

  it.effect("a Bearer challenge without a realm is an UnexpectedResponse", () =>
    withAuth(tokens(), {}, (auth) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), `Bearer service="x"`), []))
        assert.strictEqual(error._tag, "UnexpectedResponse")
      })))

  it.effect("an unsupported scheme fails UnsupportedChallenge", () =>
    withAuth(tokens(), { credentials: alice }, (auth) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), `Negotiate abc==`), []))
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, "UnsupportedChallenge")
      })))
})

describe("AuthService: OAuth2", () => {
  const form = (call: Call) => new URLSearchParams(call.body ?? "")

  it.effect("exchanges an identity token with a POST refresh_token grant", () =>
    withAuth(
      (_call, n) => json({ access_token: `${TOKEN_PREFIX}-${n}`, expires_in: 300 }),
      { credentials: Credentials.identityToken("refresh-S3cret", "alice") },
      (auth, calls) =>
        Effect.gen(function*() {
          const scopes = [pull, AuthService.scopes.pull("alice/src")]
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), scopes)
          assert.strictEqual(calls.length, 1)
          const call = calls[0]
          assert.strictEqual(call.method, "POST")
          assert.strictEqual(call.url.href, REALM)
          assert.strictEqual(call.contentType, "application/x-www-form-urlencoded")
          assert.isUndefined(call.authorization)
          const body = form(call)
          assert.strictEqual(body.get("grant_type"), "refresh_token")
          assert.strictEqual(body.get("refresh_token"), "refresh-S3cret")
          assert.strictEqual(body.get("service"), SERVICE)
          assert.strictEqual(body.get("scope"), scopes.join(" "))
          assert.strictEqual(body.get("client_id"), "effect-registry")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), scopes)), `Bearer ${TOKEN_PREFIX}-1`)
        })
    ))

  for (const status of [404, 405]) {
    it.effect(`an identity token against a token server refusing POST (${status}) fails, with no GET fallback`, () =>
      withAuth(
        (call, n) => call.method === "POST" ? new Response("refused", { status }) : tokens()(call, n),
        { credentials: Credentials.identityToken("refresh-S3cret", "alice") },
        (auth, calls) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
            assert.deepStrictEqual(calls.map((c) => c.method), ["POST"])
            assert.strictEqual(error._tag === "Unauthorized" && error.reason, "UnsupportedChallenge")
            assert.strictEqual(error.status, status)
            assert.strictEqual(error.request, `POST ${REALM}`)
            assert.include(error.message, "does not support OAuth2 refresh tokens")
            assertNoSecret(error, ["refresh-S3cret"])
            // authorize (the challenge is known now) fails the same way, never trying GET.
            const again = yield* Effect.flip(auth.authorize(get("/v2/"), [pull]))
            assert.strictEqual(again._tag === "Unauthorized" && again.reason, "UnsupportedChallenge")
            assert.deepStrictEqual(calls.map((c) => c.method), ["POST", "POST"])
          })
      ))

    it.effect(`oauth2 with a password falls back to GET with Basic when the token server refuses POST (${status})`, () =>
      withAuth(
        (call, n) => call.method === "POST" ? new Response("refused", { status }) : tokens()(call, n),
        { credentials: alice, oauth2: true },
        (auth, calls) =>
          Effect.gen(function*() {
            yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
            assert.deepStrictEqual(calls.map((c) => c.method), ["POST", "GET"])
            assert.deepStrictEqual(calls[1].url.searchParams.getAll("scope"), [pull])
            assert.strictEqual(calls[1].authorization, aliceBasic)
            assert.notInclude(calls[1].url.href, PASSWORD)
            assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
          })
      ))
  }

  it.effect("with oauth2, uses the password grant, then the refresh token it was given", () =>
    withAuth(
      (_call, n) => json({ access_token: `${TOKEN_PREFIX}-${n}`, refresh_token: `refresh-${n}`, expires_in: 60 }),
      { credentials: alice, oauth2: true },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          const first = form(calls[0])
          assert.strictEqual(calls[0].method, "POST")
          assert.strictEqual(first.get("grant_type"), "password")
          assert.strictEqual(first.get("username"), "alice")
          assert.strictEqual(first.get("password"), PASSWORD)
          assert.notInclude(calls[0].url.href, PASSWORD)
          yield* TestClock.adjust("60 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
          const second = form(calls[1])
          assert.strictEqual(second.get("grant_type"), "refresh_token")
          assert.strictEqual(second.get("refresh_token"), "refresh-1")
        })
    ))

  it.effect("a revoked refresh token falls back to the password grant", () =>
    withAuth(
      (call, n) =>
        form(call).get("grant_type") === "refresh_token"
          ? json({ error: "invalid_grant" }, 400)
          : json({ access_token: `${TOKEN_PREFIX}-${n}`, refresh_token: `refresh-${n}`, expires_in: 60 }),
      { credentials: alice, oauth2: true },
      (auth, calls) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          yield* TestClock.adjust("60 seconds")
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-3`)
          assert.deepStrictEqual(calls.map((c) => form(c).get("grant_type")), ["password", "refresh_token", "password"])
        })
    ))
})

describe("AuthService: token server failures", () => {
  const bodies: ReadonlyArray<readonly [string, Response]> = [
    ["HTML", new Response(`<html><body>${PASSWORD} ${TOKEN_PREFIX}</body></html>`, { status: 200 })],
    ["not JSON", new Response(`token=${TOKEN_PREFIX}`, { status: 200 })],
    ["empty", new Response("", { status: 200 })],
    ["JSON without token", json({ tokn: `${TOKEN_PREFIX}-x`, expires_in: 300 })],
    ["empty token", json({ token: "" })],
    ["a number as token", json({ token: 12345 })],
    ["a JSON array", json([TOKEN_PREFIX])],
    ["JSON null", json(null)],
    ["a token that is not a header value", json({ token: `${TOKEN_PREFIX}\r\nx-injected: 1` })]
  ]
  for (const [name, response] of bodies) {
    it.effect(`${name} → UnexpectedResponse (Body), with no secret in the error`, () =>
      withAuth(() => response.clone(), { credentials: alice }, (auth) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
          assert.strictEqual(error._tag, "UnexpectedResponse")
          assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "Body")
          assert.strictEqual(error.request, `GET ${REALM}`)
          assertNoSecret(error, [PASSWORD, TOKEN_PREFIX, btoa(`alice:${PASSWORD}`)])
        })))
  }

  const LIMIT = 1024 * 1024
  const CHUNK = 64 * 1024

  /** A body of `total` bytes made only as it is pulled: `{"token":"…","pad":"aaaa…`. */
  const lazyBody = (total: number, close = true) => {
    const state = { pulled: 0, cancelled: false }
    const head = new TextEncoder().encode(`{"token":"${TOKEN_PREFIX}-1","expires_in":300,"pad":"`)
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.pulled >= total) {
          if (close) {
            controller.enqueue(new TextEncoder().encode(`"}`))
            controller.close()
            return
          }
          return new Promise<void>(() => {}) // a server that stops sending
        }
        const chunk = new Uint8Array(Math.min(CHUNK, total - state.pulled)).fill(0x61)
        if (state.pulled === 0) chunk.set(head)
        state.pulled += chunk.length
        controller.enqueue(chunk)
      },
      cancel() {
        state.cancelled = true
      }
    })
    return { state, stream }
  }

  it.effect("a 50 MiB token answer (no Content-Length) is abandoned after about 1 MiB: TooLarge", () => {
    const body = lazyBody(50 * 1024 * 1024)
    return withAuth(
      () => new Response(body.stream, { status: 200 }),
      { credentials: alice },
      (auth) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
          assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "TooLarge")
          assert.strictEqual(error.request, `GET ${REALM}`)
          assert.isAtLeast(body.state.pulled, LIMIT)
          // The limit plus the chunk that crossed it and the one the stream's queue holds: no more.
          assert.isAtMost(body.state.pulled, LIMIT + 2 * CHUNK)
          assert.isTrue(body.state.cancelled, "the body stream was cancelled")
          assertNoSecret(error, [TOKEN_PREFIX, PASSWORD])
        })
    )
  })

  it.effect("a token answer just under the limit, streamed without Content-Length, is read", () => {
    const body = lazyBody(LIMIT - 1024)
    return withAuth(
      () => new Response(body.stream, { status: 200 }),
      { credentials: alice },
      (auth) =>
        Effect.gen(function*() {
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-1`)
        })
    )
  })

  it.effect("a Content-Length over the limit is refused before reading", () => {
    const body = lazyBody(50 * 1024 * 1024)
    return withAuth(
      () => new Response(body.stream, { status: 200, headers: { "content-length": String(50 * 1024 * 1024) } }),
      { credentials: alice },
      (auth) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
          assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "TooLarge")
          assert.isAtMost(body.state.pulled, CHUNK)
        })
    )
  })

  it.effect("a token answer whose body stalls times out (TestClock): the timeout covers the body", () => {
    const body = lazyBody(CHUNK, false)
    return withAuth(
      () => new Response(body.stream, { status: 200 }),
      { credentials: alice, tokenTimeout: "10 seconds" },
      (auth) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
          yield* TestClock.adjust("9 seconds")
          assert.isTrue(Option.isNone(yield* fiber.poll))
          yield* TestClock.adjust("2 seconds")
          const error = yield* Effect.flip(fiber)
          assert.strictEqual(error._tag === "TransportError" && error.reason, "Timeout")
        })
    )
  })

  it.effect("a failure is not cached: the next call asks again", () =>
    withAuth(
      (call, n) => n === 1 ? new Response("<html>", { status: 200 }) : tokens()(call, n),
      { credentials: alice },
      (auth, calls) =>
        Effect.gen(function*() {
          const first = yield* Effect.either(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
          assert.isTrue(Either.isLeft(first))
          yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
          assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [pull])), `Bearer ${TOKEN_PREFIX}-2`)
          assert.strictEqual(calls.length, 2)
        })
    ))

  it.effect("401 from the token server → RejectedCredentials (MissingCredentials when anonymous)", () =>
    Effect.gen(function*() {
      const refuse = () => json({ details: "incorrect username or password" }, 401)
      for (
        const [credentials, reason] of [[alice, "RejectedCredentials"], [
          Credentials.anonymous,
          "MissingCredentials"
        ]] as const
      ) {
        const error = yield* withAuth(
          refuse,
          { credentials },
          (auth) => Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
        )
        assert.strictEqual(error._tag === "Unauthorized" && error.reason, reason)
        assert.strictEqual(error.status, 401)
        assertNoSecret(error, [PASSWORD, btoa(`alice:${PASSWORD}`)])
      }
    }))

  it.effect("a 503 from the token server → UnexpectedResponse (Status)", () =>
    withAuth(() => new Response("busy", { status: 503 }), {}, (auth) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))
        assert.strictEqual(error._tag === "UnexpectedResponse" && error.reason, "Status")
        assert.strictEqual(error.status, 503)
      })))

  it.effect("a token server that cannot be reached → TransportError", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: "ECONNREFUSED" }))
      )
      const error = yield* Effect.flatMap(AuthService.AuthService, (auth) =>
        Effect.flip(auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]))).pipe(
          Effect.provide(
            AuthService.layer({ credentials: alice }).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
          )
        )
      assert.strictEqual(error._tag === "TransportError" && error.reason, "Transport")
      assertNoSecret(error, [PASSWORD])
    }))
})

describe("AuthService: credentials", () => {
  it.effect("a CredentialsProvider is asked once per host", () => {
    const asked: Array<string> = []
    const provider = Layer.succeed(Credentials.CredentialsProvider, {
      get: (host) =>
        Effect.sync(() => {
          asked.push(host)
          return host === "registry.test" ? alice : Credentials.anonymous
        })
    })
    const { calls, http } = network(tokens())
    return Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), [])
      yield* auth.challenge(unauthorized(get("/v2/", "https://mirror.test:8443"), `Basic realm="r"`), []).pipe(
        Effect.flip
      )
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [])), aliceBasic)
      }
      assert.deepStrictEqual(asked, ["registry.test", "mirror.test:8443"])
      assert.strictEqual(calls.length, 0)
    }).pipe(Effect.provide(AuthService.layerProvider.pipe(Layer.provide([http, provider]))))
  })

  it.effect("layerConfig reads REGISTRY_USERNAME and REGISTRY_PASSWORD", () => {
    const { http } = network(tokens())
    return Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), [])
      assert.strictEqual(bearerOf(yield* auth.authorize(get("/v2/"), [])), aliceBasic)
    }).pipe(
      Effect.provide(AuthService.layerConfig().pipe(Layer.provide(http))),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(new Map([["REGISTRY_USERNAME", "alice"], ["REGISTRY_PASSWORD", PASSWORD]]))
      )
    )
  })

  it.effect("credentialsConfig: token, identity token, anonymous, and a username without password", () =>
    Effect.gen(function*() {
      const read = (entries: ReadonlyArray<readonly [string, string]>) =>
        AuthService.credentialsConfig().pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))),
          Effect.either
        )
      const token = yield* read([["REGISTRY_TOKEN", "t"], ["REGISTRY_USERNAME", "u"], ["REGISTRY_PASSWORD", "p"]])
      assert.strictEqual(Either.getOrThrow(token)._tag, "Bearer")
      const identity = yield* read([["REGISTRY_IDENTITY_TOKEN", "i"], ["REGISTRY_USERNAME", "u"]])
      const id = Either.getOrThrow(identity)
      assert.strictEqual(id._tag === "IdentityToken" && id.username, "u")
      assert.strictEqual(Either.getOrThrow(yield* read([]))._tag, "Anonymous")
      const broken = yield* read([["REGISTRY_USERNAME", "u"]])
      assert.isTrue(Either.isLeft(broken))
      assertNoSecret(Either.getOrThrow(yield* read([["REGISTRY_USERNAME", "u"], ["REGISTRY_PASSWORD", PASSWORD]])), [
        PASSWORD
      ])
    }))
})

describe("AuthService: redaction", () => {
  const logged = (request: HttpClientRequest.HttpClientRequest) => {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push(JSON.stringify(message))
    })
    return Effect.log(request).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Effect.as(lines)
    )
  }

  it.effect("logged requests show the Authorization header as <redacted>", () =>
    withAuth(tokens(), { credentials: alice }, (auth) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        const request = yield* auth.authorize(get("/v2/"), [pull])
        const lines = yield* logged(request)
        assert.strictEqual(lines.length, 1)
        assert.notInclude(lines[0], TOKEN_PREFIX)
        assert.include(lines[0], "<redacted>")
      })))

  it.effect("the layer puts authorization back into Headers.currentRedactedNames", () =>
    withAuth(tokens(), { credentials: alice }, (auth) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), `Basic realm="r"`), [])
        const request = yield* auth.authorize(get("/v2/"), [])
        const lines = yield* logged(request)
        assert.notInclude(lines[0], aliceBasic.slice(6))
        assert.include(lines[0], "<redacted>")
        const names = yield* FiberRef.get(Headers.currentRedactedNames)
        assert.include(names, "authorization")
      })).pipe(Effect.locally(Headers.currentRedactedNames, [])))

  it.effect("withRedactedAuthorization adds authorization to the redacted names", () =>
    Effect.gen(function*() {
      const names = yield* AuthService.withRedactedAuthorization(FiberRef.get(Headers.currentRedactedNames))
      assert.deepStrictEqual(names, ["x-other", "authorization"])
    }).pipe(Effect.locally(Headers.currentRedactedNames, ["x-other"])))

  it.effect("spans carry no secret", () => {
    const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        const attributes = new Map<string, unknown>()
        spans.push({ name, attributes })
        const span: Tracer.Span = {
          _tag: "Span",
          name,
          spanId: `span-${spans.length}`,
          traceId: "trace",
          parent,
          context,
          status: { _tag: "Started", startTime },
          attributes,
          links: [...links],
          sampled: true,
          kind,
          end: () => undefined,
          attribute: (key, value) => {
            attributes.set(key, value)
          },
          event: () => undefined,
          addLinks: () => undefined
        }
        return span
      },
      context: (f) => f()
    })
    return withAuth(tokens(), { credentials: alice }, (auth) =>
      Effect.gen(function*() {
        yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull])
        yield* auth.authorize(get("/v2/alice/app/manifests/latest"), [pull])
        const names = spans.map((s) => s.name)
        assert.includeMembers(names, ["AuthService.challenge", "AuthService.fetchToken", "AuthService.authorize"])
        const fetch = spans.find((s) => s.name === "AuthService.fetchToken")
        assert.strictEqual(fetch?.attributes.get("registry.auth.scopes"), pull)
        for (const span of spans) {
          for (const [key, value] of span.attributes) {
            const text = `${key}=${String(value)}`
            for (const secret of [PASSWORD, TOKEN_PREFIX, aliceBasic.slice(6)]) {
              assert.notInclude(text, secret, span.name)
            }
          }
        }
      })).pipe(Effect.withTracer(tracer))
  })

  it("scope helpers", () => {
    assert.strictEqual(AuthService.scopes.pull("a/b"), "repository:a/b:pull")
    assert.strictEqual(AuthService.scopes.push("a/b"), "repository:a/b:pull,push")
    assert.strictEqual(AuthService.scopes.delete("a/b"), "repository:a/b:delete")
    assert.strictEqual(AuthService.scopes.catalog, "registry:catalog:*")
    assert.deepStrictEqual(AuthService.scopes.mount("a", "b"), ["repository:a:pull,push", "repository:b:pull"])
    assert.deepStrictEqual(
      AuthService.mergeScopes(["repository:a:push", "repository:a:pull"], ["registry:catalog:* repository:b:pull"]),
      ["registry:catalog:*", "repository:a:pull,push", "repository:b:pull"]
    )
    assert.deepStrictEqual(AuthService.mergeScopes(["weird", "", "repository:localhost:5000/x:pull"]), [
      "repository:localhost:5000/x:pull",
      "weird"
    ])
  })
})

describe("AuthService: used after its layer's scope closed", () => {
  it.live("a token fetch after the scope closed finishes instead of hanging", () => {
    const { calls, http } = network(tokens())
    return Effect.gen(function*() {
      // The service escapes `Effect.provide`: its scope is closed when it is used.
      const auth = yield* AuthService.AuthService.pipe(
        Effect.provide(AuthService.layer({ credentials: alice }).pipe(Layer.provide(http)))
      )
      const outcome = yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [pull]).pipe(
        Effect.either,
        Effect.timeout("2 seconds"),
        Effect.option
      )
      assert.isTrue(Option.isSome(outcome), "challenge returned")
      assert.isTrue(Option.isSome(outcome) && Either.isRight(outcome.value))
      const request = yield* auth.authorize(get("/v2/"), [pull]).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(bearerOf(request), `Bearer ${TOKEN_PREFIX}-1`)
      assert.strictEqual(calls.length, 1)
    })
  })

  it.live("a fetch in flight when the scope closes: the waiting caller still returns", () => {
    const { calls, http } = network((_call, n) =>
      Effect.as(Effect.sleep("100 millis"), json({ token: `${TOKEN_PREFIX}-${n}`, expires_in: 300 }))
    )
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        AuthService.layer({ credentials: alice }).pipe(Layer.provide(http)),
        scope
      )
      const auth = Context.get(context, AuthService.AuthService)
      yield* auth.challenge(unauthorized(get("/v2/"), bearerChallenge()), [])
      const waiting = yield* Effect.fork(auth.authorize(get("/v2/alice/app/tags/list"), [pull]))
      yield* Effect.sleep("20 millis")
      assert.strictEqual(calls.length, 2)
      yield* Scope.close(scope, Exit.void)
      const exit = yield* waiting.await.pipe(Effect.timeout("2 seconds"))
      assert.isTrue(Exit.isSuccess(exit))
      // The interrupted fetch (2) is replaced by one in the caller's fiber (3).
      assert.strictEqual(Exit.isSuccess(exit) && bearerOf(exit.value), `Bearer ${TOKEN_PREFIX}-3`)
    })
  })
})
