// Bad input, bodies: token responses (through AuthService), error bodies and headers (through the client's
// error mapping), manifests (Manifest.decode). Only typed results: a success, or a failure that is a
// RegistryError; never a throw or a defect. Size limits hold before decoding; deep nesting is refused.
import { AuthService, Credentials, Manifest, MediaType, RegistryClient, RegistryError } from "@effect-registry/core"
import * as PortableHash from "@effect-registry/core/PortableHash"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"

// 10 000 cases each (issue 11); each case runs a whole operation, so the time bound is generous.
const Runs = { timeout: 300_000, fastCheck: { numRuns: 10_000 } }

// Every case runs on promises and microtasks only; without a macrotask now and then, the
// worker cannot answer vitest's RPC during 10 000 cases ("Timeout calling onTaskUpdate").
let cases = 0
const breathe = Effect.suspend(() =>
  ++cases % 100 === 0 ? Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))) : Effect.void
)

const assertTyped = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return
  assert.strictEqual(exit.cause._tag, "Fail", `not a typed failure: ${String(exit.cause)}`)
  if (exit.cause._tag === "Fail") assert.isTrue(RegistryError.isRegistryError(exit.cause.error))
}

const encoder = new TextEncoder()
const asBody = (bytes: Uint8Array): BodyInit => new Uint8Array(bytes) as Uint8Array<ArrayBuffer>

// JSON-ish bodies: arbitrary bytes, arbitrary JSON, and near-valid shapes.
const anyJson = fc.jsonValue({ maxDepth: 4 })
const bodyOf = (nearValid: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.string({ maxLength: 300 }).map((s) => encoder.encode(s)),
    anyJson.map((j) => encoder.encode(JSON.stringify(j))),
    nearValid.map((j) => encoder.encode(JSON.stringify(j)))
  )

const headerValue = fc.string({ maxLength: 60 }).map((s) => s.trim())

// --- token responses -----------------------------------------------------------------------------------------

const tokenLike = fc.record({
  token: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
  access_token: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
  expires_in: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 5 }), fc.constant(null)),
  issued_at: fc.oneof(fc.string({ maxLength: 30 }), fc.date().map((d) => isNaN(d.getTime()) ? "x" : d.toISOString())),
  refresh_token: fc.oneof(fc.string({ maxLength: 10 }), anyJson)
}, { requiredKeys: [] })

const tokenAnswer = fc.record({
  status: fc.constantFrom(200, 200, 200, 201, 400, 401, 403, 404, 429, 500, 503),
  body: bodyOf(tokenLike),
  contentType: fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8", "")
})

const Registry = "https://registry.test"

const challengeResponse = HttpClientResponse.fromWeb(
  HttpClientRequest.get(`${Registry}/v2/app/tags/list`),
  new Response(null, {
    status: 401,
    headers: { "www-authenticate": `Bearer realm="${Registry}/token",service="registry.test"` }
  })
)

describe("token responses through AuthService", () => {
  it.live.prop(
    "any token server answer gives a token or a typed failure",
    [tokenAnswer],
    ([answer]) =>
      Effect.gen(function*() {
        yield* breathe
        const http = HttpClient.make((request) =>
          Effect.succeed(HttpClientResponse.fromWeb(
            request,
            new Response(asBody(answer.body), {
              status: answer.status,
              headers: answer.contentType === "" ? {} : { "content-type": answer.contentType }
            })
          ))
        )
        const exit = yield* Effect.exit(
          Effect.gen(function*() {
            const auth = yield* AuthService.make({ credentials: Credentials.basic("alice", "pw") })
            const scopes = ["repository:app:pull"]
            yield* auth.challenge(challengeResponse, scopes)
            return yield* auth.authorize(HttpClientRequest.get(`${Registry}/v2/app/tags/list`), scopes)
          }).pipe(Effect.scoped, Effect.provideService(HttpClient.HttpClient, http))
        )
        assertTyped(exit)
      }),
    Runs
  )
})

