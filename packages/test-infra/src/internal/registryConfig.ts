/**
 * The `config.yml` of a test registry.
 *
 * @since 0.1.0
 */

/** @internal */
export interface RegistryConfig {
  readonly port: number
  readonly rootDirectory: string
  readonly secret: string
  readonly logLevel: "error" | "warn" | "info" | "debug"
  readonly accessLog: boolean
  readonly deleteEnabled: boolean
  readonly schema1Enabled: boolean
  readonly relativeUrls: boolean
  readonly tls?: { readonly certificate: string; readonly key: string } | undefined
  readonly htpasswd?: { readonly realm: string; readonly path: string } | undefined
  readonly token?:
    | {
      readonly realm: string
      readonly service: string
      readonly issuer: string
      readonly rootCertBundle: string
    }
    | undefined
}

// A JSON string is a valid YAML double-quoted scalar.
const q = (s: string) => JSON.stringify(s)

/**
 * Renders the configuration as YAML (distribution 2.8 keys).
 *
 * @internal
 */
export const render = (config: RegistryConfig): string => {
  const lines = [
    "version: 0.1",
    "log:",
    `  level: ${config.logLevel}`,
    "  formatter: text",
    "  accesslog:",
    `    disabled: ${!config.accessLog}`,
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(config.rootDirectory)}`,
    "  delete:",
    `    enabled: ${config.deleteEnabled}`,
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: ${q(`127.0.0.1:${config.port}`)}`,
    `  secret: ${q(config.secret)}`,
    `  relativeurls: ${config.relativeUrls}`
  ]
  if (config.tls !== undefined) {
    lines.push(
      "  tls:",
      `    certificate: ${q(config.tls.certificate)}`,
      `    key: ${q(config.tls.key)}`
    )
  }
  if (config.htpasswd !== undefined) {
    lines.push(
      "auth:",
      "  htpasswd:",
      `    realm: ${q(config.htpasswd.realm)}`,
      `    path: ${q(config.htpasswd.path)}`
    )
  } else if (config.token !== undefined) {
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${q(config.token.realm)}`,
      `    service: ${q(config.token.service)}`,
      `    issuer: ${q(config.token.issuer)}`,
      `    rootcertbundle: ${q(config.token.rootCertBundle)}`
    )
  }
  lines.push(
    "compatibility:",
    "  schema1:",
    `    enabled: ${config.schema1Enabled}`,
    "health:",
    "  storagedriver:",
    "    enabled: false",
    ""
  )
  return lines.join("\n")
}
