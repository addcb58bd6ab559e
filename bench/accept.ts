/**
 * The `Accept` header a registry client sends for a manifest (OCI and Docker, images and indexes), shared by the
 * harness and the workers that HEAD or GET manifests. No imports: the bare-Node floor worker loads it too.
 */
export const manifestAccept = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json"
].join(", ")