// --- error bodies and headers through the client's error mapping --------------------------------------------

const errorLike = fc.record({
  errors: fc.oneof(
    fc.array(
      fc.record({
        code: fc.oneof(
          fc.constantFrom(
            "UNAUTHORIZED",
            "DENIED",
            "MANIFEST_UNKNOWN",
            "BLOB_UNKNOWN",
            "NAME_UNKNOWN",
            "TOOMANYREQUESTS",
            "UNSUPPORTED",
            "SIZE_INVALID",
            "PAGINATION_NUMBER_INVALID",
            "unknown"
          ),
          fc.string({ maxLength: 20 }),
          anyJson
        ),
        message: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
        detail: anyJson
      }, { requiredKeys: [] }),
      { maxLength: 3 }
    ),
    anyJson
  )
}, { requiredKeys: [] })

const answer = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 201, 202, 204, 206, 301, 302, 307, 400, 401, 403, 404, 405, 408, 416, 429, 500, 502, 503),
    fc.integer({ min: 200, max: 599 })
  ),
  body: bodyOf(errorLike),
  headers: fc.record({
    "content-type": fc.oneof(headerValue, fc.constantFrom(...MediaType.AcceptAll)),
    "retry-after": fc.oneof(headerValue, fc.nat().map(String)),
    "www-authenticate": fc.oneof(headerValue, fc.constant("Bearer realm=\"https://registry.test/token\"")),
    "docker-content-digest": fc.oneof(headerValue, fc.constant("sha256:" + "0".repeat(64))),
    location: fc.oneof(headerValue, fc.constantFrom("/v2/app/blobs/x", "http://[::1", "javascript:x")),
    "content-range": headerValue,
    link: headerValue
  }, { requiredKeys: [] })
})

interface Answer {
  readonly status: number
  readonly body: Uint8Array
  readonly headers: Readonly<Record<string, string>>
}

describe("error bodies through the client", () => {
  let current: Answer = { status: 200, body: encoder.encode("{}"), headers: {} }
  const http = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const a: Answer = url.pathname === "/v2/" ? { status: 200, body: encoder.encode("{}"), headers: {} } : current
      const noBody = request.method === "HEAD" || a.status === 204 || a.status === 205 || a.status === 304
      return HttpClientResponse.fromWeb(
        request,
        new Response(noBody ? null : asBody(a.body), { status: a.status, headers: a.headers })
      )
    })
  )
  const ClientLive = RegistryClient.layer({ url: Registry, retrySchedule: Schedule.stop, maxRedirects: 2 }).pipe(
    Layer.provide(AuthService.anonymous),
    Layer.provide(Layer.merge(Layer.succeed(HttpClient.HttpClient, http), PortableHash.layer))
  )
  // One client for every run, built in a scope that stays open for the file (its AuthService forks token
  // fetches into that scope).
  const scope = Effect.runSync(Scope.make())
  let client: RegistryClient.Service | undefined
  const getClient = Effect.suspend(() =>
    client !== undefined
      ? Effect.succeed(client)
      : Effect.map(Layer.buildWithScope(ClientLive, scope), (context) => {
        client = Context.get(context, RegistryClient.RegistryClient)
        return client
      })
  )

  it.live.prop("getManifest: any answer is a manifest or a typed failure", [answer], ([a]) =>
    Effect.gen(function*() {
      yield* breathe
      const c = yield* getClient
      current = a
      assertTyped(yield* Effect.exit(c.getManifest("app", "v1")))
    }), Runs)

  it.live.prop("tags, hasBlob, blobMetadata: typed", [answer], ([a]) =>
    Effect.gen(function*() {
      yield* breathe
      const c = yield* getClient
      current = a
      assertTyped(yield* Effect.exit(c.tags("app")))
      assertTyped(yield* Effect.exit(c.hasBlob("app", "sha256:" + "1".repeat(64))))
      assertTyped(yield* Effect.exit(c.blobMetadata("app", "sha256:" + "1".repeat(64))))
    }), { timeout: 300_000, fastCheck: { numRuns: 3_000 } })
})

