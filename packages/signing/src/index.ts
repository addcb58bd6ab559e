/**
 * @since 0.1.0
 */
export * as Key from "./Key.js"

/**
 * @since 0.1.0
 */
export * as KeyId from "./KeyId.js"

/**
 * @since 0.1.0
 */
export * as SigningError from "./SigningError.js"

/**
 * @since 0.1.0
 */
export * as JsonSignature from "./JsonSignature.js"

/**
 * @since 0.1.0
 */
export * as Schema1 from "./Schema1.js"
