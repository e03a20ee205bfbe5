// cheerio 1.x, bundled to CommonJS: scrapes an HTML page given in the body.
import * as cheerio from "cheerio";

export const handler = async (event) => {
  const $ = cheerio.load(event.body);
  const links = $("a[href]").map((i, a) => ({ text: $(a).text().trim(), href: $(a).attr("href") })).get();
  $("h1").addClass("title").text((i, t) => t.toUpperCase());
  return {
    title: $("title").text(),
    links,
    items: $("ul li").length,
    h1: $.html("h1"),
    text: $("p").first().text(),
  };
};
