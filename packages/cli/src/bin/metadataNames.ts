/**
 * The names of the commands the bin runs from `metadata.cjs` (`./metadata.js` bundled, compiled with its code
 * cache), known to the bin without loading it; a test checks that they are the commands of `./metadata.js`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category constants
 */
export const metadataNames: ReadonlyArray<string> = ["digest", "tags", "manifest", "config", "ping", "catalog"]
