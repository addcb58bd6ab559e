import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import { RealRegistry } from "@effect-registry/test-infra"
import * as ContractSuite from "@effect-registry/testing/ContractSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeHash from "../src/NodeHash.js"
import * as NodeHttp from "../src/NodeHttp.js"

// The contract suite against Debian's docker-registry (distribution 2.8.2), started by the
// test launcher on a free loopback port, in every auth mode and variant.

const user = { username: "alice", password: "correct horse battery staple" }

const target = (
  name: string,
  options: RealRegistry.Options,
  credentials: Credentials.Credentials,
  capabilities: ContractSuite.Capabilities = ContractSuite.distribution
): ContractSuite.Target => ({
  name,
  capabilities,
  layer: Layer.unwrapScoped(Effect.map(
    RealRegistry.make(options),
    (registry) =>
      RegistryClient.layer({ url: registry.url }).pipe(
        Layer.provide(AuthService.layer({ credentials })),
        Layer.provide(Layer.merge(
          NodeHttp.layer(registry.caPem !== undefined ? { tls: { ca: registry.caPem } } : {}),
          NodeHash.layer
        ))
      )
  ))
})

const alice = Credentials.basic(user.username, user.password)

ContractSuite.suite(target("distribution, anonymous", { mode: "anonymous" }, Credentials.anonymous))
ContractSuite.suite(target("distribution, htpasswd Basic", { mode: "basic", users: [user] }, alice))
ContractSuite.suite(target("distribution, token auth", { mode: "token", users: [user] }, alice))
ContractSuite.suite(target("distribution, TLS", { mode: "tls" }, Credentials.anonymous))
ContractSuite.suite(
  target(
    "distribution, relative URLs and deletes disabled",
    { mode: "anonymous", relativeUrls: true, deleteEnabled: false },
    Credentials.anonymous,
    { ...ContractSuite.distribution, deleteEnabled: false }
  )
)
