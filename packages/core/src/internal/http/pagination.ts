/**
 * Following `Link: <…>; rel="next"` pages, bounded.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as RegistryError from "../../RegistryError.js"
import type { ErrorContext } from "./errors.js"
import { sameRegistry } from "./location.js"

/** @since 0.1.0 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** The absolute URL of the next page, when the registry sent a `Link`. */
  readonly next: Option.Option<string>
}

/** @since 0.1.0 */
export const DefaultMaxPages = 10_000

/**
 * Streams the items of every page, starting at `first`. Stops at the first page
 * without a next link or without items; fails with `UnexpectedResponse` (reason
 * `Pagination`) after `maxPages` pages or when a next link repeats, and
 * (reason `ForeignOrigin`) when a next link leaves the `registry`'s origin
 * (nothing is sent there).
 *
 * @since 0.1.0
 */
export const paginate = <A, E, R>(options: {
  /** The registry's URL: next links must stay on its origin. */
  readonly registry: string
  readonly first: string
  readonly fetchPage: (url: string) => Effect.Effect<Page<A>, E, R>
  readonly maxPages: number
  readonly context: ErrorContext
}): Stream.Stream<A, E | RegistryError.UnexpectedResponse, R> =>
  Stream.suspend(() => {
    const seen = new Set<string>()
    const fail = (detail: string) =>
      Effect.fail(new RegistryError.UnexpectedResponse({ ...options.context, reason: "Pagination", detail }))
    return Stream.paginateChunkEffect(options.first, (url) =>
      Effect.gen(function*() {
        if (seen.size >= options.maxPages) {
          return yield* fail(`more than ${options.maxPages} pages`)
        }
        if (seen.has(url)) {
          return yield* fail("the registry sent a next link that was already followed")
        }
        seen.add(url)
        yield* sameRegistry(options, url, options.context, "Link")
        const page = yield* options.fetchPage(url)
        const next = page.items.length === 0 ? Option.none<string>() : page.next
        return [Chunk.fromIterable(page.items), next] as const
      }))
  })
