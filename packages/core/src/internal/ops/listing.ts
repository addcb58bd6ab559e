/**
 * Catalog and tags listings (`GET /v2/_catalog`, `GET /v2/<name>/tags/list`):
 * page by page following `Link`, bounded in pages, bytes per page and names collected.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AuthService from "../../AuthService.js"
import * as Reference from "../../Reference.js"
import * as RegistryClientError from "../../RegistryClientError.js"
import { type CatalogError, type ResponseError, type TagsError } from "../../RegistryClientError.js"
import { DefaultMaxItems, type ListOptions } from "../../RegistryClientTypes.js"
import * as RegistryError from "../../RegistryError.js"
import * as ErrorUnion from "../errorUnion.js"
import * as FastDecode from "../fastDecode.js"
import * as Request from "../http/index.js"
import * as LinkHeader from "../http/linkHeader.js"
import * as Pagination from "../http/pagination.js"
import * as Json from "../json.js"

const scopes = AuthService.scopes
const toCatalogError = ErrorUnion.narrow(RegistryClientError.CatalogErrorTags)
const toTagsError = ErrorUnion.narrow(RegistryClientError.TagsErrorTags)

const Catalog = Schema.Struct({ repositories: Schema.NullishOr(Schema.Array(Schema.String)) })
const TagList = Schema.Struct({ tags: Schema.NullishOr(Schema.Array(Schema.String)) })
const decodeCatalog = FastDecode.decode(Catalog)
const decodeTagList = FastDecode.decode(TagList)

// Collects a listing, failing once it holds more than `maxItems` names.
const collectAtMost = <E, R>(
  stream: Stream.Stream<string, E, R>,
  maxItems: number,
  what: string,
  ctx: Request.ErrorContext
): Effect.Effect<ReadonlyArray<string>, E | RegistryError.UnexpectedResponse, R> =>
  Effect.flatMap(
    Stream.runCollect(Number.isFinite(maxItems) ? Stream.take(stream, maxItems + 1) : stream),
    (all) =>
      all.length > maxItems
        ? Effect.fail(
          new RegistryError.UnexpectedResponse({
            ...ctx,
            reason: "TooLarge",
            detail: `more than ${maxItems} ${what} (the maxItems option); raise it, or go through them with the ` +
              `${what === "tags" ? "tagsStream" : "repositoriesStream"} variant, which holds one page at a time`
          })
        )
        : Effect.succeed(Chunk.toReadonlyArray(all))
  )

/**
 * The catalog and tags listings of a client.
 *
 * @since 0.1.0
 */
export const make = (env: Request.OpsEnv) => {
  // A bound that is not a number of items is taken as the default one, never as no bound.
  const maxItemsOf = (options: ListOptions | undefined): number => {
    const n = options?.maxItems ?? DefaultMaxItems
    return Number.isNaN(n) ? DefaultMaxItems : Math.max(0, Math.floor(n))
  }

  const list = <A>(
    path: string,
    scope: string,
    ctx: Request.ErrorContext,
    decode: (u: unknown) => Option.Option<ReadonlyArray<A>>,
    options: ListOptions | undefined
  ): Stream.Stream<A, ResponseError> => {
    const first = new URL(`${env.baseUrl}${path}`)
    if (options?.n !== undefined) first.searchParams.set("n", String(options.n))
    return Pagination.paginate({
      registry: env.baseUrl,
      first: first.toString(),
      maxPages: env.maxPages,
      context: ctx,
      fetchPage: (url): Effect.Effect<Pagination.Page<A>, ResponseError> =>
        Effect.gen(function*() {
          const response = yield* Request.call(env, {
            request: HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson),
            scopes: [scope],
            context: ctx,
            ok: [200],
            retry: false
          })
          const fields = { ...ctx, request: Request.describeRequest("GET", url), status: 200 }
          const body = yield* Request.readBody(response, 16 * 1024 * 1024, env.bodyTimeout, ctx)
          if (body.truncated) return yield* new RegistryError.UnexpectedResponse({ ...fields, reason: "TooLarge" })
          const json = Json.parse(body.bytes, 8)
          const items = Either.isRight(json) ? decode(json.right) : Option.none()
          if (Option.isNone(items)) {
            return yield* new RegistryError.UnexpectedResponse({ ...fields, reason: "Body", detail: "not a listing" })
          }
          return { items: items.value, next: LinkHeader.nextLink(response.headers["link"], url) }
        }).pipe((self) => Effect.retry(self, env.retry))
    })
  }

  const repositoriesStream = (options?: ListOptions): Stream.Stream<string, CatalogError> =>
    list(
      "/v2/_catalog",
      scopes.catalog,
      {},
      (u) => Option.map(Either.getRight(decodeCatalog(u)), (c) => c.repositories ?? []),
      options
    ).pipe(Stream.mapError(toCatalogError), Stream.withSpan("RegistryClient.repositoriesStream"))

  const repositories = Effect.fn("RegistryClient.repositories")(function*(options?: ListOptions) {
    return yield* collectAtMost(repositoriesStream(options), maxItemsOf(options), "repositories", {})
  })

  const tagsStream = (repository: string, options?: ListOptions): Stream.Stream<string, TagsError> =>
    Stream.unwrap(Effect.map(Reference.repository(repository), (repo) =>
      list(
        `/v2/${repo}/tags/list`,
        scopes.pull(repo),
        { repository: repo },
        (u) => Option.map(Either.getRight(decodeTagList(u)), (t) => t.tags ?? []),
        options
      ))).pipe(
        Stream.mapError(toTagsError),
        Stream.withSpan("RegistryClient.tagsStream", { attributes: { repository } })
      )

  const tags = Effect.fn("RegistryClient.tags")(function*(repository: string, options?: ListOptions) {
    yield* Effect.annotateCurrentSpan({ repository })
    return yield* collectAtMost(tagsStream(repository, options), maxItemsOf(options), "tags", { repository })
  })
  return { repositories, repositoriesStream, tags, tagsStream }
}
