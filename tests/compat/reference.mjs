// The reference runner of the compatibility suite: runs one handler of cases.json under plain
// Node.js, as AWS Lambda's Node.js runtime (behind a function URL) or a Workers-style host would,
// and writes what each case answers as JSON. The suite compares Flint's answers with these.
//
//   node reference.mjs CASES_JSON HANDLER_NAME OUT_JSON
//
// Run it with the node binary Flint's runtime uses (third_party/node/bin/node), TZ=UTC and an
// environment holding only the function's variables, as the suite does.
//
// Output: {"requests": [ANSWER...], "events": [EVENT_RESULT...]}, one per case, in order:
//   ANSWER        {"status": N, "headers": [[name, value]...], "body_base64": "..."}
//                 or {"error": {"name": "...", "message": "..."}} when the handler failed
//   EVENT_RESULT  {"result": VALUE} or {"error": {...}}
// Lambda results become HTTP answers as function URLs make them (docs/handlers-js.md, "The
// result"); a fetch handler's Response is taken as it is.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [casesPath, name, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node reference.mjs CASES_JSON HANDLER_NAME OUT_JSON');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(casesPath, 'utf8')).handlers[name];
if (!spec) {
  console.error(`no handler '${name}' in ${casesPath}`);
  process.exit(2);
}
const dir = path.resolve(path.dirname(casesPath), spec.dir ?? `handlers/${name}`);

// The entry file, chosen as `flint deploy` chooses it: "entry" in cases.json, else package.json
// "main", else the first of the usual names.
function entryFile() {
  if (spec.entry) return spec.entry;
  const pkgPath = path.join(dir, 'package.json');
  if (existsSync(pkgPath)) {
    const main = JSON.parse(readFileSync(pkgPath, 'utf8')).main;
    if (main && existsSync(path.join(dir, main))) return main;
  }
  for (const candidate of ['index.mjs', 'index.js', 'index.cjs', 'handler.mjs', 'handler.js', 'main.mjs', 'main.js']) {
    if (existsSync(path.join(dir, candidate))) return candidate;
  }
  throw new Error(`no entry file in ${dir}`);
}

// True when `file` is an ES module under Node.js's rules (.mjs, or .js under "type": "module").
function isEsm(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type === 'module';
    if (d === path.dirname(d)) return false;
  }
}

async function loadHandler() {
  const file = path.join(dir, entryFile());
  let exports;
  if (isEsm(file)) {
    exports = await import(pathToFileURL(file).href);
  } else {
    exports = createRequire(file)(file);
  }
  if (typeof exports.handler === 'function') return { kind: 'lambda', fn: exports.handler };
  const dflt = exports.default;
  if (dflt && typeof dflt.fetch === 'function') return { kind: 'fetch', target: dflt };
  if (typeof dflt === 'function') return { kind: 'lambda', fn: dflt };
  throw new Error(`${file}: no handler`);
}

const fixedTime = 1700000000000;
let invocation = 0;

