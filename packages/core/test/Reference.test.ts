import { Digest, Reference, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const D = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

type Expect = {
  readonly registry: string
  readonly repository: string
  readonly tag?: string
  readonly digest?: string
  readonly familiar: string
}

const valid: ReadonlyArray<readonly [string, Expect]> = [
  ["ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest", familiar: "ubuntu:latest" }],
  ["ubuntu:22.04", { registry: "docker.io", repository: "library/ubuntu", tag: "22.04", familiar: "ubuntu:22.04" }],
  ["bitnami/redis", {
    registry: "docker.io",
    repository: "bitnami/redis",
    tag: "latest",
    familiar: "bitnami/redis:latest"
  }],
  ["docker.io/ubuntu", {
    registry: "docker.io",
    repository: "library/ubuntu",
    tag: "latest",
    familiar: "ubuntu:latest"
  }],
  ["index.docker.io/library/ubuntu:x", {
    registry: "docker.io",
    repository: "library/ubuntu",
    tag: "x",
    familiar: "ubuntu:x"
  }],
  ["localhost/app", { registry: "localhost", repository: "app", tag: "latest", familiar: "localhost/app:latest" }],
  ["localhost:5000/team/app:v1", {
    registry: "localhost:5000",
    repository: "team/app",
    tag: "v1",
    familiar: "localhost:5000/team/app:v1"
  }],
  ["127.0.0.1:5000/a", {
    registry: "127.0.0.1:5000",
    repository: "a",
    tag: "latest",
    familiar: "127.0.0.1:5000/a:latest"
  }],
  ["[::1]:5000/a/b:t", { registry: "[::1]:5000", repository: "a/b", tag: "t", familiar: "[::1]:5000/a/b:t" }],
  ["[fe80::1]/a", { registry: "[fe80::1]", repository: "a", tag: "latest", familiar: "[fe80::1]/a:latest" }],
  ["ghcr.io/org/sub/app@" + D, {
    registry: "ghcr.io",
    repository: "org/sub/app",
    digest: D,
    familiar: `ghcr.io/org/sub/app@${D}`
  }],
  ["quay.io/a/b:tag@" + D, {
    registry: "quay.io",
    repository: "a/b",
    tag: "tag",
    digest: D,
    familiar: `quay.io/a/b:tag@${D}`
  }],
  ["Registry/app", { registry: "Registry", repository: "app", tag: "latest", familiar: "Registry/app:latest" }],
  ["my-registry.example.com/a.b_c__d---e/f:Tag_1.2-3", {
    registry: "my-registry.example.com",
    repository: "a.b_c__d---e/f",
    tag: "Tag_1.2-3",
    familiar: "my-registry.example.com/a.b_c__d---e/f:Tag_1.2-3"
  }],
  ["localhost:5000", {
    registry: "docker.io",
    repository: "library/localhost",
    tag: "5000",
    familiar: "localhost:5000"
  }],
  ["r.io/" + "a".repeat(255), {
    registry: "r.io",
    repository: "a".repeat(255),
    tag: "latest",
    familiar: `r.io/${"a".repeat(255)}:latest`
  }],
  ["r.io/a:" + "t".repeat(128), {
    registry: "r.io",
    repository: "a",
    tag: "t".repeat(128),
    familiar: `r.io/a:${"t".repeat(128)}`
  }]
]

const invalid: ReadonlyArray<readonly [string, string]> = [
  ["", "empty reference"],
  ["Ubuntu", "must be lowercase"],
  ["docker.io/Library/ubuntu", "must be lowercase"],
  ["r.io/a//b", "empty path component"],
  ["r.io/a/", "empty path component"],
  ["/a", "empty path component"],
  ["r.io/-a", "path component"],
  ["r.io/a-", "path component"],
  ["r.io/a...b", "path component"],
  ["r.io/a___b", "path component"],
  ["r.io/" + "a".repeat(256), "longer than 255"],
  ["localhost:abc/a", "must be a number"],
  ["localhost:99999/a", "out of range"],
  ["localhost:0/a", "out of range"],
  ["localhost:/a", "must be a number"],
  ["-bad.io/a", "malformed host"],
  ["bad_host.io/a", "malformed host"],
  ["[::1/a", "unclosed IPv6"],
  ["[zz::1]/a", "malformed IPv6"],
  ["[::1]:5000", "needs a repository"],
  ["r.io/a:", "empty tag"],
  ["r.io/a:.bad", "tag"],
  ["r.io/a:" + "t".repeat(129), "longer than 128"],
  ["r.io/a:b:c", "tag"],
  ["r.io/a@sha256:abc", "must be 64 characters"],
  ["r.io/a@md5:" + "a".repeat(32), "unknown algorithm"],
  ["r.io/a@" + D.toUpperCase(), "digest"],
  ["r.io/a b", "path component"],
  ["r.io/a@", "digest"]
]

