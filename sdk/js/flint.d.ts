// TypeScript types for Flint JavaScript handlers (see sdk/js/README.md and docs/handlers-js.md).
//
//   import type { Handler } from "./flint";
//   export const handler: Handler = async (event, context) => ({ statusCode: 200, body: "hi" });

/** The event of an HTTP invocation: a Lambda function-URL event, payload format 2.0. */
export interface HttpEvent {
  version: "2.0";
  routeKey: "$default";
  /** The path after /fn/NAME, always starting with "/". */
  rawPath: string;
  /** The query string without "?", as received (still encoded). */
  rawQueryString: string;
  /** The cookie header split into "name=value" pieces; absent when there are none. */
  cookies?: string[];
  /** Lower-case header names; a repeated header's values joined with ",". No "cookie". */
  headers: Record<string, string>;
  /** Decoded query parameters; repeated names joined with ","; absent without a query. */
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: "anonymous";
    /** The function's name. */
    apiId: string;
    /** The request's Host without the port, or "localhost". */
    domainName: string;
    domainPrefix: string;
    http: {
      method: string;
      path: string;
      protocol: "HTTP/1.1";
      sourceIp: string;
      userAgent: string;
    };
    requestId: string;
    routeKey: "$default";
    stage: "$default";
    /** "12/Mar/2024:19:03:58 +0000" */
    time: string;
    /** Milliseconds since the epoch when flintd received the request. */
    timeEpoch: number;
  };
  /** Absent when the request has no body. Base64 when isBase64Encoded. */
  body?: string;
  /** True when the body was not valid UTF-8 and is passed as base64. */
  isBase64Encoded: boolean;
}

/** The event of an asynchronous invocation (queue, cron, topic): its parsed JSON. */
export type AsyncEvent = unknown;

export interface Context {
  requestId: string;
  awsRequestId: string;
  functionName: string;
  /** The version number, as a string. */
  functionVersion: string;
  invokedFunctionArn: string;
  /** The memory size in MB, as a string (as on Lambda). */
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  /** Always false: Flint never waits for the event loop to empty. */
  callbackWaitsForEmptyEventLoop: boolean;
  /** Milliseconds left before the invocation times out. */
  getRemainingTimeInMillis(): number;
}

/** A full HTTP response, as for Lambda function URLs. */
export interface HttpResult {
  /** An integer from 100 to 599. */
  statusCode: number;
  /** Values are converted to strings; names are sent lower-case. */
  headers?: Record<string, string | number | boolean>;
  /** Each becomes one set-cookie header. */
  cookies?: string[];
  /** Must be a string (JSON.stringify objects yourself). */
  body?: string;
  /** When true, body is base64 and is decoded to bytes before it is sent. */
  isBase64Encoded?: boolean;
}

/**
 * What a handler may return: an HttpResult; a string (sent as-is with content-type
 * application/json); undefined (200, empty body); or any other JSON-serialisable value (sent
 * as JSON with status 200).
 */
export type Result = HttpResult | string | number | boolean | null | undefined | object;

export type Handler<E = HttpEvent, R = Result> = (event: E, context: Context) => R | Promise<R>;
export type HttpHandler = Handler<HttpEvent, Result>;
export type AsyncHandler<E = AsyncEvent> = Handler<E, unknown>;

/** The subset of `process` Flint provides. */
export interface FlintProcess {
  env: Record<string, string>;
  platform: "linux";
  arch: "x64";
  version: string;
  versions: { flint: string; v8: string };
  argv: string[];
  nextTick(callback: (...args: unknown[]) => void, ...args: unknown[]): void;
}

declare global {
  // eslint-disable-next-line no-var
  var process: FlintProcess;
}
