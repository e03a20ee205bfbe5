// Invoking a function in a Flint Node.js worker, in either shape:
//   Lambda       handler(event, context[, callback]): async or callback style, with Lambda's
//                context (callbackWaitsForEmptyEventLoop, getRemainingTimeInMillis, ...); the
//                result is mapped in C++ as Lambda function URLs do.
//   Web-standard export default { fetch(request, env, ctx) }: a Request with the full URL,
//                method, headers and body; the Response's status, headers and body go back.
//                An event invocation calls `event(event, env, ctx)` if there is one, else
//                fetch() with a POST of the event's JSON.
// Every invocation runs inside io.current, ends in exactly one binding.finish*() call, and then
// has its timers cleared (io.endInvocation).
'use strict';

const io = require('./io.js');

const kHttp = 0;
const kEvent = 1;

let binding = null;
let afterFirst = null;  // called once, when the first invocation has ended
let fn = null;  // { shape, handler | target, env, name, version, memoryMb }
const invocations = new Map();

function init(b, onFirstEnded) {
  binding = b;
  afterFirst = onFirstEnded;
}

function setFunction(loaded, request) {
  fn = {
    ...loaded,
    env: { ...request.env },
    name: request.name,
    version: String(request.version),
    memoryMb: String(request.memoryMb),
    arn: `arn:flint:function:${request.name}:${request.version}`,
    logGroupName: `/flint/functions/${request.name}`,
    logStreamName: `${request.name}@${request.version}`,
  };
}

// --- ending an invocation --------------------------------------------------------------------

function end(inv) {
  if (inv.ended) return;
  inv.answered = true;
  invocations.delete(inv.id);
  io.endInvocation(inv);
  if (afterFirst !== null) {
    const first = afterFirst;
    afterFirst = null;
    first();
  }
}

function succeed(inv, value) {
  if (inv.answered) return;
  inv.answered = true;
  binding.finish(inv.id, value);
  end(inv);
}

function fail(inv, err) {
  if (inv.answered) return;
  inv.answered = true;
  if (err instanceof Error || (err !== null && typeof err === 'object' && 'stack' in err)) {
    binding.finishException(inv.id, err);
  } else {
    // callback('message') and throw 'message': Lambda reports the value as the message.
    let message;
    try {
      message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
    } catch {
      message = String(err);
    }
    binding.log(inv.id, io.Level.error, `Error: ${message}`);
    binding.finishError(inv.id, 500, 'Error', message);
  }
  end(inv);
}

// --- Lambda ----------------------------------------------------------------------------------

function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') &&
         typeof v.then === 'function';
}

function makeContext(inv) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: fn.version,
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: fn.memoryMb,
    awsRequestId: inv.requestId,
    requestId: inv.requestId,
    logGroupName: fn.logGroupName,
    logStreamName: fn.logStreamName,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(inv.deadline - performance.now())),
  };
}

function runLambda(inv, event) {
  const context = makeContext(inv);
  let called = false;
  const callback = (err, value) => {
    if (called || inv.answered) return;
    called = true;
    const settle = () => (err !== null && err !== undefined ? fail(inv, err) : succeed(inv, value));
    if (context.callbackWaitsForEmptyEventLoop) io.whenIdle(inv, settle);
    else settle();
  };
  context.done = callback;
  context.succeed = (value) => callback(null, value);
  context.fail = (err) => callback(err ?? new Error('context.fail() was called'));
  let returned;
  try {
    returned = fn.handler(event, context, callback);
  } catch (err) {
    fail(inv, err);
    return;
  }
  if (isThenable(returned)) {
    returned.then((value) => succeed(inv, value), (err) => fail(inv, err));
  } else if (fn.handler.length < 3) {
    // A synchronous handler's value; a callback-style one answers through its callback.
    succeed(inv, returned);
  }
}

// --- Web-standard ----------------------------------------------------------------------------

