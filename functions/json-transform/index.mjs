// json-transform: parses an order (see sample.json), computes per-item subtotals and the
// total, and returns a summary. The same computation as functions/json-transform-cpp.
import { summarize } from "./lib/orders.mjs";

export const handler = async (event) => {
  // Over HTTP the order is the request's body (text); as an event (--async, a schedule, a
  // topic) it is the event itself.
  let order = event;
  if (event?.requestContext?.http) {
    if (!event.body) {
      return { statusCode: 400, body: JSON.stringify({ error: "POST an order as JSON" }) };
    }
    const text = event.isBase64Encoded ? atob(event.body) : event.body;
    try {
      order = JSON.parse(text);
    } catch (e) {
      return { statusCode: 400, body: JSON.stringify({ error: `invalid JSON: ${e.message}` }) };
    }
  }
  if (!Array.isArray(order?.items)) {
    return { statusCode: 422, body: JSON.stringify({ error: "'items' must be an array" }) };
  }
  return summarize(order);
};
