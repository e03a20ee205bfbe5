// The baseline for tools/bench: the same handler module Flint runs, served by a plain Node.js
// http server that builds a minimal Lambda function-URL event for it. Usage:
//   node node_baseline.mjs PORT path/to/handler.mjs
import http from "node:http";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [port, file] = process.argv.slice(2);
const mod = await import(pathToFileURL(path.resolve(file)).href);
const handler = mod.handler ?? mod.default;

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url, "http://localhost");
      const query = Object.fromEntries(url.searchParams);
      const body = Buffer.concat(chunks).toString("utf8");
      const event = {
        version: "2.0",
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers: req.headers,
        queryStringParameters: Object.keys(query).length ? query : undefined,
        requestContext: { http: { method: req.method, path: url.pathname } },
        body: body.length ? body : undefined,
        isBase64Encoded: false,
      };
      const context = { requestId: "bench", functionName: "bench", getRemainingTimeInMillis: () => 3000 };
      try {
        const r = await handler(event, context);
        if (r && typeof r === "object" && "statusCode" in r) {
          res.writeHead(r.statusCode, r.headers ?? {});
          res.end(r.body ?? "");
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(typeof r === "string" ? r : JSON.stringify(r));
        }
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  })
  .listen(+port, "127.0.0.1");
