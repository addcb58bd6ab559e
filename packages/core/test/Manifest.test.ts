import { Digest, Manifest, MediaType, RegistryError } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const fixtures = path.join(repoRoot, "fixtures/manifests")
const read = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(fixtures, name)))
const fileSha256 = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`
const utf8 = (s: string) => new TextEncoder().encode(s)

const failure = <A>(exit: Exit.Exit<A, RegistryError.ManifestInvalid>): RegistryError.ManifestInvalid => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : exit.cause._tag}`)
}

describe("Manifest fixtures", () => {
  const table: ReadonlyArray<readonly [file: string, kind: Manifest.Kind, mediaType: string, digest: string | "file"]> =
    [
      [
        "v1-signed-joyent.manifest.json",
        "schema1",
        MediaType.DockerManifestSchema1Signed,
        "sha256:b524e5d7837da98010567886762935bf3c10ad5ac1ff5112bc43299329ca9a54"
      ],
      [
        "v2s1.manifest.json",
        "schema1",
        MediaType.DockerManifestSchema1Signed,
        "sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000"
      ],
      [
        "v2s1-unsigned.manifest.json",
        "schema1",
        MediaType.DockerManifestSchema1,
        "sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000"
      ],
      [
        "v2s2.manifest.json",
        "schema2",
        MediaType.DockerManifestSchema2,
        "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
      ],
      ["v2list.manifest.json", "list", MediaType.DockerManifestList, "file"],
      ["ociv1.manifest.json", "oci", MediaType.OciManifest, "file"],
      ["ociv1.image.index.json", "index", MediaType.OciIndex, "file"],
      ["ociv1.artifact.json", "oci", MediaType.OciManifest, "file"]
    ]

  for (const [file, kind, mediaType, expected] of table) {
    it.effect(`${file} decodes as ${kind} with the listed digest`, () =>
      Effect.gen(function*() {
        const bytes = read(file)
        const m = yield* Manifest.decode(bytes)
        assert.strictEqual(m.kind, kind)
        assert.strictEqual(m.mediaType, mediaType)
        assert.strictEqual(m.digest, expected === "file" ? fileSha256(bytes) : expected)
        assert.strictEqual(m.bytes, bytes)
        assert.strictEqual(yield* Manifest.digestOf(bytes, mediaType), m.digest)
      }))
  }

  it.effect("unsigned schema1 digest equals the file's sha256", () =>
    Effect.gen(function*() {
      const bytes = read("v2s1-unsigned.manifest.json")
      const m = yield* Manifest.decode(bytes)
      assert.strictEqual(m.digest, fileSha256(bytes))
    }))

  it.effect("signed schema1 digest is not the file's sha256, but that of the payload", () =>
    Effect.gen(function*() {
      const bytes = read("v2s1.manifest.json")
      const payload = yield* Manifest.schema1Payload(bytes)
      assert.notStrictEqual(fileSha256(bytes), fileSha256(payload))
      assert.strictEqual(fileSha256(payload), "sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000")
      const text = new TextDecoder().decode(payload)
      assert.isFalse(text.includes("signatures"))
      assert.deepStrictEqual(JSON.parse(text).name, "mitr/busybox")
    }))

  it.effect("v2s1-invalid-signatures fails with a typed ManifestInvalid", () =>
    Effect.gen(function*() {
      const bytes = read("v2s1-invalid-signatures.manifest.json")
      const e = failure(yield* Effect.exit(Manifest.decode(bytes)))
      assert.strictEqual(e._tag, "ManifestInvalid")
      assert.strictEqual(e.reason, "Schema")
      assert.include(e.detail ?? "", "signatures")
      const p = failure(yield* Effect.exit(Manifest.schema1Payload(bytes)))
      assert.strictEqual(p.reason, "Schema")
      assert.include(p.detail ?? "", "signatures must be a list")
    }))

  it.effect("children and blobDigests", () =>
    Effect.gen(function*() {
      const s2 = yield* Manifest.decode(read("v2s2.manifest.json"))
      const children = Manifest.children(s2)
      assert.strictEqual(children[0].mediaType, MediaType.DockerContainerConfig)
      assert.isTrue(children.length > 1)
      const s1 = yield* Manifest.decode(read("v2s1.manifest.json"))
      assert.deepStrictEqual(Manifest.children(s1), [])
      assert.deepStrictEqual(Manifest.blobDigests(s1) as ReadonlyArray<string>, [
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
      ])
      const index = yield* Manifest.decode(read("ociv1.image.index.json"))
      assert.isTrue(Manifest.isIndex(index))
      assert.strictEqual(Manifest.children(index).length, index.kind === "index" ? index.manifest.manifests.length : -1)
    }))

  it.effect("artifact with an unset config and null layers", () =>
    Effect.gen(function*() {
      const m = yield* Manifest.decode(read("ociv1.artifact.json"))
      assert.strictEqual(m.kind, "oci")
      if (m.kind !== "oci") return
      assert.deepStrictEqual(m.manifest.layers, [])
      assert.strictEqual(m.manifest.config.digest, "")
      assert.isTrue(Option.isNone(Manifest.config(m)))
      assert.deepStrictEqual(Manifest.children(m), [])
      assert.deepStrictEqual(
        Manifest.artifactType(m),
        Option.some("application/vnd.oci.custom.artifact.config.v1+json")
      )
    }))
})