describe("Reference.parse", () => {
  for (const [input, e] of valid) {
    it.effect(`valid: ${input.slice(0, 60)}`, () =>
      Effect.gen(function*() {
        const r = yield* Reference.parse(input)
        assert.strictEqual(r.registry, e.registry)
        assert.strictEqual(r.repository, e.repository)
        assert.strictEqual(r.tag, e.tag)
        assert.strictEqual(r.digest, e.digest)
        assert.strictEqual(Reference.familiar(r), e.familiar)
        const again = yield* Reference.parse(Reference.format(r))
        assert.deepStrictEqual(again, r)
        const familiarAgain = yield* Reference.parse(Reference.familiar(r))
        assert.deepStrictEqual(familiarAgain, r)
      }))
  }

  for (const [input, detail] of invalid) {
    it.effect(`invalid: ${JSON.stringify(input.slice(0, 40))} (${detail})`, () =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(Reference.parse(input))
        assert.instanceOf(e, RegistryError.ReferenceInvalid)
        assert.include(e.detail ?? "", detail)
      }))
  }

  it.effect("format, familiar, apiHost, manifestReference", () =>
    Effect.gen(function*() {
      const r = yield* Reference.parse("ubuntu")
      assert.strictEqual(Reference.format(r), "docker.io/library/ubuntu:latest")
      assert.strictEqual(String(r), "docker.io/library/ubuntu:latest")
      assert.strictEqual(Reference.apiHost(r), "registry-1.docker.io")
      assert.strictEqual(Reference.apiHost("index.docker.io"), "registry-1.docker.io")
      assert.strictEqual(Reference.apiHost(yield* Reference.parse("localhost:5000/a")), "localhost:5000")
      assert.strictEqual(Reference.manifestReference(r), "latest")
      const pinned = Reference.withDigest(r, Digest.unsafeMake(D))
      assert.strictEqual(Reference.manifestReference(pinned), D)
      assert.strictEqual(Reference.familiar(pinned), `ubuntu:latest@${D}`)
      const bare = yield* Reference.parse("a.io/x", { defaultTag: false })
      assert.isUndefined(bare.tag)
      assert.strictEqual(Reference.format(bare), "a.io/x")
    }))

  it.effect("familiar keeps docker.io when the first component would read as a host", () =>
    Effect.gen(function*() {
      const r = yield* Reference.make({ repository: "a.b/c", tag: "t" })
      assert.strictEqual(Reference.familiar(r), "docker.io/a.b/c:t")
      assert.deepStrictEqual(yield* Reference.parse(Reference.familiar(r)), r)
    }))

  it.effect("make validates each part", () =>
    Effect.gen(function*() {
      const r = yield* Reference.make({ repository: "alpine", tag: "3" })
      assert.strictEqual(Reference.format(r), "docker.io/library/alpine:3")
      const e = yield* Effect.flip(Reference.make({ registry: "localhost:5000", repository: "UP" }))
      assert.include(e.detail ?? "", "lowercase")
      const t = yield* Effect.flip(Reference.make({ registry: "r.io", repository: "a", tag: "-x" }))
      assert.include(t.detail ?? "", "tag")
      const withTag = yield* Reference.withTag(r, "edge")
      assert.strictEqual(withTag.tag, "edge")
      assert.strictEqual((yield* Effect.flip(Reference.withTag(r, "a b")))._tag, "TagInvalid")
    }))

  it("FromString schema", () => {
    const decode = Schema.decodeUnknownEither(Reference.FromString)
    const ok = decode("localhost:5000/a:b")
    assert.isTrue(Either.isRight(ok))
    if (Either.isRight(ok)) {
      assert.instanceOf(ok.right, Reference.Reference)
      assert.strictEqual(Schema.encodeSync(Reference.FromString)(ok.right), "localhost:5000/a:b")
    }
    const bad = decode("a//b")
    assert.isTrue(Either.isLeft(bad))
    if (Either.isLeft(bad)) assert.include(bad.left.message, "empty path component")
  })
})

describe("Reference parts", () => {
  it.effect("repository", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Reference.repository("a/b-c/d"), "a/b-c/d")
      assert.strictEqual(yield* Reference.repository("a".repeat(255)), "a".repeat(255))
      const e = yield* Effect.flip(Reference.repository("a".repeat(256)))
      assert.instanceOf(e, RegistryError.NameInvalid)
      assert.include(e.detail ?? "", "255")
      assert.strictEqual(
        (yield* Effect.flip(Reference.repository("A"))).detail,
        "path component \"A\" must be lowercase"
      )
    }))

  it.effect("tag and tagOrDigest", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Reference.tag("v1.0"), "v1.0")
      assert.instanceOf(yield* Effect.flip(Reference.tag("")), RegistryError.TagInvalid)
      assert.deepStrictEqual(yield* Reference.tagOrDigest("latest"), { _tag: "Tag", tag: "latest" })
      assert.deepStrictEqual(yield* Reference.tagOrDigest(D), { _tag: "Digest", digest: Digest.unsafeMake(D) })
      assert.instanceOf(yield* Effect.flip(Reference.tagOrDigest("sha256:12")), RegistryError.DigestInvalid)
      assert.instanceOf(yield* Effect.flip(Reference.tagOrDigest(".x")), RegistryError.TagInvalid)
    }))
})

