// js-yaml and fast-xml-parser, bundled to ESM: converts a YAML body to XML and back.
import * as yaml from "js-yaml";
import { XMLBuilder, XMLParser } from "fast-xml-parser";

export const handler = async (event) => {
  const doc = yaml.load(event.body);
  const xml = new XMLBuilder({ format: true, ignoreAttributes: false }).build({ config: doc });
  const back = new XMLParser({ ignoreAttributes: false, parseTagValue: true }).parse(xml);
  return {
    statusCode: 200,
    headers: { "content-type": "application/xml" },
    body: xml + "<!-- " + yaml.dump(back.config, { flowLevel: 1 }).trim().replace(/--/g, "") + " -->\n",
  };
};
