import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

// Tests import the workspace packages by name; resolve them to their sources so that
// a test run does not depend on a previous build.
const config: ViteUserConfig = {
  resolve: {
    alias: [
      {
        find: /^@effect-registry\/([a-z-]+)$/,
        replacement: path.join(root, "packages/$1/src/index.ts")
      },
      {
        find: /^@effect-registry\/([a-z-]+)\/(.+)$/,
        replacement: path.join(root, "packages/$1/src/$2.ts")
      }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [path.join(root, "vitest.setup.ts")],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fakeTimers: { toFake: undefined }
  }
}

export default config
