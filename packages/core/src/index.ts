/**
 * @since 0.1.0
 */
export * as RegistryError from "./RegistryError.js"
/**
 * @since 0.1.0
 */
export * as Digest from "./Digest.js"
/**
 * @since 0.1.0
 */
export * as Hash from "./Hash.js"
/**
 * @since 0.1.0
 */
export * as MediaType from "./MediaType.js"
/**
 * @since 0.1.0
 */
export * as Descriptor from "./Descriptor.js"
/**
 * @since 0.1.0
 */
export * as Platform from "./Platform.js"
/**
 * @since 0.1.0
 */
export * as Manifest from "./Manifest.js"
/**
 * @since 0.1.0
 */
export * as Challenge from "./Challenge.js"
/**
 * @since 0.1.0
 */
export * as Credentials from "./Credentials.js"
/**
 * @since 0.1.0
 */
export * as AuthService from "./AuthService.js"
/**
 * @since 0.1.0
 */
export * as Reference from "./Reference.js"
/**
 * @since 0.1.0
 */
export * as ManifestBuilder from "./ManifestBuilder.js"

/**
 * @since 0.1.0
 */
export * as BlobSource from "./BlobSource.js"

/**
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 */
export * as RegistryClient from "./RegistryClient.js"

/**
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"

/**
 * @since 0.2.0
 */
export * as ProgressTally from "./ProgressTally.js"

/**
 * @since 0.2.0
 */
export * as CopyGraph from "./CopyGraph.js"

/**
 * @since 0.1.0
 */
export * as ImageCopy from "./ImageCopy.js"

/**
 * @since 0.2.0
 */
export * as RateLimit from "./RateLimit.js"

/**
 * @since 0.2.0
 */
export * as Retag from "./Retag.js"

/**
 * @since 0.2.0
 */
export * as ImageValidate from "./ImageValidate.js"

/**
 * @since 0.2.0
 */
export * as RepositorySync from "./RepositorySync.js"

/**
 * @since 0.2.0
 */
export * as IndexEdit from "./IndexEdit.js"
