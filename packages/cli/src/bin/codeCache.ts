/**
 * Loading a bundled CommonJS script with V8's code cache (issue 18): Node 20 compiles every module it loads
 * from source, which for the ~1 MB the metadata commands need is a large part of their start-up. The build
 * compiles the script once, runs its top level and then its commands, and writes what V8 compiled
 * (`<script>.cache`, {@link produce}); the bin compiles the script with it ({@link load}). V8 checks that a cache
 * fits the source, its own version and its flags, and ignores one that does not (another Node than the build's,
 * or V8 flags such as `--max-old-space-size`): the script is then compiled from source as usual. A missing or
 * unreadable cache is the same; nothing is ever written at run time.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import * as Vm from "node:vm"

interface CommonJsModule {
  exports: unknown
}

type Wrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: CommonJsModule,
  filename: string,
  dirname: string
) => void

// the script in a function as Node wraps a CommonJS module (the same text at build and at run time)
const wrap = (source: string): string => `(function (exports, require, module, __filename, __dirname) {${source}\n})`

/**
 * The script `file` wrapped as a CommonJS module, compiled with `cachedData` when V8 accepts it (see
 * `cachedDataRejected`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (file: string, cachedData: Buffer | undefined): Vm.Script =>
  new Vm.Script(wrap(Fs.readFileSync(file, "utf8")), {
    filename: file,
    ...(cachedData !== undefined ? { cachedData } : {})
  })

const evaluate = (script: Vm.Script, file: string): unknown => {
  const module: CommonJsModule = { exports: {} }
  const fn = script.runInThisContext() as Wrapper
  fn(module.exports, createRequire(file), module, file, Path.dirname(file))
  return module.exports
}

/**
 * The path of the code cache of `file`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const cachePath = (file: string): string => `${file}.cache`

/**
 * The exports of the CommonJS script `file`, compiled with its code cache when there is one that V8 accepts;
 * `undefined` when `file` cannot be read (the unbundled build has none).
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (file: string): unknown => {
  let cachedData: Buffer | undefined
  try {
    cachedData = Fs.readFileSync(cachePath(file))
  } catch {
    cachedData = undefined
  }
  let script: Vm.Script
  try {
    script = compile(file, cachedData)
  } catch {
    return undefined
  }
  return evaluate(script, file)
}

/**
 * Compiles `file`, runs its top level and then `warm` on its exports (so that what they compile is in the
 * cache), and returns V8's code cache of it (the build writes it to {@link cachePath}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const produce = async (file: string, warm: (exports: unknown) => Promise<void>): Promise<Buffer> => {
  const script = compile(file, undefined)
  await warm(evaluate(script, file))
  return script.createCachedData()
}