function makeExecutionContext(inv) {
  return {
    waitUntil(promise) {
      (inv.waitUntil ??= []).push(Promise.resolve(promise).catch((err) => {
        binding.log(inv.id, io.Level.error, `waitUntil: ${err && err.stack ? err.stack : err}`);
      }));
    },
    passThroughOnException() {},
  };
}

function toRequest(parts) {
  const headers = new Headers();
  for (let i = 0; i + 1 < parts.headers.length; i += 2) {
    try {
      headers.append(parts.headers[i], parts.headers[i + 1]);
    } catch {
      // A header Headers refuses (not a valid value for it) is left out.
    }
  }
  const init = { method: parts.method, headers };
  if (parts.body !== undefined && parts.method !== 'GET' && parts.method !== 'HEAD') {
    init.body = parts.body;
    init.duplex = 'half';
  }
  let url;
  try {
    url = new URL(parts.url).href;
  } catch {
    url = `http://localhost${new URL(parts.url, 'http://localhost').pathname}`;
  }
  return new Request(url, init);
}

async function answer(inv, response) {
  if (response === null || typeof response !== 'object' || typeof response.status !== 'number' ||
      response.headers === null || typeof response.headers !== 'object' ||
      typeof response.arrayBuffer !== 'function') {
    throw new TypeError('the fetch handler must return a Response, not ' +
                        (response === null ? 'null' : typeof response));
  }
  const body = response.body === null ? undefined : new Uint8Array(await response.arrayBuffer());
  const headers = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push(name, value);
  });
  if (typeof response.headers.getSetCookie === 'function') {
    for (const cookie of response.headers.getSetCookie()) headers.push('set-cookie', cookie);
  }
  if (inv.answered) return;
  inv.answered = true;
  binding.finishResponse(inv.id, response.status, headers, body);
  if (inv.waitUntil === undefined) {
    end(inv);
    return;
  }
  // Work handed to ctx.waitUntil() may finish after the response, within the deadline.
  const timer = io.node.setTimeout(() => end(inv), Math.max(0, inv.deadline - performance.now()));
  Promise.allSettled(inv.waitUntil).then(() => {
    io.node.clearTimeout(timer);
    end(inv);
  });
}

async function runFetch(inv, kind, payload) {
  try {
    const ctx = makeExecutionContext(inv);
    if (kind === kEvent) {
      if (typeof fn.target.event === 'function') {
        succeed(inv, await fn.target.event(payload, fn.env, ctx));
        return;
      }
      payload = {
        method: 'POST',
        url: `http://${fn.name}.flint/`,
        headers: ['content-type', 'application/json', 'x-flint-event', '1'],
        body: Buffer.from(JSON.stringify(payload)),
      };
    }
    const response = await fn.target.fetch(toRequest(payload), fn.env, ctx);
    await answer(inv, response);
  } catch (err) {
    fail(inv, err);
  }
}

// --- the bootstrap's callbacks ---------------------------------------------------------------

function run(inv, kind, payload) {
  if (fn.shape === 'fetch') runFetch(inv, kind, payload);
  else runLambda(inv, payload);
}

function invoke(id, kind, payload, requestId, timeoutMs) {
  const inv = new io.Invocation(id, requestId, timeoutMs);
  invocations.set(id, inv);
  io.current.run(inv, run, inv, kind, payload);
}

// The invocation timed out or was cancelled: nothing more is reported for it.
function drop(id) {
  const inv = invocations.get(id);
  if (inv !== undefined) end(inv);
}

// An exception nothing caught: it fails the invocation whose code threw it, if still pending.
function uncaught(err) {
  const inv = io.current.getStore();
  if (inv !== undefined && !inv.answered) {
    fail(inv, err);
    return;
  }
  binding.log(io.invocationId(), io.Level.error,
              `Uncaught ${err && err.stack ? err.stack : String(err)}`);
}

module.exports = { drop, init, invoke, kEvent, kHttp, setFunction, uncaught };
