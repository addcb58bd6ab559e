/**
 * The in-process HttpClient of the in-memory registry: no socket, the handler answers.
 * Runtime-neutral.
 *
 * @since 0.1.0
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { utf8 } from "./inMemoryStore.js"
import type { Request, Response } from "./inMemoryTypes.js"

const rawBody = (body: unknown): Stream.Stream<Uint8Array, unknown> => {
  if (body instanceof Uint8Array) return Stream.make(body)
  if (typeof body === "string") return Stream.make(utf8.encode(body))
  if (body instanceof ArrayBuffer) return Stream.make(new Uint8Array(body))
  if (body instanceof ReadableStream) return Stream.fromReadableStream(() => body, (cause) => cause)
  return Stream.fail(new Error("unsupported raw request body"))
}

/** The request body as a stream of bytes, whatever kind of HttpBody it is. @internal */
export const requestBody = (body: HttpBody.HttpBody): Stream.Stream<Uint8Array, unknown> => {
  switch (body._tag) {
    case "Empty":
      return Stream.empty
    case "Uint8Array":
      return Stream.make(body.body)
    case "Raw":
      return rawBody(body.body)
    case "Stream":
      return body.stream
    case "FormData": {
      const formData = body.formData
      return Stream.fromEffect(
        Effect.tryPromise({
          try: () => new globalThis.Response(formData).arrayBuffer(),
          catch: (cause) => cause
        })
      ).pipe(Stream.map((buffer) => new Uint8Array(buffer)))
    }
  }
}

/** @internal */
export const make = (
  handle: (request: Request) => Effect.Effect<Response>,
  origins: () => ReadonlyArray<string>
): HttpClient.HttpClient =>
  HttpClient.make((request: HttpClientRequest.HttpClientRequest, url: URL) =>
    Effect.gen(function*() {
      if (!origins().includes(url.origin)) {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: `no in-memory server answers at ${url.origin}`
        })
      }
      const response = yield* handle({
        method: request.method,
        url,
        headers: request.headers,
        body: requestBody(request.body)
      })
      if (response._tag === "Reset") {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: "connection reset by the in-memory registry"
        })
      }
      const body = response.body === undefined
        ? null
        : response.body instanceof Uint8Array
        ? new Uint8Array(response.body)
        : yield* Stream.toReadableStreamEffect(response.body)
      return HttpClientResponse.fromWeb(
        request,
        new globalThis.Response(body, { status: response.status, headers: response.headers })
      )
    })
  )
