/**
 * The commands tag, manifest put, index create/add, copy --all-tags, sync, export, import, validate and
 * ratelimit against a real docker-registry (skopeo for the archive formats, a loopback server of our own
 * for rate-limit headers).
 */
import { MediaType } from "@effect-registry/core"
import { HostileServer, RealRegistry } from "@effect-registry/test-infra"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { cli, exec, lines, makeImage, ok, plainSession, writeLayout } from "./support/cliHarness.js"

const skopeo = (args: ReadonlyArray<string>) =>
  Effect.map(exec("/usr/bin/skopeo", ["copy", "--insecure-policy", ...args]), (r) => {
    assert.strictEqual(r.code, 0, r.stderr)
    return r
  })

/** A registry session: `run` passes --plain-http; `setup` pushes an amd64 and an arm64 image as `amd`, `arm`. */
const session = Effect.gen(function*() {
  const { h, home, registry, run } = yield* plainSession
  const src = path.join(home, "src")
  const amd = makeImage(src)
  const arm = makeImage(src, { os: "linux", architecture: "arm64" })
  writeLayout(src, [{ desc: amd.manifest, ref: "amd" }, { desc: arm.manifest, ref: "arm" }])
  const push = (repository: string, ref: "amd" | "arm", tag: string) =>
    Effect.gen(function*() {
      return ok(yield* run(["push", src, `${h}/${repository}:${tag}`, "--ref-name", ref])).stdout.trim()
    })
  return { registry, home, run, h, src, amd, arm, push }
})

