// uuid 14 (an ESM-only package), bundled to ESM: name-based ids are the same on every run,
// random and time-based ones are checked for shape.
import { v4, v5, v7, validate, version, parse, stringify, NIL } from "uuid";

export const handler = async (event) => {
  const name = event.queryStringParameters?.name ?? "flint";
  const id4 = v4();
  const id7 = v7();
  return {
    v5dns: v5(name + ".example.com", v5.DNS),
    v5url: v5("https://example.com/" + name, v5.URL),
    v4: { valid: validate(id4), version: version(id4) },
    v7: { valid: validate(id7), version: version(id7) },
    roundTrip: stringify(parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
    nil: NIL,
    invalid: validate("not-a-uuid"),
  };
};
