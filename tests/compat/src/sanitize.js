// sanitize-html (htmlparser2 and postcss inside), bundled to CommonJS.
import sanitizeHtml from "sanitize-html";

export const handler = async (event) => {
  const clean = sanitizeHtml(event.body, {
    allowedTags: sanitizeHtml.defaults.allowedTags.concat(["img"]),
    allowedAttributes: { a: ["href"], img: ["src", "alt"], "*": ["style"] },
    allowedStyles: { "*": { color: [/^red$/, /^#[0-9a-f]{3}$/] } },
    transformTags: { b: "strong" },
  });
  return { statusCode: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: clean };
};
