// The Node.js side of tools/bench/vs-node.sh: a plain Node.js `http` server running the same
// handler logic as the Flint functions it is compared with, on one port:
//   GET  /hello[?name=N]  "Hello, N!\n" as text/plain (functions/hello)
//   POST /json            the order summary of functions/json-transform (its own lib module)
// Usage: node node_server.mjs PORT
import http from "node:http";
import { summarize } from "../../functions/json-transform/lib/orders.mjs";

const port = Number(process.argv[2]);

function hello(req, res) {
  const q = req.url.indexOf("?");
  const name = q < 0 ? "world" : (new URLSearchParams(req.url.slice(q + 1)).get("name") ?? "world");
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(`Hello, ${name}!\n`);
}

function json(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let order;
    try {
      order = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `invalid JSON: ${e.message}` }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(summarize(order)));
  });
}

http
  .createServer((req, res) => (req.url.startsWith("/json") ? json(req, res) : hello(req, res)))
  .listen(port, "127.0.0.1");
