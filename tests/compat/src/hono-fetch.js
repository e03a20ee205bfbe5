// Hono as a Workers-style fetch handler (`export default app`), bundled to ESM, with its etag
// (crypto.subtle), CORS and basic-auth middleware, env and a streamed response.
import { Hono } from "hono";
import { etag } from "hono/etag";
import { cors } from "hono/cors";
import { basicAuth } from "hono/basic-auth";
import { stream } from "hono/streaming";

const app = new Hono();
app.use("/api/*", cors({ origin: "https://example.com" }));
app.use("/etag/*", etag());
app.use("/admin/*", basicAuth({ username: "ada", password: "lovelace" }));

app.get("/api/items/:id", (c) => c.json({ id: Number(c.req.param("id")), sort: c.req.query("sort") ?? "asc" }));
app.post("/api/items", async (c) => c.json({ created: await c.req.json() }, 201));
app.get("/etag/doc", (c) => c.text("a document with an entity tag"));
app.get("/admin/panel", (c) => c.text("welcome, admin"));
app.get("/env", (c) => c.json({ greeting: c.env?.GREETING ?? null }));
app.get("/stream", (c) => stream(c, async (s) => {
  for (let i = 0; i < 3; i++) await s.write(`chunk ${i}\n`);
}));
app.get("/redirect", (c) => c.redirect("/api/items/1", 302));

export default app;
