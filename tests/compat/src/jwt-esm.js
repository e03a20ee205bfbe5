// jsonwebtoken (CommonJS, requires node:crypto) in an ESM bundle. As AWS CDK users do, the
// bundle starts with a banner that gives it a `require` (createRequire).
import jwt from "jsonwebtoken";
import { createHash } from "node:crypto";

export const handler = async (event) => {
  const token = jwt.sign({ sub: event.queryStringParameters?.sub ?? "anon", iat: 1700000000 },
                         "esm-secret", { algorithm: "HS384" });
  return {
    token,
    decoded: jwt.decode(token, { complete: true }),
    sha256: createHash("sha256").update(token).digest("hex"),
  };
};
