import * as AuthService from "@effect-registry/core/AuthService"
import * as Credentials from "@effect-registry/core/Credentials"
import * as PortableHash from "@effect-registry/core/PortableHash"
import * as RegistryClient from "@effect-registry/core/RegistryClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ContractSuite from "../src/ContractSuite.js"
import * as InMemoryRegistry from "../src/InMemoryRegistry.js"

// The contract suite against the in-memory registry, in-process (no socket) and over a real
// loopback port, anonymous and with each kind of auth it offers.

const inProcess = (options: InMemoryRegistry.Options, credentials: Credentials.Credentials) =>
  RegistryClient.layer({ url: options.url ?? "http://registry.test" }).pipe(
    Layer.provide(AuthService.layer({ credentials })),
    Layer.provide(Layer.merge(InMemoryRegistry.layer(options), PortableHash.layer))
  )

const overLoopback = (options: InMemoryRegistry.Options, credentials: Credentials.Credentials) =>
  Layer.unwrapScoped(Effect.map(
    InMemoryRegistry.serve(options),
    (registry) =>
      RegistryClient.layer({ url: registry.url }).pipe(
        Layer.provide(AuthService.layer({ credentials }))
      )
  )).pipe(Layer.provide(Layer.merge(NodeHttpClient.layerUndici, PortableHash.layer)))

const users = { alice: "wonderland-secret" }
const alice = Credentials.basic("alice", "wonderland-secret")

ContractSuite.suite({
  name: "in-memory, in-process, anonymous",
  layer: inProcess({}, Credentials.anonymous),
  capabilities: ContractSuite.inMemory
})

ContractSuite.suite({
  name: "in-memory, in-process, token auth",
  layer: inProcess({ auth: InMemoryRegistry.tokenAuth({ users }) }, alice),
  capabilities: ContractSuite.inMemory
})

ContractSuite.suite({
  name: "in-memory, in-process, no referrers API, deletes disabled",
  layer: inProcess({ referrers: false, deleteEnabled: false, relativeLocations: true }, Credentials.anonymous),
  capabilities: { ...ContractSuite.inMemory, referrersApi: false, deleteEnabled: false }
})

ContractSuite.suite({
  name: "in-memory, loopback, Basic auth",
  layer: overLoopback({ auth: InMemoryRegistry.basicAuth(users) }, alice),
  capabilities: ContractSuite.inMemory
})