describe("Manifest.decode", () => {
  const oci = (extra: Record<string, unknown> = {}) => ({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: MediaType.OciEmptyDescriptor,
    layers: [],
    ...extra
  })

  it.effect("keeps unknown fields, top-level and nested, and never re-serialises", () =>
    Effect.gen(function*() {
      const text = JSON.stringify(
        oci({
          vendor: { x: [1, 2] },
          layers: [{
            mediaType: MediaType.OciLayerGzip,
            digest: MediaType.OciEmptyDigest,
            size: 2,
            "x-extra": true
          }]
        }),
        null,
        7
      )
      const bytes = utf8(text)
      const m = yield* Manifest.decode(bytes)
      assert.strictEqual(m.kind, "oci")
      if (m.kind !== "oci") return
      assert.deepStrictEqual(m.manifest["vendor"], { x: [1, 2] })
      assert.strictEqual(m.manifest.layers[0]["x-extra"], true)
      assert.strictEqual(m.bytes, bytes)
      assert.strictEqual(m.digest, fileSha256(bytes))
    }))

  it.effect("media type: Content-Type first (parameters ignored), then body, then shape", () =>
    Effect.gen(function*() {
      const noMt = utf8(JSON.stringify({ schemaVersion: 2, config: MediaType.OciEmptyDescriptor, layers: [] }))
      const a = yield* Manifest.decode(noMt, {
        contentType: "application/vnd.oci.image.manifest.v1+json; charset=utf-8"
      })
      assert.strictEqual(a.mediaType, MediaType.OciManifest)
      const b = yield* Manifest.decode(noMt, { contentType: "application/json" })
      assert.strictEqual(b.kind, "oci")
      const idx = yield* Manifest.decode(utf8(JSON.stringify({ schemaVersion: 2, manifests: [] })))
      assert.strictEqual(idx.kind, "index")
    }))

  it.effect("Content-Type and body disagreeing is MediaType", () =>
    Effect.gen(function*() {
      const e = failure(
        yield* Effect.exit(
          Manifest.decode(utf8(JSON.stringify(oci())), { contentType: MediaType.DockerManifestSchema2 })
        )
      )
      assert.strictEqual(e.reason, "MediaType")
    }))

  it.effect("unknown media type in the body", () =>
    Effect.gen(function*() {
      const e = failure(
        yield* Effect.exit(
          Manifest.decode(utf8(JSON.stringify(oci({ mediaType: "application/vnd.oci.artifact.manifest.v1+json" }))))
        )
      )
      assert.strictEqual(e.reason, "MediaType")
    }))

  it.effect("size limit checked before decoding", () =>
    Effect.gen(function*() {
      const big = new Uint8Array(Manifest.DefaultMaxSize + 1).fill(0xff) // not even UTF-8
      const e = failure(yield* Effect.exit(Manifest.decode(big)))
      assert.strictEqual(e.reason, "TooLarge")
      const small = utf8(JSON.stringify(oci()))
      const e2 = failure(yield* Effect.exit(Manifest.decode(small, { maxSize: 10 })))
      assert.strictEqual(e2.reason, "TooLarge")
    }))

  it.effect("nesting bomb refused before JSON.parse, brackets in strings do not count", () =>
    Effect.gen(function*() {
      const bomb = utf8(`{"schemaVersion":2,"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)
      const e = failure(yield* Effect.exit(Manifest.decode(bomb)))
      assert.strictEqual(e.reason, "Json")
      assert.include(e.detail ?? "", "nested")
      const strings = utf8(JSON.stringify(oci({ note: "[".repeat(1000) + "\\\"{" })))
      const ok = yield* Manifest.decode(strings)
      assert.strictEqual(ok.kind, "oci")
    }))

  it.effect("bad UTF-8, bad JSON, not an object, bad schema", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        failure(yield* Effect.exit(Manifest.decode(new Uint8Array([0x7b, 0xc3, 0x28])))).reason,
        "Encoding"
      )
      assert.strictEqual(failure(yield* Effect.exit(Manifest.decode(utf8("{\"a\":")))).reason, "Json")
      assert.strictEqual(failure(yield* Effect.exit(Manifest.decode(utf8("[1]")))).reason, "Schema")
      const bad = failure(
        yield* Effect.exit(
          Manifest.decode(utf8(JSON.stringify(oci({ config: { mediaType: "x", digest: "sha256:AB", size: 1 } }))))
        )
      )
      assert.strictEqual(bad.reason, "Schema")
      assert.include(bad.detail ?? "", "config")
    }))

  it.effect("decodeImageConfig", () =>
    Effect.gen(function*() {
      const cfg = yield* Manifest.decodeImageConfig(utf8(JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Env: ["A=1"], Entrypoint: null, Labels: null },
        rootfs: { type: "layers", diff_ids: [MediaType.OciEmptyDigest] },
        extra: 1
      })))
      assert.strictEqual(cfg.os, "linux")
      assert.strictEqual(cfg["extra"], 1)
      const bad = failure(yield* Effect.exit(Manifest.decodeImageConfig(utf8("{\"os\":\"linux\"}"))))
      assert.strictEqual(bad.reason, "Schema")
    }))

  it.effect("descriptor of a decoded manifest", () =>
    Effect.gen(function*() {
      const bytes = read("ociv1.manifest.json")
      const m = yield* Manifest.decode(bytes)
      const d = Manifest.descriptor(m)
      assert.strictEqual(d.size, bytes.length)
      assert.isTrue(Digest.isDigest(d.digest))
    }))
})

describe("Manifest properties", () => {
  const typed = (exit: Exit.Exit<unknown, unknown>) =>
    Exit.isSuccess(exit) || (exit.cause._tag === "Fail" && RegistryError.isRegistryError(exit.cause.error))

  it.effect.prop(
    "arbitrary bytes never throw or die",
    [FastCheck.uint8Array({ maxLength: 512 })],
    ([bytes]) =>
      Effect.gen(function*() {
        assert.isTrue(typed(yield* Effect.exit(Manifest.decode(bytes))))
        assert.isTrue(typed(yield* Effect.exit(Manifest.schema1Payload(bytes))))
      })
  )

  it.effect.prop(
    "arbitrary JSON never throws or dies, whatever the Content-Type",
    [
      FastCheck.json({ maxDepth: 6 }),
      FastCheck.constantFrom(undefined, ...MediaType.AcceptAll, "application/json", "x/y")
    ],
    ([text, contentType]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Manifest.decode(utf8(text), { contentType }))
        assert.isTrue(typed(exit))
      })
  )

  it.effect.prop(
    "schema1 with random signatures never throws or dies",
    [FastCheck.anything({ maxDepth: 3 })],
    ([signatures]) =>
      Effect.gen(function*() {
        const text = JSON.stringify({
          schemaVersion: 1,
          name: "a",
          tag: "b",
          architecture: "c",
          fsLayers: [],
          history: [],
          signatures
        })
        if (text === undefined) return
        assert.isTrue(typed(yield* Effect.exit(Manifest.decode(utf8(text)))))
      })
  )
})

describe("Manifest.schema1Payload", () => {
  const b64url = (s: string) => Buffer.from(s).toString("base64url")
  const payload = read("v2s1-unsigned.manifest.json")
  const text = new TextDecoder().decode(payload)
  const formatLength = text.lastIndexOf("\n}")
  const sign = (headers: ReadonlyArray<Record<string, unknown>>) =>
    utf8(
      text.slice(0, formatLength) + ",\n   \"signatures\": " +
        JSON.stringify(headers.map((h) => ({
          header: { jwk: {}, alg: "ES256" },
          signature: "c2ln",
          protected: b64url(JSON.stringify(h))
        }))) +
        text.slice(formatLength)
    )
  const good = { formatLength, formatTail: b64url(text.slice(formatLength)), time: "2024-01-01T00:00:00Z" }

  it.effect("rebuilds the payload from formatLength and formatTail", () =>
    Effect.gen(function*() {
      const signed = sign([good, good])
      assert.deepStrictEqual(yield* Manifest.schema1Payload(signed), payload)
      const m = yield* Manifest.decode(signed)
      assert.strictEqual(m.mediaType, MediaType.DockerManifestSchema1Signed)
      assert.strictEqual(m.digest, fileSha256(payload))
      assert.notStrictEqual(m.digest, fileSha256(signed))
    }))

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<Record<string, unknown>>, string]> = [
    ["signatures disagree", [good, { ...good, formatLength: formatLength - 1 }], "disagree"],
    ["formatLength too large", [{ ...good, formatLength: 10_000_000 }], "beyond the end"],
    ["formatLength missing", [{ formatTail: good.formatTail }], "formatLength"],
    ["formatTail not base64url", [{ ...good, formatTail: "!!" }], "formatTail"]
  ]
  for (const [name, headers, detail] of bad) {
    it.effect(`refuses: ${name}`, () =>
      Effect.gen(function*() {
        const e = failure(yield* Effect.exit(Manifest.decode(sign(headers))))
        assert.strictEqual(e.reason, "Schema")
        assert.include(e.detail ?? "", detail)
      }))
  }

  it.effect("a protected header that is not base64url JSON", () =>
    Effect.gen(function*() {
      const signed = utf8(
        text.slice(0, formatLength) +
          ",\"signatures\":[{\"header\":{\"jwk\":{},\"alg\":\"x\"},\"signature\":\"s\",\"protected\":\"%%%\"}]" +
          text.slice(formatLength)
      )
      const e = failure(yield* Effect.exit(Manifest.schema1Payload(signed)))
      assert.include(e.detail ?? "", "protected header")
    }))
})
