// itty-router 5 (AutoRouter) as `export default { fetch }`, bundled to ESM.
import { AutoRouter, error, json, text } from "itty-router";

const router = AutoRouter();
const todos = [{ id: 1, title: "deploy to Flint", done: false }];

router
  .get("/todos", ({ query }) => todos.filter((t) => query.done === undefined || String(t.done) === query.done))
  .get("/todos/:id", ({ params }) => todos.find((t) => t.id === Number(params.id)) ?? error(404, "no such todo"))
  .post("/todos", async (request) => {
    const body = await request.json();
    return json({ id: 2, ...body }, { status: 201, headers: { location: "/todos/2" } });
  })
  .get("/hello/:name", ({ params }, env) => text(`${env.GREETING ?? "hello"}, ${params.name}`));

export default { fetch: router.fetch };
