/**
 * The transport, in one namespace: `import * as Request from "./http/index.js"`.
 *
 * @since 0.1.0
 */
export * from "./body.js"
export * from "./classify.js"
export * from "./env.js"
export * from "./errors.js"
export * from "./execute.js"
export * from "./location.js"
export * from "./send.js"
export * from "./timeouts.js"