// --- manifests -----------------------------------------------------------------------------------------------

const descriptorLike = fc.record({
  mediaType: fc.oneof(fc.constantFrom(...MediaType.AcceptAll, "application/vnd.oci.image.layer.v1.tar"), anyJson),
  digest: fc.oneof(fc.constant("sha256:" + "a".repeat(64)), fc.string({ maxLength: 20 }), anyJson),
  size: fc.oneof(fc.nat(), fc.integer(), fc.double(), anyJson),
  annotations: fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })), anyJson),
  platform: fc.oneof(fc.record({ os: fc.string({ maxLength: 5 }), architecture: fc.string({ maxLength: 5 }) }), anyJson)
}, { requiredKeys: [] })

const manifestLike = fc.record({
  schemaVersion: fc.oneof(fc.constantFrom(1, 2, 3), anyJson),
  mediaType: fc.oneof(fc.constantFrom(...MediaType.AcceptAll), fc.string({ maxLength: 20 })),
  config: fc.oneof(descriptorLike, anyJson),
  layers: fc.oneof(fc.array(descriptorLike, { maxLength: 3 }), anyJson),
  manifests: fc.oneof(fc.array(descriptorLike, { maxLength: 3 }), anyJson),
  subject: fc.oneof(descriptorLike, anyJson),
  fsLayers: fc.oneof(fc.array(fc.record({ blobSum: fc.string({ maxLength: 10 }) })), anyJson),
  signatures: anyJson,
  name: fc.string({ maxLength: 10 }),
  tag: fc.string({ maxLength: 10 })
}, { requiredKeys: [] })

const contentType = fc.oneof(
  fc.constantFrom(...MediaType.AcceptAll, "", "application/json", "text/plain"),
  fc.string({ maxLength: 30 })
)

describe("manifests", () => {
  it.live.prop(
    "Manifest.decode: any bytes give a manifest or ManifestInvalid",
    [bodyOf(manifestLike), contentType],
    ([bytes, ct]) =>
      Effect.gen(function*() {
        yield* breathe
        const exit = yield* Effect.exit(Manifest.decode(bytes, { contentType: ct }))
        assertTyped(exit)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error._tag, "ManifestInvalid")
        }
      }),
    Runs
  )

  it.effect("a manifest over the size limit is refused before it is decoded", () =>
    Effect.gen(function*() {
      // not JSON at all: a decoder that looked at it would say Json, not TooLarge
      const big = new Uint8Array(Manifest.DefaultMaxSize + 1).fill(0x7b)
      const error = yield* Effect.flip(Manifest.decode(big))
      assert.strictEqual(error.reason, "TooLarge")
      const small = yield* Effect.flip(Manifest.decode(encoder.encode("{\"schemaVersion\":2}"), { maxSize: 5 }))
      assert.strictEqual(small.reason, "TooLarge")
    }))

  it.effect("JSON bombs (deep nesting) are refused with ManifestInvalid, not a stack overflow", () =>
    Effect.gen(function*() {
      for (const depth of [65, 1_000, 100_000, 1_000_000]) {
        const arrays = "[".repeat(depth) + "]".repeat(depth)
        const objects = "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)
        const wrapped = `{"schemaVersion":2,"layers":${arrays}}`
        for (const text of [arrays, objects, wrapped]) {
          const exit = yield* Effect.exit(Manifest.decode(encoder.encode(text), { maxSize: 8 * 1024 * 1024 }))
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) {
            assert.strictEqual(exit.cause._tag, "Fail")
            if (exit.cause._tag === "Fail") assert.strictEqual(exit.cause.error._tag, "ManifestInvalid")
          }
        }
      }
    }))
})
