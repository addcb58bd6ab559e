/**
 * @since 0.1.0
 */
export * as BlobFile from "./BlobFile.js"

/**
 * @since 0.1.0
 */
export * as CredentialHelper from "./CredentialHelper.js"

/**
 * @since 0.1.0
 */
export * as DockerConfig from "./DockerConfig.js"

/**
 * @since 0.1.0
 */
export * as NodeHash from "./NodeHash.js"

/**
 * @since 0.1.0
 */
export * as NodeHttp from "./NodeHttp.js"

// `NodeHttpUndici` is imported from its own path (`@effect-registry/node/NodeHttpUndici`): importing it loads undici
// whole, which a program on `NodeHttp` should not pay for.

/**
 * @since 0.1.0
 */
export * as NodeRegistry from "./NodeRegistry.js"

/**
 * @since 0.1.0
 */
export * as OciLayout from "./OciLayout.js"

/**
 * @since 0.1.0
 */
export * as DockerArchive from "./DockerArchive.js"

/**
 * @since 0.1.0
 */
export * as OciArchive from "./OciArchive.js"
