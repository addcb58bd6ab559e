// Prints the closing line of a test run from vitest's JSON report: "tests: N passed, N failed".
// Exits non-zero when the report is missing, when a test failed, or when no test ran.
import { readFileSync } from "node:fs"

const file = process.argv[2]
let report
try {
  report = JSON.parse(readFileSync(file, "utf8"))
} catch (error) {
  console.error(`no test report at ${file}: ${error.message}`)
  process.exit(1)
}
const passed = report.numPassedTests ?? 0
const failed = report.numFailedTests ?? 0
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
const suitesFailed = report.numFailedTestSuites ?? 0
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
if (failed > 0 || suitesFailed > 0 || passed === 0 || skipped > 0) {
  if (skipped > 0) console.error("skipped tests are not allowed")
  if (suitesFailed > 0) console.error(`${suitesFailed} test files failed to run`)
  process.exit(1)
}
