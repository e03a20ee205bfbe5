// qs and cookie, bundled to CommonJS: nested query strings, the event's cookies, and cookies
// set through the result's `cookies` (function-URL payload 2.0).
import qs from "qs";
import * as cookie from "cookie";

export const handler = async (event) => {
  const query = qs.parse(event.rawQueryString, { allowDots: true, depth: 5 });
  const jar = cookie.parse((event.cookies || []).join("; "));
  const visits = Number(jar.visits || 0) + 1;
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    cookies: [
      cookie.serialize("visits", String(visits), { httpOnly: true, path: "/", maxAge: 3600 }),
      cookie.serialize("theme", jar.theme || "light", { sameSite: "lax" }),
    ],
    body: JSON.stringify({ query, jar, visits,
                           back: qs.stringify(query, { encodeValuesOnly: true }) }),
  };
};
