// middy with its JSON body parser, header normaliser and HTTP error handler, bundled to
// CommonJS: the common Lambda middleware stack.
import middy from "@middy/core";
import httpJsonBodyParser from "@middy/http-json-body-parser";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import httpErrorHandler from "@middy/http-error-handler";
import createError from "http-errors";

const order = async (event) => {
  const { item, quantity } = event.body;
  if (!Number.isInteger(quantity) || quantity < 1) {
    throw createError(422, "quantity must be a positive integer", { expose: true });
  }
  return {
    statusCode: 201,
    headers: { "content-type": "application/json", "x-order-item": item },
    body: JSON.stringify({ item, quantity, total: quantity * 3.5,
                           contentType: event.headers["content-type"] }),
  };
};

export const handler = middy()
  .use(httpHeaderNormalizer())
  .use(httpJsonBodyParser())
  .use(httpErrorHandler({ logger: false }))
  .handler(order);
