import * as AuthService from "@effect-registry/core/AuthService"
import * as BlobSource from "@effect-registry/core/BlobSource"
import type * as Credentials from "@effect-registry/core/Credentials"
import * as Digest from "@effect-registry/core/Digest"
import * as ManifestBuilder from "@effect-registry/core/ManifestBuilder"
import * as MediaType from "@effect-registry/core/MediaType"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as NodeHash from "../../src/NodeHash.js"
import * as NodeHttp from "../../src/NodeHttp.js"

// Helpers of the auth integration tests: client layers over the real registries, a
// recorder of every token the token server hands out (with an optional swap of the next
// token, to make the registry answer `invalid_token`), a capturing logger and tracer.

export type ClientEnv = RegistryClient.RegistryClient | AuthService.AuthService | HttpClient.HttpClient

export interface TokenRecorder {
  /** every `token`, `access_token` and `refresh_token` seen in a token-server answer */
  readonly tokens: Array<string>
  /** when set, the next token answer carries this token instead (then it is cleared) */
  replaceNext: string | undefined
}

export const makeRecorder = (): TokenRecorder => ({ tokens: [], replaceNext: undefined })

const tokenPath = "/token"

const pathOf = (url: string): string => URL.canParse(url) ? new URL(url).pathname : ""

/** Records (and optionally swaps) the tokens in answers of the token endpoint. */
export const recordTokens = (recorder: TokenRecorder) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transformResponse(
    client,
    Effect.flatMap((response) => {
      if (pathOf(response.request.url) !== tokenPath || response.status !== 200) return Effect.succeed(response)
      return Effect.map(response.text, (text) => {
        let body: Record<string, unknown> = {}
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          // not JSON: passed on as it came
        }
        for (const key of ["token", "access_token", "refresh_token"]) {
          const value = body[key]
          if (typeof value === "string") recorder.tokens.push(value)
        }
        let out = text
        const swap = recorder.replaceNext
        if (swap !== undefined) {
          recorder.replaceNext = undefined
          out = JSON.stringify({ ...body, token: swap, access_token: swap })
        }
        return HttpClientResponse.fromWeb(
          response.request,
          new Response(out, { status: response.status, headers: { "content-type": "application/json" } })
        )
      })
    })
  )

export const httpLayer = (recorder?: TokenRecorder): Layer.Layer<HttpClient.HttpClient, NodeHttp.NodeHttpError> =>
  recorder === undefined
    ? NodeHttp.layer()
    : Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, recordTokens(recorder))).pipe(
      Layer.provide(NodeHttp.layer())
    )

/** A `RegistryClient` (built with a ping) with a fresh `AuthService`, both exposed, over node HTTP. */
export const clientLayer = (
  url: string,
  credentials: Credentials.Credentials,
  options: { readonly auth?: AuthService.Options | undefined; readonly recorder?: TokenRecorder | undefined } = {}
): Layer.Layer<ClientEnv, RegistryClient.ResponseError | NodeHttp.NodeHttpError> =>
  RegistryClient.layer({ url }).pipe(
    Layer.provideMerge(AuthService.layer({ ...options.auth, credentials })),
    Layer.provideMerge(Layer.merge(httpLayer(options.recorder), NodeHash.layer))
  )

export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

export const randomBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  globalThis.crypto.getRandomValues(bytes)
  return bytes
}

export const uniqueName = (prefix: string): string =>
  `${prefix}-${Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, "0")).join("")}`

/** Pushes a config, one layer and an OCI manifest under `tag`. */
export const pushImage = (client: RegistryClient.Service, repository: string, tag: string) =>
  Effect.gen(function*() {
    const layerBytes = randomBytes(1500)
    const layerDigest = yield* Digest.sha256(layerBytes)
    const layer = { mediaType: MediaType.OciLayerGzip, digest: layerDigest, size: layerBytes.length }
    const config = yield* ManifestBuilder.imageConfig({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [layerDigest] }
    }, { mediaType: MediaType.OciConfig })
    yield* client.uploadBlob(repository, layerDigest, BlobSource.fromBytes(layerBytes), { size: layerBytes.length })
    yield* client.uploadBlob(repository, config.descriptor.digest, BlobSource.fromBytes(config.bytes), {
      size: config.bytes.length
    })
    const manifest = yield* ManifestBuilder.ociManifest({ config: config.descriptor, layers: [layer] })
    const digest = yield* client.putManifest(repository, tag, manifest)
    return { digest, layerDigest, layerBytes, configDigest: config.descriptor.digest }
  })

const safeString = (u: unknown): string => {
  if (typeof u === "string") return u
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/** Every log line, span (name, attributes, events, exit) and error text, as one searchable text. */
export interface Capture {
  readonly lines: Array<string>
  readonly spans: Array<RecordingSpan>
  readonly text: () => string
  readonly layer: Layer.Layer<never>
  readonly tracer: Tracer.Tracer
}

export class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<string> = []
  links: ReadonlyArray<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number
  ) {
    this.spanId = `span-${id}`
    this.traceId = Option.match(parent, { onNone: () => `trace-${id}`, onSome: (p) => p.traceId })
    this.status = { _tag: "Started", startTime }
    this.links = links
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push(`${name} ${safeString(attributes ?? {})}`)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links = [...this.links, ...links]
  }
  describe(): string {
    const attributes = [...this.attributes].map(([k, v]) => `${k}=${String(v)} ${safeString(v)}`).join(" ")
    const exit = this.status._tag === "Ended" && Exit.isFailure(this.status.exit)
      ? Cause.pretty(this.status.exit.cause)
      : ""
    return `${this.name} ${attributes} ${this.events.join(" ")} ${exit}`
  }
}

export const makeCapture = (): Capture => {
  const lines: Array<string> = []
  const spans: Array<RecordingSpan> = []
  let next = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordingSpan(name, parent, context, links, startTime, kind, next++)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  const logger = Logger.make(({ annotations, cause, logLevel, message, spans: logSpans }) => {
    const annotated = [...HashMap.toEntries(annotations)].map(([k, v]) => `${k}=${safeString(v)}`).join(" ")
    const names = [...logSpans].map((s) => s.label).join(" ")
    lines.push(`${logLevel.label} ${safeString(message)} ${Cause.pretty(cause)} ${annotated} ${names}`)
  })
  return {
    lines,
    spans,
    tracer,
    text: () => [...lines, ...spans.map((s) => s.describe())].join("\n"),
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  }
}

/** Runs `self` with the capturing logger and tracer; logs its outcome at Debug and collects its error's texts. */
export const captured = <A, E, R>(capture: Capture, self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.tap((a) => Effect.logDebug("succeeded", a)),
    Effect.tapErrorCause((cause) => Effect.logDebug("failed", cause)),
    Effect.tapError((e) =>
      Effect.sync(() => {
        const message = typeof e === "object" && e !== null && "message" in e ? String(e.message) : ""
        capture.lines.push(`error ${String(e)} ${message} ${safeString(e)}`)
      })
    ),
    Effect.exit,
    Effect.withTracer(capture.tracer),
    Effect.provide(capture.layer)
  )
