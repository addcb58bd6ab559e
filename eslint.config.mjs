import effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

const runEffect = ["runPromise", "runSync", "runFork", "runPromiseExit", "runSyncExit", "runCallback"]

// The library packages never depend on the command line nor on this repository's private test servers.
const libraryImportPatterns = [
  {
    group: ["@effect-registry/cli", "@effect-registry/cli/*", "@effect/cli", "@effect/cli/*"],
    message: "library packages must not depend on the CLI: move the logic into the library, the flags into packages/cli"
  },
  {
    group: ["@effect-registry/test-infra", "@effect-registry/test-infra/*"],
    message: "@effect-registry/test-infra is private to this repository's tests"
  }
]

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/build/**",
      "**/node_modules/**",
      "**/.tsbuildinfo/**",
      "docs/**",
      "bench/.data/**",
      "**/.docs-check/**",
      "**/.examples-check/**"
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    plugins: { "@effect": effect },
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: "module" } },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-invalid-void-type": "off",
      "@typescript-eslint/unified-signatures": "off",
      "@typescript-eslint/no-dynamic-delete": "off",
      "no-constant-condition": "off",
      "require-yield": "off",
      "no-control-regex": "off",
      // TypeScript checks undefined names itself (and knows Node's globals where a package uses them).
      "no-undef": "off"
    }
  },
  {
    // Library code: no console, never runs effects, never throws.
    files: ["packages/*/src/**/*.ts"],
    ignores: ["packages/cli/src/bin/**"],
    rules: {
      "no-console": "error",
      "no-throw-literal": "error",
      "no-restricted-syntax": ["error", {
        selector: "ThrowStatement",
        message: "Library code never throws: fail with a typed error."
      }],
      "no-restricted-properties": [
        "error",
        ...runEffect.map((property) => ({
          object: "Effect",
          property,
          message: "Library code never runs effects."
        }))
      ]
    }
  },
  {
    files: ["packages/node/src/**/*.ts", "packages/signing/src/**/*.ts", "packages/testing/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: libraryImportPatterns }]
    }
  },
  {
    // Core runs wherever an HttpClient is provided: no Node modules.
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["node:*"], message: "core must not import node: modules" }, ...libraryImportPatterns],
        paths: [
          "fs",
          "path",
          "crypto",
          "http",
          "https",
          "os",
          "child_process",
          "stream",
          "buffer",
          "url",
          "util",
          "net",
          "tls"
        ]
          .map((name) => ({ name, message: "core must not import Node modules" }))
      }]
    }
  }
)
