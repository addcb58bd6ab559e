import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Layer } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import * as fs from "node:fs"
import * as util from "node:util"
const key = fs.readFileSync("/tmp/probe/key.pem"), cert = fs.readFileSync("/tmp/probe/cert.pem")
const key2 = fs.readFileSync("/tmp/probe/key2.pem"), cert2 = fs.readFileSync("/tmp/probe/cert2.pem")
const listen = (s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))
const h = (q, s) => { s.end("{}") }
const httpPort = await listen(Http.createServer(h))
const httpsPort = await listen(Https.createServer({ key, cert }, h))
const wrongPort = await listen(Https.createServer({ key: key2, cert: cert2 }, h))
const cases = {
  refused: "http://127.0.0.1:1/v2/",
  httpAsHttps: `https://127.0.0.1:${httpPort}/v2/`,
  httpsAsHttp: `http://127.0.0.1:${httpsPort}/v2/`,
  unknownCa: `https://127.0.0.1:${httpsPort}/v2/`,
  wrongName: `https://127.0.0.1:${wrongPort}/v2/`,
  notFound: `https://nonexistent.invalid/v2/`,
}
for (const [name, url] of Object.entries(cases)) {
  const r = await Effect.runPromise(Effect.flatMap(HttpClient.HttpClient, (c) => c.get(url, { headers: { authorization: "Basic SECRET" } })).pipe(
    Effect.flatMap((r) => Effect.map(r.text, (t) => ["ok", r.status, t])),
    Effect.either, Effect.provide(NodeHttpClient.layerUndici)))
  if (r._tag === "Right") { console.log(name, r.right); continue }
  const e = r.left
  console.log("=====", name, e._tag, e.reason)
  let c = e.cause; let d = 0
  while (c && d < 5) { console.log("  ", d, c.constructor?.name, c.code, c.message, Object.keys(c), c.socket); c = c.cause; d++ }
}
process.exit(0)
