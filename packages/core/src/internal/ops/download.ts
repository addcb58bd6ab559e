/**
 * Blob reads: redirects followed by hand (no credentials to another origin, no
 * https → http downgrade), resume after a broken connection, verification.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Channel from "effect/Channel"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as AuthService from "../../AuthService.js"
import * as Digest from "../../Digest.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import type { BlobError, DownloadBlobError } from "../../RegistryClientError.js"
import type { DownloadOptions } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as ByteStream from "../byteStream.js"
import * as ErrorUnion from "../errorUnion.js"
import * as Request from "../http/index.js"
import * as Range from "../http/range.js"
import * as Verify from "../verify.js"
import { validBlob } from "./validate.js"

const scopes = AuthService.scopes
const toDownloadBlobError = ErrorUnion.narrow(RegistryClientError.DownloadBlobErrorTags)

const redirectStatus = new Set([301, 302, 303, 307, 308])

/**
 * Sends a GET or HEAD through auth and follows redirects itself: a fresh request to
 * the `Location`, with credentials only while the origin stays the registry's.
 *
 * @since 0.1.0
 */
export const sendFollowingRedirects = (
  env: Request.OpsEnv,
  request: HttpClientRequest.HttpClientRequest,
  scopes: ReadonlyArray<string>,
  ctx: Request.ErrorContext
): Effect.Effect<
  HttpClientResponse.HttpClientResponse,
  Request.AuthFailure | RegistryError.TransportError | RegistryError.UnexpectedResponse
> =>
  Effect.gen(function*() {
    let response = yield* Request.send(env, request, scopes, ctx)
    let current = request.url
    let hops = 0
    while (redirectStatus.has(response.status)) {
      const request_ = Request.describeRequest(request.method, current)
      if (hops >= env.maxRedirects) {
        return yield* new RegistryError.TransportError({
          ...ctx,
          request: request_,
          status: response.status,
          reason: "Redirect",
          detail: `more than ${env.maxRedirects} redirects`
        })
      }
      hops++
      const target = yield* Request.resolveLocation(response.headers["location"], current, {
        ...ctx,
        request: request_,
        status: response.status
      })
      if (current.startsWith("https:") && target.startsWith("http:")) {
        return yield* new RegistryError.TransportError({
          ...ctx,
          request: request_,
          status: response.status,
          reason: "Redirect",
          detail: "refusing a redirect from https to plain http"
        })
      }
      // `request` never carries credentials itself: `send` adds them for the registry's origin only, and sends
      // a request to any other origin (a CDN, a storage bucket) bare
      response = yield* Request.send(env, HttpClientRequest.setUrl(request, target), scopes, ctx)
      current = target
    }
    return response
  })

/**
 * What a blob read can fail with.
 *
 * @since 0.1.0
 */
export type DownloadError = BlobError

/**
 * The bytes of a blob as a stream, never held in memory. Whole reads are
 * verified (size from `options.size` or else `Content-Length`: reading stops as
 * soon as more bytes arrive; digest), and resumed with `Range` after
 * a broken connection, up to `env.maxResumes` times. The requests' spans are
 * children of `span` when given.
 *
 * @since 0.1.0
 */
