// nanoid 5 (ESM-only, random bytes from node:crypto), bundled to ESM: ids are random, so only
// their shape is returned.
import { nanoid, customAlphabet } from "nanoid";

const orderId = customAlphabet("0123456789ABCDEF", 12);

export const handler = async (event) => {
  const n = Number(event.queryStringParameters?.n ?? 5);
  const ids = Array.from({ length: n }, () => nanoid());
  const orders = Array.from({ length: n }, () => orderId());
  return {
    count: ids.length,
    unique: new Set(ids).size === ids.length,
    shape: ids.every((id) => /^[A-Za-z0-9_-]{21}$/.test(id)),
    short: nanoid(8).length,
    orders: orders.every((id) => /^[0-9A-F]{12}$/.test(id)),
  };
};