function lambdaContext() {
  invocation += 1;
  const deadline = Date.now() + (spec.timeout_ms ?? 3000);
  const requestId = `00000000-0000-4000-8000-${String(invocation).padStart(12, '0')}`;
  return {
    functionName: name,
    functionVersion: '1',
    memoryLimitInMB: '128',
    awsRequestId: requestId,
    requestId,
    invokedFunctionArn: `arn:flint:local:function:${name}`,
    logGroupName: `/flint/${name}`,
    logStreamName: `${name}/1`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// The function-URL event (payload format 2.0) for a request case, as docs/handlers-js.md
// describes Flint's.
function httpEvent(c) {
  const headers = { host: 'localhost' };
  const cookies = [];
  for (const [k, v] of Object.entries(c.headers ?? {})) {
    const key = k.toLowerCase();
    if (key === 'cookie') {
      for (const piece of v.split(';')) if (piece.trim()) cookies.push(piece.trim());
      continue;
    }
    headers[key] = headers[key] === undefined ? v : `${headers[key]},${v}`;
  }
  const rawQuery = c.query ?? '';
  const query = {};
  for (const piece of rawQuery.split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const decode = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
    const key = decode(eq < 0 ? piece : piece.slice(0, eq));
    const value = eq < 0 ? '' : decode(piece.slice(eq + 1));
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  }
  const body = bodyBytes(c);
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: c.path ?? '/',
    rawQueryString: rawQuery,
    headers,
    requestContext: {
      accountId: 'anonymous', apiId: name, domainName: 'localhost', domainPrefix: 'localhost',
      http: { method: c.method ?? 'GET', path: c.path ?? '/', protocol: 'HTTP/1.1',
              sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: 'reference', routeKey: '$default', stage: '$default',
      time: '14/Nov/2023:22:13:20 +0000', timeEpoch: fixedTime,
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  if (rawQuery) event.queryStringParameters = query;
  if (body) {
    const text = new TextDecoder('utf-8', { fatal: true });
    try {
      event.body = text.decode(body);
    } catch {
      event.body = Buffer.from(body).toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

function bodyBytes(c) {
  if (c.body_base64 !== undefined) return Buffer.from(c.body_base64, 'base64');
  if (c.body !== undefined) return Buffer.from(c.body, 'utf8');
  return null;
}

// Calls a Lambda handler as Lambda's runtime does: its promise or its callback, whichever
// answers first.
function callLambda(fn, event) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err, value) => {
      if (settled) return;
      settled = true;
      err ? reject(err) : resolve(value);
    };
    try {
      const out = fn(event, lambdaContext(), (err, value) => settle(err ?? null, value));
      if (out && typeof out.then === 'function') out.then((v) => settle(null, v), (e) => settle(e));
      else if (fn.length < 3) settle(null, out);
    } catch (e) {
      settle(e);
    }
  });
}

// A Lambda result as a function URL answers it.
function lambdaAnswer(result) {
  if (result === undefined) return { status: 200, headers: [], body: Buffer.alloc(0) };
  if (typeof result === 'string') {
    return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(result) };
  }
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const headers = Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]);
    for (const c of result.cookies ?? []) headers.push(['set-cookie', c]);
    const body = result.body === undefined ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
    return { status: result.statusCode, headers, body };
  }
  return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify(result)) };
}

async function fetchAnswer(target, c) {
  const url = `http://localhost${c.path ?? '/'}${c.query ? `?${c.query}` : ''}`;
  const method = c.method ?? 'GET';
  const body = bodyBytes(c);
  const request = new Request(url, {
    method,
    headers: c.headers ?? {},
    body: body && method !== 'GET' && method !== 'HEAD' ? body : undefined,
  });
  const waits = [];
  const ctx = { waitUntil: (p) => waits.push(p), passThroughOnException: () => {} };
  const response = await target.fetch(request, { ...(spec.env ?? {}) }, ctx);
  const bytes = Buffer.from(await response.arrayBuffer());
  await Promise.allSettled(waits);
  const headers = [];
  response.headers.forEach((v, k) => { if (k !== 'set-cookie') headers.push([k, v]); });
  for (const c of response.headers.getSetCookie()) headers.push(['set-cookie', c]);
  return { status: response.status, headers, body: bytes };
}

const errorOf = (e) => ({ error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } });

const handler = await loadHandler();
const out = { kind: handler.kind, requests: [], events: [] };
for (const c of spec.requests ?? []) {
  try {
    const a = handler.kind === 'fetch' ? await fetchAnswer(handler.target, c)
      : lambdaAnswer(await callLambda(handler.fn, httpEvent(c)));
    out.requests.push({ status: a.status, headers: a.headers, body_base64: a.body.toString('base64') });
  } catch (e) {
    out.requests.push(errorOf(e));
  }
}
for (const c of spec.events ?? []) {
  try {
    const result = await callLambda(handler.fn, structuredClone(c.event ?? {}));
    out.events.push({ result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (e) {
    out.events.push(errorOf(e));
  }
}
writeFileSync(outPath, JSON.stringify(out, null, 1));
// Handlers may leave timers behind (callbackWaitsForEmptyEventLoop = false): do not wait.
process.exit(0);
