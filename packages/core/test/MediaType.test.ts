import { Digest, MediaType } from "@effect-registry/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("MediaType", () => {
  it("normalize strips parameters and case", () => {
    assert.strictEqual(MediaType.normalize("Application/JSON; charset=utf-8"), "application/json")
    assert.strictEqual(MediaType.normalize(` ${MediaType.OciManifest} `), MediaType.OciManifest)
    assert.strictEqual(MediaType.normalize(""), "")
  })

  it("guards", () => {
    assert.isTrue(MediaType.isIndex(MediaType.OciIndex))
    assert.isTrue(MediaType.isIndex(`${MediaType.DockerManifestList}; charset=utf-8`))
    assert.isFalse(MediaType.isIndex(MediaType.OciManifest))
    for (
      const mt of [
        MediaType.OciManifest,
        MediaType.DockerManifestSchema2,
        MediaType.DockerManifestSchema1,
        MediaType.DockerManifestSchema1Signed
      ]
    ) {
      assert.isTrue(MediaType.isManifest(mt), mt)
      assert.isTrue(MediaType.isKnownManifest(mt), mt)
    }
    assert.isTrue(MediaType.isSchema1(MediaType.DockerManifestSchema1Signed))
    assert.isFalse(MediaType.isSchema1(MediaType.DockerManifestSchema2))
    assert.isFalse(MediaType.isKnownManifest("application/json"))
    assert.isTrue(MediaType.isLayer(MediaType.OciLayerZstd))
    assert.isTrue(MediaType.isLayer(MediaType.DockerLayerGzip))
    assert.isTrue(MediaType.isNondistributable(MediaType.OciLayerNondistributableGzip))
    assert.isTrue(MediaType.isNondistributable(MediaType.DockerLayerForeignGzip))
    assert.isFalse(MediaType.isNondistributable(MediaType.OciLayerGzip))
  })

  it("accept sets", () => {
    assert.sameMembers([...MediaType.AcceptAll], [...MediaType.AcceptImages, ...MediaType.AcceptIndexes])
    assert.sameMembers([...MediaType.AcceptSchema1], [
      MediaType.DockerManifestSchema1,
      MediaType.DockerManifestSchema1Signed
    ])
    assert.deepStrictEqual(MediaType.AcceptSchema2, [MediaType.DockerManifestSchema2])
    assert.strictEqual(
      MediaType.acceptHeader(MediaType.AcceptIndexes),
      `${MediaType.OciIndex}, ${MediaType.DockerManifestList}`
    )
  })

  it.effect("the empty descriptor is consistent", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode("{}")
      assert.strictEqual(yield* Digest.sha256(bytes), MediaType.OciEmptyDigest)
      assert.strictEqual(MediaType.OciEmptyDescriptor.size, bytes.length)
      assert.strictEqual(atob(MediaType.OciEmptyDescriptor.data), "{}")
    }))
})
