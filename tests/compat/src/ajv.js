// ajv with ajv-formats, bundled to CommonJS: compiles a JSON schema (ajv generates code with
// new Function) and validates the body.
import Ajv from "ajv";
import addFormats from "ajv-formats";

const ajv = new Ajv({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile({
  type: "object",
  required: ["id", "email", "when"],
  properties: {
    id: { type: "integer", minimum: 1 },
    email: { type: "string", format: "email" },
    when: { type: "string", format: "date-time" },
    tags: { type: "array", items: { type: "string" }, uniqueItems: true },
  },
  additionalProperties: false,
});

export const handler = async (event) => {
  const data = JSON.parse(event.body);
  const valid = validate(data);
  return {
    statusCode: valid ? 200 : 422,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ valid, errors: (validate.errors || []).map((e) => `${e.instancePath} ${e.message}`) }),
  };
};
