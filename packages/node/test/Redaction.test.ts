// Every error the library produces is safe to log whole. For each operation and each failure mode a node:http
// server of ours on 127.0.0.1 can provoke (a reset, a body cut short, 4xx, 5xx, a timeout, a refused token, an
// upload that cannot resume), with Basic, token (Basic at a token server), identity-token and static-token
// credentials, none of the secrets (the password, the base64 Basic value, the tokens, presigned query values,
// an upload's `_state`) appears in String(e), JSON.stringify(e), util.inspect(e, { depth: Infinity,
// showHidden: true }), Cause.pretty, the own-property graph of the error and its causes, log lines at
// LogLevel.All, or any span attribute or exit a tracer records.
import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import * as Credentials from "@effect-registry/core/Credentials"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as util from "node:util"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"

const USER = "alice"
const PASSWORD = "pw-Secret-7f3a9c-horse"
const BASIC_VALUE = Buffer.from(`${USER}:${PASSWORD}`).toString("base64")
const TOKEN = "tok-Issued-5be21d0c9a"
const IDENTITY = "idt-Refresh-83ac11f2e7"
const STATIC = "stt-Static-0d94ab77c1"
const SIGNATURE = "sig-Presigned-a1b2c3d4e5"
const AMZ_CREDENTIAL = "AKIAEXAMPLE-cred-77aa"
const STATE = "state-Upload-9e8d7c6b5a"
const SECRETS = [PASSWORD, BASIC_VALUE, TOKEN, IDENTITY, STATIC, SIGNATURE, AMZ_CREDENTIAL, STATE]

type Auth = "basic" | "token" | "identity" | "static"
type Failure = "reset" | "cut" | "4xx" | "5xx" | "timeout" | "tokenRefused" | "notResumable"

interface State {
  auth: Auth
  failure: Failure
  // the requests the failure applies to
  target: (method: string, path: string) => boolean
}

const bytes = new TextEncoder().encode("the bytes of a blob that will not arrive")
const digest = `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`
const manifestBytes = new TextEncoder().encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: bytes.length },
  layers: []
}))

const json = (res: Http.ServerResponse, status: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

const fail = (failure: Failure, req: Http.IncomingMessage, res: Http.ServerResponse) => {
  switch (failure) {
    case "reset":
    case "notResumable":
      return req.socket.destroy()
    case "cut": {
      res.writeHead(200, { "content-type": "application/json", "content-length": 4096 })
      res.write("{\"partial\":")
      return setTimeout(() => req.socket.destroy(), 20)
    }
    case "4xx":
      return req.method === "HEAD"
        ? (res.writeHead(403), res.end())
        : json(res, 403, { errors: [{ code: "DENIED", message: "requested access to the resource is denied" }] })
    case "5xx":
      return json(res, 503, { errors: [{ code: "UNAVAILABLE", message: "try later" }] })
    case "timeout":
      return // never answers
    case "tokenRefused":
      return json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "no" }] }, {
        "www-authenticate": "Basic realm=\"test\""
      })
  }
}

const readBody = (req: Http.IncomingMessage, f: (body: string) => void) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => f(Buffer.concat(chunks).toString("utf8")))
}

const handler = (state: State, origin: () => string) => (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  const url = new URL(req.url ?? "/", origin())
  const method = req.method ?? "GET"
  if (url.pathname === "/token") {
    return readBody(req, (body) => {
      if (state.failure === "tokenRefused") return json(res, 401, { errors: [{ code: "UNAUTHORIZED" }] })
      const form = new URLSearchParams(body)
      const ok = method === "POST"
        ? form.get("refresh_token") === IDENTITY
        : req.headers.authorization === `Basic ${BASIC_VALUE}`
      return ok ? json(res, 200, { token: TOKEN, expires_in: 300 }) : json(res, 401, { errors: [] })
    })
  }
  if (url.pathname === "/storage/blob") {
    req.resume()
    return fail(state.failure, req, res)
  }
  const expected = state.auth === "basic"
    ? `Basic ${BASIC_VALUE}`
    : state.auth === "static"
    ? `Bearer ${STATIC}`
    : `Bearer ${TOKEN}`
  if (req.headers.authorization !== expected) {
    req.resume()
    if (state.auth === "basic" && state.failure === "tokenRefused" && req.headers.authorization !== undefined) {
      return fail("tokenRefused", req, res)
    }
    return json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, {
      "www-authenticate": state.auth === "basic"
        ? "Basic realm=\"test\""
        : `Bearer realm="${origin()}/token",service="registry.test"`
    })
  }
  if (state.target(method, url.pathname)) {
    if (state.failure === "notResumable" && method === "GET") {
      req.resume()
      return json(res, 404, { errors: [{ code: "BLOB_UPLOAD_UNKNOWN", message: "blob upload unknown" }] })
    }
    if (state.failure !== "notResumable" || method === "PATCH" || method === "PUT") {
      // the body of the failing request is left unread when the connection is dropped
      if (state.failure !== "reset" && state.failure !== "notResumable") req.resume()
      return fail(state.failure, req, res)
    }
  }
  req.resume()
  if (url.pathname === "/v2/") return json(res, 200, {})
  if (url.pathname.endsWith("/blobs/uploads/") && method === "POST") {
    res.writeHead(202, {
      location: `/v2/app/blobs/uploads/session-1?_state=${STATE}`,
      range: "0-0",
      "content-length": 0
    })
    return res.end()
  }
  if (url.pathname.includes("/blobs/sha256:") && (method === "GET" || method === "HEAD")) {
    if (method === "HEAD") return (res.writeHead(404), res.end())
    res.writeHead(307, {
      location:
        `${origin()}/storage/blob?X-Amz-Credential=${AMZ_CREDENTIAL}&X-Amz-Signature=${SIGNATURE}&sig=${SIGNATURE}`
    })
    return res.end()
  }
  json(res, 404, { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] })
}