layer(RealRegistry.layer(), { timeout: "240 seconds", excludeTestServices: true })(
  "Commands against an anonymous docker-registry",
  (it) => {
    it.scoped("tag and manifest put: a manifest PUT, no blob traffic", () =>
      Effect.gen(function*() {
        const { amd, h, home, push, run } = yield* session
        assert.strictEqual(yield* push("cmd/app", "amd", "v1"), amd.manifest.digest)

        assert.strictEqual(ok(yield* run(["tag", `${h}/cmd/app:v1`, "stable"])).stdout, `${amd.manifest.digest}\n`)
        assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/app:stable`])).stdout, `${amd.manifest.digest}\n`)
        const tagged = JSON.parse(
          ok(yield* run(["tag", `${h}/cmd/app@${amd.manifest.digest}`, `${h}/cmd/app:rel`, "--json"])).stdout
        )
        assert.deepStrictEqual(tagged, {
          source: `${h}/cmd/app@${amd.manifest.digest}`,
          tag: "rel",
          digest: amd.manifest.digest,
          mediaType: MediaType.OciManifest
        })
        // with -v the requests are logged: one manifest GET and one PUT, nothing else
        const logged = ok(yield* run(["tag", `${h}/cmd/app:v1`, "logged", "-v"]))
        assert.deepStrictEqual(
          logged.stderr.split("\n").filter((l) => /^(GET|PUT|HEAD|POST|PATCH) /.test(l) && l.includes("/v2/cmd/"))
            .map((l) => l.split(" ")[0]),
          ["GET", "PUT"]
        )
        const otherRepo = yield* run(["tag", `${h}/cmd/app:v1`, `${h}/cmd/other:v1`])
        assert.strictEqual(otherRepo.code, 2)
        assert.strictEqual((yield* run(["tag", `${h}/cmd/app:v1`, "bad tag"])).code, 2)
        const missing = yield* run(["tag", `${h}/cmd/app:nope`, "x"])
        assert.strictEqual(missing.code, 3)

        // manifest put: the exact bytes of a file
        const file = path.join(home, "manifest.json")
        fs.writeFileSync(file, amd.manifestBytes)
        assert.strictEqual(
          ok(yield* run(["manifest", "put", `${h}/cmd/app:put`, file])).stdout,
          `${amd.manifest.digest}\n`
        )
        assert.deepStrictEqual(ok(yield* run(["manifest", `${h}/cmd/app:put`])).bytes, amd.manifestBytes)
        const byDigest = JSON.parse(
          ok(yield* run(["manifest", "put", `${h}/cmd/app@${amd.manifest.digest}`, file, "--json"])).stdout
        )
        assert.strictEqual(byDigest.mediaType, MediaType.OciManifest)
        fs.writeFileSync(path.join(home, "bad.json"), "{ not json")
        const bad = yield* run(["manifest", "put", `${h}/cmd/app:bad`, path.join(home, "bad.json")])
        assert.strictEqual(bad.code, 2)
        assert.strictEqual((yield* run(["manifest"])).code, 2)
        // blobs the registry lacks: refused by the registry
        fs.mkdirSync(path.join(home, "lone"))
        const lone = makeImage(path.join(home, "lone"))
        fs.writeFileSync(path.join(home, "lone.json"), lone.manifestBytes)
        const refused = yield* run(["manifest", "put", `${h}/cmd/app:lone`, path.join(home, "lone.json")])
        assert.notStrictEqual(refused.code, 0)
        assert.match(refused.stderr, /^error: /m)
      }))

    it.scoped("index create and add: platforms from the configs, an image of another repository copied in", () =>
      Effect.gen(function*() {
        const { amd, arm, h, home, push, run } = yield* session
        yield* push("cmd/idx", "amd", "amd")
        yield* push("cmd/idx", "arm", "arm")
        const created = JSON.parse(
          ok(yield* run(["index", "create", `${h}/cmd/idx:multi`, "amd", "arm", "--json"])).stdout
        )
        assert.strictEqual(created.tag, "multi")
        assert.deepStrictEqual(
          created.manifests.map((m: { digest: string; platform: unknown }) => [m.digest, m.platform]),
          [
            [amd.manifest.digest, { os: "linux", architecture: "amd64" }],
            [arm.manifest.digest, { os: "linux", architecture: "arm64" }]
          ]
        )
        const stored = JSON.parse(ok(yield* run(["manifest", `${h}/cmd/idx:multi`, "--json"])).stdout)
        assert.strictEqual(stored.digest, created.digest)
        assert.strictEqual(stored.mediaType, MediaType.OciIndex)
        assert.deepStrictEqual(
          ok(yield* run(["config", `${h}/cmd/idx:multi`, "--platform", "linux/arm64"])).bytes,
          arm.configBytes
        )

        // a riscv64 image in another repository, added by reference: copied in
        const other = path.join(home, "other")
        const riscv = makeImage(other, { os: "linux", architecture: "riscv64" })
        writeLayout(other, [{ desc: riscv.manifest, ref: "v1" }])
        ok(yield* run(["push", other, `${h}/cmd/elsewhere:v1`]))
        const added = JSON.parse(
          ok(yield* run(["index", "add", `${h}/cmd/idx:multi`, `${h}/cmd/elsewhere:v1`, "--json"])).stdout
        )
        assert.deepStrictEqual(
          added.manifests.map((m: { digest: string }) => m.digest),
          [amd.manifest.digest, arm.manifest.digest, riscv.manifest.digest]
        )
        assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/idx:multi`])).stdout, `${added.digest}\n`)
        ok(yield* run(["validate", `${h}/cmd/idx:multi`]))

        const list = JSON.parse(
          ok(
            yield* run([
              "index",
              "create",
              `${h}/cmd/idx:list`,
              "amd",
              `@${arm.manifest.digest}`,
              "--format",
              "docker",
              "--json"
            ])
          )
            .stdout
        )
        assert.strictEqual(list.mediaType, MediaType.DockerManifestList)

        const nested = yield* run(["index", "create", `${h}/cmd/idx:nested`, "multi"])
        assert.strictEqual(nested.code, 2)
        assert.match(nested.stderr, /NotAnImage/)
        const notIndex = yield* run(["index", "add", `${h}/cmd/idx:amd`, "arm"])
        assert.strictEqual(notIndex.code, 2)
        assert.strictEqual((yield* run(["index", "create", `${h}/cmd/idx:x`, "nope"])).code, 3)
      }))

    it.scoped(
      "copy --all-tags and sync: every tag, a re-run skips what exists, a moved tag is copied again",
      () =>
        Effect.gen(function*() {
          const { amd, arm, h, push, run } = yield* session
          yield* push("cmd/src", "amd", "v1")
          yield* push("cmd/src", "arm", "v2")
          yield* push("cmd/lib", "arm", "latest")

          const first = lines(ok(yield* run(["copy", "--all-tags", `${h}/cmd/src`, `${h}/cmd/mirror`])).stdout).sort()
          assert.deepStrictEqual(first, [
            `copied ${h}/cmd/src:v1 ${amd.manifest.digest}`,
            `copied ${h}/cmd/src:v2 ${arm.manifest.digest}`
          ])
          assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/mirror:v2`])).stdout, `${arm.manifest.digest}\n`)
          const again = lines(
            ok(yield* run(["copy", "--all-tags", `${h}/cmd/src`, `${h}/cmd/mirror`, "--json"])).stdout
          )
            .map((l) => JSON.parse(l))
          assert.deepStrictEqual(again.map((r) => r.status), ["skipped", "skipped"])

          // sync of two repositories under a prefix, then again after a tag moved
          const synced = lines(ok(yield* run(["sync", `${h}/cmd/src`, `${h}/cmd/lib`, `${h}/backup`])).stdout).sort()
          assert.deepStrictEqual(synced, [
            `copied ${h}/cmd/lib:latest ${arm.manifest.digest}`,
            `copied ${h}/cmd/src:v1 ${amd.manifest.digest}`,
            `copied ${h}/cmd/src:v2 ${arm.manifest.digest}`
          ])
          assert.strictEqual(
            ok(yield* run(["digest", `${h}/backup/cmd/lib:latest`])).stdout,
            `${arm.manifest.digest}\n`
          )
          ok(yield* run(["tag", `${h}/cmd/src:v2`, "v1"]))
          const resumed = lines(ok(yield* run(["sync", `${h}/cmd/src`, `${h}/cmd/lib`, `${h}/backup`])).stdout).sort()
          assert.deepStrictEqual(resumed, [
            `copied ${h}/cmd/src:v1 ${arm.manifest.digest}`,
            `skipped ${h}/cmd/lib:latest ${arm.manifest.digest}`,
            `skipped ${h}/cmd/src:v2 ${arm.manifest.digest}`
          ])
          // to another registry: the same repository names; a re-run copies nothing
          const other = (yield* RealRegistry.make()).host
          const toOther = lines(ok(yield* run(["sync", `${h}/cmd/src`, `${h}/cmd/lib`, other])).stdout)
          assert.deepStrictEqual(toOther.map((l) => l.split(" ")[0]), ["copied", "copied", "copied"])
          assert.strictEqual(ok(yield* run(["digest", `${other}/cmd/src:v1`])).stdout, `${arm.manifest.digest}\n`)
          ok(yield* run(["validate", `${other}/cmd/src:v2`, "--verify-blobs"]))
          const otherAgain = lines(ok(yield* run(["sync", `${h}/cmd/src`, `${h}/cmd/lib`, other])).stdout)
          assert.deepStrictEqual(otherAgain.map((l) => l.split(" ")[0]), ["skipped", "skipped", "skipped"])
          // one source and a repository: exactly that repository
          ok(yield* run(["sync", `${h}/cmd/lib`, `${h}/cmd/lib-copy`]))
          assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/lib-copy:latest`])).stdout, `${arm.manifest.digest}\n`)

          assert.strictEqual((yield* run(["sync", `${h}/cmd/src`])).code, 2)
          assert.strictEqual((yield* run(["sync", `${h}/cmd/src:v1`, `${h}/x`])).code, 2)
          assert.strictEqual((yield* run(["sync", `${h}/cmd/none`, `${h}/x`])).code, 3)
          const platform = yield* run(["copy", "--all-tags", `${h}/cmd/src`, `${h}/x`, "--platform", "linux/amd64"])
          assert.strictEqual(platform.code, 2)
        }),
      180_000
    ) // 18 CLI processes and a second registry: 45–60 s on a loaded 2-core machine

    it.scoped("export and import, docker-archive and oci-archive, round-tripped with skopeo", () =>
      Effect.gen(function*() {
        const { amd, arm, h, home, push, run } = yield* session
        yield* push("cmd/arc", "amd", "v1")
        ok(yield* run(["index", "create", `${h}/cmd/arc:multi`, "v1", `${h}/cmd/arc@${amd.manifest.digest}`]))
        yield* push("cmd/arc", "arm", "arm")
        ok(yield* run(["index", "add", `${h}/cmd/arc:multi`, "arm"]))

        // docker-archive: ours read by skopeo, skopeo's read by us
        const ours = path.join(home, "ours.tar")
        const saved = JSON.parse(ok(yield* run(["export", `${h}/cmd/arc:v1`, ours, "--json"])).stdout)
        assert.strictEqual(saved.format, "docker-archive")
        assert.deepStrictEqual(saved.repoTags, [`${h}/cmd/arc:v1`])
        yield* skopeo(["--dest-tls-verify=false", `docker-archive:${ours}`, `docker://${h}/cmd/from-skopeo:v1`])
        ok(yield* run(["validate", `${h}/cmd/from-skopeo:v1`, "--verify-blobs"]))
        assert.deepStrictEqual(ok(yield* run(["config", `${h}/cmd/from-skopeo:v1`])).bytes, amd.configBytes)
        const theirs = path.join(home, "theirs.tar")
        yield* skopeo(["--src-tls-verify=false", `docker://${h}/cmd/arc:v1`, `docker-archive:${theirs}:saved/app:v9`])
        const loaded = JSON.parse(ok(yield* run(["import", theirs, `${h}/cmd/loaded:v1`, "--json"])).stdout)
        assert.strictEqual(loaded.format, "docker-archive")
        assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/loaded:v1`])).stdout, `${loaded.digest}\n`)
        assert.deepStrictEqual(ok(yield* run(["config", `${h}/cmd/loaded:v1`])).bytes, amd.configBytes)
        ok(yield* run(["validate", `${h}/cmd/loaded:v1`, "--verify-blobs"]))
        // an index is resolved to one platform
        const armTar = path.join(home, "arm.tar")
        ok(yield* run(["export", `${h}/cmd/arc:multi`, armTar, "--platform", "linux/arm64"]))
        ok(yield* run(["import", armTar, `${h}/cmd/loaded:arm`]))
        assert.deepStrictEqual(ok(yield* run(["config", `${h}/cmd/loaded:arm`])).bytes, arm.configBytes)

        // oci-archive: the whole index, digests kept both ways
        const oci = path.join(home, "ours.oci.tar")
        const exported = JSON.parse(
          ok(yield* run(["export", `${h}/cmd/arc:multi`, oci, "--format", "oci-archive", "--json"])).stdout
        )
        const multi = ok(yield* run(["digest", `${h}/cmd/arc:multi`])).stdout.trim()
        assert.strictEqual(exported.digest, multi)
        yield* skopeo([
          "--all",
          "--preserve-digests",
          "--dest-tls-verify=false",
          `oci-archive:${oci}:multi`,
          `docker://${h}/cmd/oci-skopeo:multi`
        ])
        assert.strictEqual(ok(yield* run(["digest", `${h}/cmd/oci-skopeo:multi`])).stdout, `${multi}\n`)
        const theirsOci = path.join(home, "theirs.oci.tar")
        yield* skopeo([
          "--all",
          "--preserve-digests",
          "--src-tls-verify=false",
          `docker://${h}/cmd/arc:multi`,
          `oci-archive:${theirsOci}:multi`
        ])
        assert.strictEqual(ok(yield* run(["import", theirsOci, `${h}/cmd/oci-loaded:multi`])).stdout, `${multi}\n`)
        const report = JSON.parse(ok(yield* run(["validate", `${h}/cmd/oci-loaded:multi`, "--json"])).stdout)
        assert.deepStrictEqual([report.ok, report.manifests, report.blobs], [true, 3, 6])

        // not an archive of either kind; not a tar at all
        const plain = path.join(home, "plain.tar")
        fs.writeFileSync(path.join(home, "note.txt"), "hello")
        assert.strictEqual((yield* exec("tar", ["-cf", plain, "-C", home, "note.txt"])).code, 0)
        assert.strictEqual((yield* run(["import", plain, `${h}/cmd/none:v1`])).code, 2)
        const notTar = yield* run(["import", path.join(home, "note.txt"), `${h}/cmd/none:v1`])
        assert.notStrictEqual(notTar.code, 0)
        assert.match(notTar.stderr, /^error: /m)
        assert.strictEqual((yield* run(["export", `${h}/cmd/arc:nope`, path.join(home, "x.tar")])).code, 3)
        assert.isFalse(fs.existsSync(path.join(home, "x.tar")))
      }))

    it.scoped("validate: ok, then every missing blob and manifest listed, exit 1", () =>
      Effect.gen(function*() {
        const { amd, arm, h, push, run } = yield* session
        yield* push("cmd/val", "amd", "amd")
        yield* push("cmd/val", "arm", "arm")
        ok(yield* run(["index", "create", `${h}/cmd/val:multi`, "amd", "arm"]))
        const healthy = ok(yield* run(["validate", `${h}/cmd/val:multi`, "--verify-blobs"]))
        assert.match(
          healthy.stdout,
          /^ok sha256:[0-9a-f]{64}: 3 manifests, 6 blobs, \d+ bytes \(blobs downloaded and verified\)\n$/
        )

        ok(yield* run(["blob", "delete", `${h}/cmd/val@${arm.layers[1].digest}`]))
        ok(yield* run(["delete", `${h}/cmd/val@${amd.manifest.digest}`]))
        const broken = yield* run(["validate", `${h}/cmd/val:multi`])
        assert.strictEqual(broken.code, 1)
        const found = lines(broken.stdout)
        assert.include(found.join("\n"), `ManifestMissing ${amd.manifest.digest}`)
        assert.include(found.join("\n"), `BlobMissing ${arm.layers[1].digest} (in ${arm.manifest.digest})`)
        assert.match(found[found.length - 1], /^2 problems in /)
        assert.match(broken.stderr, /^error: .*2 problems/m)
        const report = JSON.parse((yield* run(["validate", `${h}/cmd/val:arm`, "--json"])).stdout)
        assert.deepStrictEqual(
          report.problems.map((p: { kind: string; digest: string }) => [p.kind, p.digest]),
          [["BlobMissing", arm.layers[1].digest]]
        )
        assert.strictEqual((yield* run(["validate", `${h}/cmd/val:nope`])).code, 3)
      }))

    it.scoped("ratelimit: a registry without the headers, a server with Docker Hub's", () =>
      Effect.gen(function*() {
        const { amd, h, home, push, run } = yield* session
        yield* push("cmd/rl", "amd", "v1")
        assert.strictEqual(
          ok(yield* run(["ratelimit", `${h}/cmd/rl:v1`])).stdout,
          "no rate-limit headers (the registry does not report a pull limit)\n"
        )
        const none = JSON.parse(ok(yield* run(["ratelimit", `${h}/cmd/rl:v1`, "--json"])).stdout)
        assert.deepStrictEqual([none.digest, none.limit, none.remaining], [amd.manifest.digest, null, null])
        assert.strictEqual((yield* run(["ratelimit", `${h}/cmd/rl:nope`])).code, 3)

        const server = yield* HostileServer.serve((req, res) => {
          if (req.url === "/v2/") {
            res.writeHead(200).end()
            return
          }
          res.writeHead(200, {
            "content-type": MediaType.OciManifest,
            "docker-content-digest": amd.manifest.digest,
            "ratelimit-limit": "100;w=21600",
            "ratelimit-remaining": "76;w=21600",
            "docker-ratelimit-source": "192.0.2.7"
          }).end()
        })
        const limited = ok(
          yield* cli(["ratelimit", `${server.host}/library/alpine`, "--plain-http"], {
            dockerConfig: home
          })
        )
        assert.strictEqual(limited.stdout, "limit: 100 per 21600s\nremaining: 76\nsource: 192.0.2.7\n")
        assert.deepStrictEqual(server.requests.filter((s) => s.includes("manifests")), [
          "HEAD /v2/library/alpine/manifests/latest"
        ])
      }))
  }
)
