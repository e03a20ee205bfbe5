// jsonwebtoken, bundled to CommonJS (the AWS CDK's default). Signs and verifies an HS256 token;
// iat is fixed so the token is the same on every run.
import jwt from "jsonwebtoken";

const secret = process.env.JWT_SECRET || "compat-secret";

export const handler = async (event) => {
  const claims = JSON.parse(event.body || "{}");
  const token = jwt.sign({ ...claims, iat: 1700000000 }, secret, {
    algorithm: "HS256",
    expiresIn: "1h",
    issuer: "flint-compat",
  });
  const decoded = jwt.verify(token, secret, { clockTimestamp: 1700000100 });
  let expired;
  try {
    jwt.verify(token, secret, { clockTimestamp: 1700999999 });
  } catch (e) {
    expired = `${e.name}: ${e.message}`;
  }
  let tampered;
  try {
    jwt.verify(token.slice(0, -2) + "xx", secret, { clockTimestamp: 1700000100 });
  } catch (e) {
    tampered = `${e.name}: ${e.message}`;
  }
  return { statusCode: 200, headers: { "content-type": "application/json" },
           body: JSON.stringify({ token, decoded, expired, tampered }) };
};
