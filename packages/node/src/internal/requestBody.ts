/**
 * Request bodies on undici: a `Stream` body goes as an async iterable that undici pulls one piece at a time.
 *
 * undici writes each piece of an iterable body to the socket and, when the socket does not take it at once,
 * waits until it has (`drain`) before it asks for the next one; the iterable reads the stream at most one
 * piece ahead of what it handed over. So once a piece is pulled, the piece two before it has been written
 * out (or the request given up): {@link PiecesAhead}, told to core as `RegistryClient.RequestBodyReuse`, which
 * then reads uploads from files into a few buffers it reuses.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * How many pieces of a request body may be pulled after one before undici is done with it (one, and one
 * more to spare).
 *
 * @internal
 */
export const PiecesAhead = 2

// The pieces of each chunk of the stream in turn: the stream is run (one chunk ahead) by a fiber only
// between chunks, so a chunk of many small pieces costs one hand-over, not one per piece. `return` (undici
// gives up on the body) ends the loop, which interrupts the fiber.
async function* piecesOf(chunks: AsyncIterable<Chunk.Chunk<Uint8Array>>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    for (const piece of chunk) yield piece
  }
}

const iterableBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientRequest.HttpClientRequest> => {
  const body = request.body
  if (body._tag !== "Stream") return Effect.succeed(request)
  return Effect.map(
    Effect.map(Stream.toAsyncIterableEffect(Stream.chunks(body.stream)), piecesOf),
    (iterable) =>
      HttpClientRequest.setBody(
        request,
        HttpBody.raw(iterable, { contentType: body.contentType, contentLength: body.contentLength })
      )
  )
}

/**
 * The client with its `Stream` request bodies handed to undici as async iterables (see the module's
 * comment); other bodies as they are.
 *
 * @internal
 */
export const withIterableBodies = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.mapRequestEffect(client, iterableBody)
