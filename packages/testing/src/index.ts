/**
 * @since 0.1.0
 */
/**
 * An in-memory registry (distribution API, OCI 1.1 edition) as an in-process `HttpClient` layer or served on loopback.
 *
 * @since 0.1.0
 */
export * as InMemoryRegistry from "./InMemoryRegistry.js"
