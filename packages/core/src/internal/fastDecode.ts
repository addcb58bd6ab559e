/**
 * Decoding parsed JSON with a `Schema` in time proportional to the input, at a cost per value close to a
 * hand-written check, and stopping at the first problem.
 *
 * `Schema.decodeUnknown` costs a few microseconds per value it visits: a 4 MiB manifest of small
 * descriptors or annotations holds hundreds of thousands of values, which is hundreds of milliseconds of
 * blocked event loop. This walks the schema's AST itself for the node kinds the manifest schemas are made
 * of (literals, keywords, structs with index signatures, arrays, unions, refinements) and hands any other
 * node, with its part of the input only, to `Schema`. A value that passes is returned as it is (the
 * schemas of this package preserve excess properties, so `Schema` would build an equal copy). A
 * transformation whose input already passes its target side is taken as the identity; otherwise that part
 * of the input is decoded by `Schema` and put in its place: the input is updated in place, so pass a value
 * nobody else holds (what `JSON.parse` returned). Copying instead would cost as much as the decoding on
 * an object of a hundred thousand keys. The property tests hold both decoders to the same answers.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as SchemaAST from "effect/SchemaAST"

/**
 * Where decoding stopped and why.
 *
 * @since 0.1.0
 */
export interface Problem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly issue: ParseResult.ParseIssue
}

interface State {
  readonly path: Array<PropertyKey>
  problem: ParseResult.ParseIssue | undefined
}

const options = { errors: "first", onExcessProperty: "preserve" } as const

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const fail = (st: State, issue: ParseResult.ParseIssue): undefined => {
  st.problem = issue
  return undefined
}

// `undefined` is returned both for a problem (st.problem set) and for a decoded `undefined`.
const viaSchema = (ast: AST.AST, u: unknown, st: State): unknown => {
  const result = ParseResult.decodeUnknownEither(Schema.make(ast), options)(u)
  return Either.isRight(result) ? result.right : fail(st, result.left)
}

// The input is updated in place where `Schema` decodes a part of it differently (see `decode`).
const typeLiteral = (ast: AST.TypeLiteral, u: unknown, st: State): unknown => {
  if (!isRecord(u)) return fail(st, new ParseResult.Type(ast, u))
  const target: Record<string, unknown> = u
  for (const ps of ast.propertySignatures) {
    if (typeof ps.name !== "string" || !Object.hasOwn(target, ps.name)) {
      if (ps.isOptional) continue
      st.path.push(ps.name)
      return fail(st, new ParseResult.Missing(new SchemaAST.Type(ps.type)))
    }
    const v = target[ps.name]
    st.path.push(ps.name)
    const d = go(ps.type, v, st)
    if (st.problem !== undefined) return undefined
    st.path.pop()
    if (d !== v) target[ps.name] = d
  }
  for (const is of ast.indexSignatures) {
    if (is.type._tag === "UnknownKeyword" || is.type._tag === "AnyKeyword") continue
    if (is.parameter._tag !== "StringKeyword") return viaSchema(ast, u, st)
    const known = new Set<PropertyKey>(ast.propertySignatures.map((ps) => ps.name))
    for (const key of Object.keys(target)) {
      if (known.has(key)) continue
      const v = target[key]
      st.path.push(key)
      const d = go(is.type, v, st)
      if (st.problem !== undefined) return undefined
      st.path.pop()
      if (d !== v) target[key] = d
    }
  }
  return u
}

const tupleType = (ast: AST.TupleType, u: unknown, st: State): unknown => {
  if (ast.elements.length > 0 || ast.rest.length !== 1) return viaSchema(ast, u, st)
  if (!Array.isArray(u)) return fail(st, new ParseResult.Type(ast, u))
  const target: Array<unknown> = u
  const item = ast.rest[0].type
  for (let i = 0; i < target.length; i++) {
    const v = target[i]
    st.path.push(i)
    const d = go(item, v, st)
    if (st.problem !== undefined) return undefined
    st.path.pop()
    if (d !== v) target[i] = d
  }
  return u
}

const union = (ast: AST.Union, u: unknown, st: State): unknown => {
  const depth = st.path.length
  let first: { readonly issue: ParseResult.ParseIssue; readonly path: ReadonlyArray<PropertyKey> } | undefined
  for (const member of ast.types) {
    const d = go(member, u, st)
    if (st.problem === undefined) return d
    first ??= { issue: st.problem, path: st.path.slice(depth) }
    st.problem = undefined
    st.path.length = depth
  }
  if (first === undefined) return fail(st, new ParseResult.Type(ast, u))
  // a member that is a plain type says little ("expected null"); the union's name says more
  if (first.path.length === 0 && first.issue._tag === "Type" && first.issue.message === undefined) {
    return fail(st, new ParseResult.Type(ast, u))
  }
  st.path.push(...first.path)
  return fail(st, first.issue)
}

const go = (ast: AST.AST, u: unknown, st: State): unknown => {
  switch (ast._tag) {
    case "Literal":
      return u === ast.literal ? u : fail(st, new ParseResult.Type(ast, u))
    case "StringKeyword":
      return typeof u === "string" ? u : fail(st, new ParseResult.Type(ast, u))
    case "NumberKeyword":
      return typeof u === "number" ? u : fail(st, new ParseResult.Type(ast, u))
    case "BooleanKeyword":
      return typeof u === "boolean" ? u : fail(st, new ParseResult.Type(ast, u))
    case "UndefinedKeyword":
      return u === undefined ? u : fail(st, new ParseResult.Type(ast, u))
    case "UnknownKeyword":
    case "AnyKeyword":
      return u
    case "TypeLiteral":
      return typeLiteral(ast, u, st)
    case "TupleType":
      return tupleType(ast, u, st)
    case "Union":
      return union(ast, u, st)
    case "Refinement": {
      const d = go(ast.from, u, st)
      if (st.problem !== undefined) return undefined
      const issue = ast.filter(d, options, ast)
      return Option.isSome(issue) ? fail(st, issue.value) : d
    }
    case "Transformation": {
      const from = go(ast.from, u, st)
      if (st.problem !== undefined) return undefined
      const depth = st.path.length
      const to = go(ast.to, from, st)
      if (st.problem === undefined && to === from) return to
      st.problem = undefined
      st.path.length = depth
      return viaSchema(ast, u, st)
    }
    default:
      return viaSchema(ast, u, st)
  }
}

/**
 * Decodes `u` with `schema`, stopping at the first problem. `u` may be updated in place (see above).
 *
 * @since 0.1.0
 */
export const decode = <A, I>(schema: Schema.Schema<A, I>) => (u: unknown): Either.Either<A, Problem> => {
  const st: State = { path: [], problem: undefined }
  const value = go(schema.ast, u, st)
  if (st.problem !== undefined) return Either.left({ path: st.path, issue: st.problem })
  // `go` returns the input, or `Schema`'s own output for the parts it decoded: a value of `A`.
  return Either.right(value as A)
}