export const download = (
  env: Request.OpsEnv,
  repository: string,
  digest: Digest.Digest,
  scopes: ReadonlyArray<string>,
  options: DownloadOptions | undefined,
  span?: Tracer.AnySpan
): Stream.Stream<Uint8Array, DownloadError> => {
  const ctx: Request.ErrorContext = { repository, digest }
  const url = `${env.baseUrl}/v2/${repository}/blobs/${digest}`
  const start = options?.range?.start ?? options?.offset ?? 0
  const end = options?.range?.end
  const partial = start > 0 || end !== undefined

  // Opens the blob at `from`; returns the answer and how many leading bytes to drop
  // (when a server ignores Range and answers 200 with the whole blob).
  const open = (from: number) =>
    Effect.gen(function*() {
      let request = HttpClientRequest.get(url)
      if (from > 0 || end !== undefined) {
        request = HttpClientRequest.setHeader(request, "range", `bytes=${from}-${end ?? ""}`)
      }
      const raw = yield* sendFollowingRedirects(env, request, scopes, ctx)
      const response = yield* Request.expect(env, raw, [200, 206], ctx, {
        scopes,
        notFound: (fields) => new RegistryError.BlobUnknown(fields)
      })
      if (response.status === 206) {
        const cr = Range.parseContentRange(response.headers["content-range"])
        if (Option.isNone(cr) || cr.value.start !== from) {
          return yield* new RegistryError.UnexpectedResponse({
            ...ctx,
            status: 206,
            request: Request.describeRequest("GET", url),
            reason: "Header",
            detail: "missing or unexpected Content-Range on a partial answer"
          })
        }
        return { response, skip: 0 }
      }
      return { response, skip: from }
    }).pipe(Effect.retry(env.retry), (opened) => span === undefined ? opened : Effect.withParentSpan(opened, span))

  const body = (response: HttpClientResponse.HttpClientResponse, skip: number, limit: number | undefined) => {
    let s = response.stream.pipe(
      Stream.mapError((e) => Request.fromHttpClientError(e, ctx)),
      Request.idleTimeout(env.readIdleTimeout, Request.describeRequest("GET", url), ctx)
    )
    if (skip > 0) s = s.pipe(ByteStream.dropBytes(skip))
    if (limit !== undefined) s = s.pipe(ByteStream.takeBytes(limit))
    return s
  }

  if (partial) {
    return Stream.unwrap(
      Effect.map(
        open(start),
        ({ response, skip }) => body(response, skip, end !== undefined ? end - start + 1 : undefined)
      )
    )
  }

  const whole = Stream.suspend(() => {
    // the bytes handed on so far (counted by the verifying stage, which every piece passes before the next
    // is read): where a broken read resumes
    const received: Verify.Counter = { bytes: 0 }
    let resumes = 0
    const guard = (
      stream: Stream.Stream<Uint8Array, Request.ResponseFailure>
    ): Stream.Stream<Uint8Array, Request.ResponseFailure> =>
      Stream.catchAll(
        stream,
        (error) =>
          error._tag === "TransportError" && (error.reason === "Transport" || error.reason === "Timeout") &&
            resumes < env.maxResumes
            ? Stream.suspend(() => {
              resumes++
              return from(received.bytes)
            })
            : Stream.fail(error)
      )
    const from = (offset: number): Stream.Stream<Uint8Array, Request.ResponseFailure> =>
      guard(Stream.unwrap(Effect.map(open(offset), ({ response, skip }) => body(response, skip, undefined))))
    return Stream.unwrap(Effect.flatMap(open(0), ({ response }) => {
      const length = Option.getOrUndefined(Range.parseLength(response.headers["content-length"]))
      // the size a descriptor gave: an answer announcing another is refused before its body is read, and one
      // without a length is cut at that size (never more is read)
      const expected = options?.size
      if (expected !== undefined && length !== undefined && length !== expected) {
        return Effect.fail(
          new RegistryError.SizeMismatch({
            ...ctx,
            expected,
            actual: length,
            detail: "the registry announced another length (Content-Length) than the descriptor's size; nothing read"
          })
        )
      }
      const size = expected ?? length
      // counting, the size bound, hashing and the verdict in one stage (what `Hash.verify` does)
      const hasher = env.hash.make(Digest.algorithm(digest))
      return Effect.succeed(
        Stream.pipeThroughChannel(
          guard(body(response, 0, undefined)),
          Verify.verifyChannel<Request.ResponseFailure>(hasher, { digest, size, repository }, received)
        )
      )
    }))
  })
  return whole
}

/**
 * The `downloadBlob` operation of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  // The span covers the whole stream (it ends with it, recording its exit) and is the parent of the
  // requests' spans; it is not provided to the body's stages (`Stream.withSpan` would wrap every pull of every
  // stage in a context of its own: a download makes one pull per socket read, ~16 000 per GiB).
  const downloadBlob = (
    repository: string,
    digest: string,
    options?: DownloadOptions
  ): Stream.Stream<Uint8Array, DownloadBlobError> =>
    Stream.fromChannel(Channel.acquireUseRelease(
      Effect.makeSpan("RegistryClient.downloadBlob", { attributes: { repository, digest } }),
      (span) =>
        Stream.toChannel(Stream.unwrap(
          Effect.map(
            validBlob(repository, digest),
            ({ d, repo }) => download(env, repo, d, [scopes.pull(repo)], options, span)
          ).pipe(Effect.withParentSpan(span))
        )),
      (span, exit) => Effect.map(Clock.currentTimeNanos, (now) => span.end(now, exit))
    )).pipe(Stream.mapError(toDownloadBlobError))
  return { downloadBlob }
}
