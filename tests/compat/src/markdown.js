// marked and handlebars (which compiles templates with new Function), bundled to CommonJS and
// minified: renders a Markdown body into an HTML page.
import { marked } from "marked";
import Handlebars from "handlebars";

const page = Handlebars.compile(
  "<!doctype html><title>{{title}}</title><main>{{{content}}}</main><footer>{{#each tags}}[{{this}}]{{/each}}</footer>");

export const handler = async (event) => {
  const content = marked.parse(event.body, { gfm: true });
  const title = event.queryStringParameters?.title ?? "untitled";
  return {
    statusCode: 200,
    headers: { "content-type": "text/html; charset=utf-8" },
    body: page({ title, content, tags: ["md", "hbs"] }),
  };
};