const startServer = (state: State): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; origin: string }>((resume) => {
      let origin = ""
      const server = Http.createServer(handler(state, () => origin))
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        origin = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
        resume(Effect.succeed({ server, origin }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }).pipe(Effect.timeout("5 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ origin }) => origin))

const credentialsOf = (auth: Auth): Credentials.Credentials => {
  switch (auth) {
    case "basic":
    case "token":
      return Credentials.basic(USER, PASSWORD)
    case "identity":
      return Credentials.identityToken(IDENTITY, USER)
    case "static":
      return Credentials.bearer(STATIC)
  }
}

interface Operation {
  readonly name: string
  readonly target: (method: string, path: string) => boolean
  readonly run: (client: RegistryClient.Service) => Effect.Effect<unknown, unknown>
}

const notRoot = (_method: string, path: string) => path !== "/v2/"
const uploadSteps = (method: string, path: string) => path.includes("/blobs/uploads/session-1") && method !== "DELETE"

const operations: ReadonlyArray<Operation> = [
  { name: "ping (building the client)", target: (_m, path) => path === "/v2/", run: () => Effect.void },
  { name: "tags", target: notRoot, run: (c) => c.tags("app") },
  { name: "repositories", target: notRoot, run: (c) => c.repositories() },
  { name: "getManifest", target: notRoot, run: (c) => c.getManifest("app", "v1") },
  { name: "manifestDigest (HEAD)", target: notRoot, run: (c) => c.manifestDigest("app", "v1") },
  {
    name: "putManifest",
    target: notRoot,
    run: (c) =>
      c.putManifest("app", "v1", { bytes: manifestBytes, mediaType: "application/vnd.oci.image.manifest.v1+json" })
  },
  {
    name: "downloadBlob (redirected to a presigned URL)",
    target: (_m, path) => path === "/storage/blob",
    run: (c) => Stream.runDrain(c.downloadBlob("app", digest))
  },
  { name: "hasBlob (HEAD)", target: notRoot, run: (c) => c.hasBlob("app", digest) },
  { name: "deleteBlob", target: notRoot, run: (c) => c.deleteBlob("app", digest) },
  {
    name: "uploadBlob from a one-shot stream",
    target: uploadSteps,
    run: (c) => c.uploadBlob("app", digest, Stream.make(bytes))
  },
  {
    name: "uploadBlob from bytes (monolithic)",
    target: uploadSteps,
    run: (c) => c.uploadBlob("app", digest, BlobSource.fromBytes(bytes), { size: bytes.length })
  }
]

const failures: ReadonlyArray<Failure> = ["reset", "cut", "4xx", "5xx", "timeout", "tokenRefused"]
const auths: ReadonlyArray<Auth> = ["basic", "token", "identity", "static"]

// Every string reachable through own properties (symbols and non-enumerable ones included).
const ownStrings = (root: unknown): Array<string> => {
  const out: Array<string> = []
  const seen = new Set<unknown>()
  const visit = (value: unknown, depth: number) => {
    if (typeof value === "string") return void out.push(value)
    if (typeof value !== "object" && typeof value !== "function") return
    if (value === null || seen.has(value) || depth > 40) return
    seen.add(value)
    if (value instanceof Map || value instanceof Set) {
      for (const entry of value) visit(entry, depth + 1)
    }
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === "string") out.push(key)
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key)
      if (descriptor === undefined) continue
      if ("value" in descriptor) visit(descriptor.value, depth + 1)
    }
  }
  visit(root, 0)
  return out
}

const inspect = (u: unknown) => util.inspect(u, { depth: Infinity, showHidden: true, maxArrayLength: Infinity })

describe("no secret in errors, logs or spans", () => {
  it.live("every operation × failure mode × kind of credentials", () =>
    Effect.gen(function*() {
      const state: State = { auth: "basic", failure: "reset", target: notRoot }
      const origin = yield* startServer(state)
      const spans: Array<Tracer.Span> = []
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span)
          return span
        },
        context: (f, fiber) => native.context(f, fiber)
      })
      const lines: Array<string> = []
      const logger = Logger.make((options) => {
        lines.push(Logger.logfmtLogger.log(options), Logger.jsonLogger.log(options), inspect(options.message))
        if (!Cause.isEmpty(options.cause)) lines.push(Cause.pretty(options.cause, { renderErrorCause: true }))
      })

      const outputs: Array<string> = []
      const tags = new Map<string, number>()
      let cases = 0
      const succeeded: Array<string> = []
      const check = (label: string, text: string) => {
        for (const secret of SECRETS) {
          if (text.includes(secret)) assert.fail(`${label} holds a secret (${secret.slice(0, 4)}…):\n${text}`)
        }
      }

      const combos: Array<[Auth, Failure, Operation]> = []
      for (const auth of auths) {
        for (const failure of failures) {
          for (const operation of operations) combos.push([auth, failure, operation])
        }
        for (const operation of operations.filter((o) => o.name.includes("one-shot"))) {
          combos.push([auth, "notResumable", operation])
        }
      }

      for (const [auth, failure, operation] of combos) {
        state.auth = auth
        state.failure = failure
        state.target = operation.target
        const layer = RegistryClient.layer({
          url: origin,
          timeout: "250 millis",
          uploadTimeout: "250 millis",
          retrySchedule: Schedule.recurs(1),
          uploadRetrySchedule: Schedule.recurs(1),
          maxUploadRestarts: 1
        }).pipe(
          Layer.provide(AuthService.layer({ credentials: credentialsOf(auth) })),
          Layer.provide(Layer.mergeAll(
            NodeHttp.layer({
              timeouts: { connect: "2 seconds", headers: "5 seconds", bodyIdle: "250 millis" },
              registries: { [origin.replace("http://", "")]: { plainHttp: true } }
            }),
            NodeHash.layer
          ))
        )
        const exit = yield* Effect.flatMap(RegistryClient.RegistryClient, operation.run).pipe(
          Effect.provide(layer),
          Effect.tapErrorCause((cause) => Effect.logError("operation failed", cause)),
          Effect.exit,
          Effect.withTracer(tracer),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.All),
          Effect.timeout("20 seconds")
        )
        const label = `${auth} / ${failure} / ${operation.name}`
        if (Exit.isSuccess(exit)) {
          succeeded.push(`${failure} / ${operation.name}`)
          continue
        }
        cases++
        const error: unknown = Cause.squash(exit.cause)
        const tag = (error as { _tag?: string })._tag ?? "?"
        tags.set(tag, (tags.get(tag) ?? 0) + 1)
        check(`${label}: String`, String(error))
        check(`${label}: JSON`, JSON.stringify(error) ?? "")
        check(`${label}: inspect`, inspect(error))
        check(`${label}: Cause.pretty`, Cause.pretty(exit.cause, { renderErrorCause: true }))
        check(`${label}: own properties`, ownStrings(error).join("\n"))
        check(`${label}: exit`, inspect(exit))
        outputs.push(String(error))
      }

      for (const line of lines) check("log line", line)
      for (const span of spans) {
        check(`span ${span.name} attributes`, inspect([...span.attributes]))
        check(`span ${span.name} name`, span.name)
        check(`span ${span.name} exit`, inspect(span.status))
        check(`span ${span.name} events`, inspect(span))
      }

      // the checks ran on real failures of every kind
      // only a cut body that the operation does not read lets it succeed
      const unread = ["cut / ping (building the client)", "cut / putManifest", "cut / deleteBlob"]
      for (const s of succeeded) assert.include(unread, s)
      assert.strictEqual(cases, combos.length - succeeded.length)
      assert.isAtLeast(cases, combos.length - unread.length * auths.length)
      for (const tag of ["TransportError", "Denied", "RegistryUnavailable", "Unauthorized", "UploadNotResumable"]) {
        assert.isAtLeast(tags.get(tag) ?? 0, 1, `no ${tag} among ${JSON.stringify([...tags])}`)
      }
      assert.isTrue(outputs.some((o) => o.includes("/storage/blob")), "a presigned download failed")
      assert.isAtLeast(lines.length, cases)
      // our client spans were recorded, with the query values redacted
      const client = spans.filter((s) => s.name.startsWith("http.client"))
      assert.isAtLeast(client.length, cases)
      assert.isTrue(
        client.some((s) => String(s.attributes.get("url.full")).includes("X-Amz-Signature=<redacted>")),
        "the presigned URL is recorded with its values redacted"
      )
      assert.isTrue(client.some((s) => s.attributes.get("http.request.header.authorization") === "<redacted>"))
      assert.isTrue(client.some((s) => s.status._tag === "Ended" && Exit.isFailure(s.status.exit)))
    }).pipe(Effect.scoped), 300_000)
})
