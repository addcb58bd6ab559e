/**
 * @since 0.1.0
 */
export * as RegistryError from "./RegistryError.js"
