// jose 6 (WebCrypto: crypto.subtle), bundled to ESM. HS256 and Ed25519 signatures are
// deterministic; an ES256 key pair and an encrypted token are made fresh and checked by a
// round trip.
import * as jose from "jose";

const hmacKey = new TextEncoder().encode("a-32-byte-long-secret-for-hs256!");
const edJwk = {
  kty: "OKP", crv: "Ed25519",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
};

export const handler = async (event) => {
  const claims = JSON.parse(event.body || "{}");
  const hs = await new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(1700000000).setIssuer("flint").setExpirationTime(1700003600).sign(hmacKey);
  const hsCheck = await jose.jwtVerify(hs, hmacKey, { currentDate: new Date(1700000100000) });

  const edKey = await jose.importJWK(edJwk, "EdDSA");
  const ed = await new jose.SignJWT(claims).setProtectedHeader({ alg: "EdDSA" })
    .setIssuedAt(1700000000).sign(edKey);

  const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
  const es = await new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  const esCheck = await jose.jwtVerify(es, publicKey);
  const thumbprint = await jose.calculateJwkThumbprint(edJwk);

  const secret = new Uint8Array(32).fill(7);
  const jwe = await new jose.EncryptJWT(claims).setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .encrypt(secret);
  const opened = await jose.jwtDecrypt(jwe, secret);

  return { hs, hsPayload: hsCheck.payload, ed, thumbprint,
           es256: { alg: esCheck.protectedHeader.alg, payload: esCheck.payload },
           jwe: { parts: jwe.split(".").length, payload: opened.payload } };
};