// ---------------------------------------------------------------------------
// properties
// ---------------------------------------------------------------------------

const lower = FastCheck.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split(""))
const alnum = FastCheck.array(lower, { minLength: 1, maxLength: 6 }).map((xs) => xs.join(""))
const separator = FastCheck.constantFrom(".", "_", "__", "-", "--", "---")
const pathComponent = FastCheck.tuple(alnum, FastCheck.array(FastCheck.tuple(separator, alnum), { maxLength: 3 }))
  .map(([head, tail]) => head + tail.map(([s, a]) => s + a).join(""))
const repositoryArb = FastCheck.array(pathComponent, { minLength: 1, maxLength: 4 }).map((xs) => xs.join("/"))
const domainComponent = FastCheck.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/)
const port = FastCheck.integer({ min: 1, max: 65535 })
const registryArb = FastCheck.oneof(
  FastCheck.tuple(domainComponent, FastCheck.array(domainComponent, { minLength: 1, maxLength: 3 }))
    .map(([a, bs]) => [a, ...bs].join(".")),
  FastCheck.tuple(domainComponent, port).map(([h, p]) => `${h}:${p}`),
  FastCheck.constant("localhost"),
  port.map((p) => `[::1]:${p}`),
  FastCheck.constant("docker.io")
)
const tagArb = FastCheck.stringMatching(/^[\w][\w.-]{0,30}$/)
const digestArb = FastCheck.hexaString({ minLength: 64, maxLength: 64 }).map((h) => `sha256:${h.toLowerCase()}`)

const referenceArb = FastCheck.record({
  registry: registryArb,
  repository: repositoryArb,
  tag: FastCheck.option(tagArb, { nil: undefined }),
  digest: FastCheck.option(digestArb, { nil: undefined })
}).map((r) => ({
  ...r,
  // docker.io names are normalised to library/x: generate them normalised
  repository: r.registry === "docker.io" && !r.repository.includes("/") ? `library/${r.repository}` : r.repository,
  tag: r.tag === undefined && r.digest === undefined ? "latest" : r.tag
}))

const isTypedFailure = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isSuccess(exit) ||
  (exit.cause._tag === "Fail" && RegistryError.isRegistryError(exit.cause.error))

describe("Reference properties", () => {
  it.effect.prop(
    "parse ∘ format is the identity on generated references",
    [referenceArb],
    ([r]) =>
      Effect.gen(function*() {
        const parsed = yield* Reference.parse(Reference.format(r))
        assert.strictEqual(parsed.registry, r.registry)
        assert.strictEqual(parsed.repository, r.repository)
        assert.strictEqual(parsed.tag, r.tag)
        assert.strictEqual(parsed.digest, r.digest)
        assert.strictEqual(Reference.format(parsed), Reference.format(r))
        const familiar = yield* Reference.parse(Reference.familiar(parsed))
        assert.deepStrictEqual(familiar, parsed)
      })
  )

  it.effect.prop(
    "arbitrary strings never throw or die",
    [FastCheck.string({ maxLength: 300 })],
    ([s]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Reference.parse(s))
        assert.isTrue(isTypedFailure(exit))
      })
  )

  const grammarChars = FastCheck.array(
    FastCheck.constantFrom(..."abcAB09.-_:/@[]".split(""), "sha256:", D),
    { maxLength: 40 }
  ).map((xs) => xs.join(""))
  it.effect.prop(
    "grammar-shaped strings never throw or die, and what parses re-parses",
    [grammarChars],
    ([s]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Reference.parse(s))
        assert.isTrue(isTypedFailure(exit))
        if (Exit.isSuccess(exit)) {
          const again = yield* Reference.parse(Reference.format(exit.value))
          assert.deepStrictEqual(again, exit.value)
        }
      })
  )

  it.prop("tagOrDigest, repository, tag never throw", [FastCheck.string({ maxLength: 300 })], ([s]) => {
    for (const f of [Reference.repository, Reference.tag, Reference.tagOrDigest] as const) {
      const exit = Effect.runSyncExit(f(s) as Effect.Effect<unknown, RegistryError.RegistryError>)
      assert.isTrue(isTypedFailure(exit))
    }
  })
})
