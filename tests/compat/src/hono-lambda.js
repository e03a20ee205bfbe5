// Hono through its AWS Lambda adapter (hono/aws-lambda), bundled to CommonJS.
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import { HTTPException } from "hono/http-exception";

const app = new Hono();
app.use("*", async (c, next) => {
  await next();
  c.header("x-powered-by", "hono");
});
app.get("/hello/:name", (c) => c.json({ hello: c.req.param("name"), q: c.req.query("q") ?? null }));
app.post("/echo", async (c) => {
  const body = await c.req.json();
  return c.json({ received: body, type: c.req.header("content-type") }, 201);
});
app.get("/text", (c) => c.text("plain text from hono"));
app.get("/fail", () => { throw new HTTPException(418, { message: "teapot" }); });
app.notFound((c) => c.json({ error: "not found", path: c.req.path }, 404));

export const handler = handle(app);
