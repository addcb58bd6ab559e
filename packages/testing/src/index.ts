/**
 * @since 0.1.0
 */
/**
 * Starts Debian's `docker-registry` for integration tests (anonymous, Basic, token and TLS modes).
 *
 * @since 0.1.0
 */
export * as RealRegistry from "./RealRegistry.js"

/**
 * A Docker token server for tests (ES256 JWTs, GET and OAuth2 POST).
 *
 * @since 0.1.0
 */
export * as TokenServer from "./TokenServer.js"

/**
 * An in-memory registry (distribution API, OCI 1.1 edition) as an in-process `HttpClient` layer or served on loopback.
 *
 * @since 0.1.0
 */
export * as InMemoryRegistry from "./InMemoryRegistry.js"

/**
 * A fault-injecting proxy on loopback (resets, 5xx, 429, stalls, truncation, lost answers) with upload byte counters.
 *
 * @since 0.1.0
 */
export * as FaultProxy from "./FaultProxy.js"

/**
 * A TCP relay on loopback that counts the connections a client opens (for connection-reuse tests and benchmarks).
 *
 * @since 0.1.0
 */
export * as ConnectionCounter from "./ConnectionCounter.js"
