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

/**
 * @since 0.2.0
 */
export * as HostileServer from "./HostileServer.js"

/**
 * @since 0.2.0
 */
export * as LayoutFixture from "./LayoutFixture.js"
