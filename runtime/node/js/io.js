// What a Flint Node.js worker changes in Node.js before any function code runs: the current
// invocation (an AsyncLocalStorage that follows timers, promises and I/O callbacks), console and
// process.stdout/stderr (to LOG frames, tagged with the invocation), timers (each invocation's
// are counted, bounded, and cleared when it ends) and process.env at LOAD.
'use strict';

const { AsyncLocalStorage } = require('async_hooks');
const timers = require('timers');
const util = require('util');
const { Writable } = require('stream');

// The invocation whose code is running: undefined while the module loads (and in callbacks it
// set up), which belong to no invocation.
const current = new AsyncLocalStorage();

const Level = { debug: 0, info: 1, warn: 2, error: 3 };

// Pending timers and immediates one invocation may hold at once. A million created and cleared
// in a row cost well under a second; the bound stops one that only adds (each holds memory).
const kMaxPendingTimers = 100000;

let binding = null;

const kNoHandles = new Set();  // shared, empty: an invocation's sets are made on first use

class Invocation {
  constructor(id, requestId, timeoutMs) {
    this.id = id;
    this.requestId = requestId;
    this.deadline = performance.now() + timeoutMs;
    this.answered = false;  // its RESULT is out (or it expired, or was cancelled)
    this.ended = false;     // and what it left behind is cleared
    this.timeouts = kNoHandles;
    this.immediates = kNoHandles;
    this.waitUntil = undefined;
  }
}

function invocationId() {
  const inv = current.getStore();
  return inv === undefined ? 0 : inv.id;
}

function log(level, text) {
  binding.log(invocationId(), level, text);
}

// --- console, process.stdout and process.stderr ----------------------------------------------

function installConsole() {
  const format = (args) => util.formatWithOptions({ colors: false }, ...args);
  const at = (level) => function (...args) {
    binding.log(invocationId(), level, format(args));
  };
  console.log = at(Level.info);
  console.info = at(Level.info);
  console.debug = at(Level.debug);
  console.warn = at(Level.warn);
  console.error = at(Level.error);
  console.trace = function trace(...args) {
    const err = { name: 'Trace', message: format(args) };
    Error.captureStackTrace(err, trace);
    binding.log(invocationId(), Level.error, err.stack);
  };
  console.dir = function dir(value, options) {
    binding.log(invocationId(), Level.info, util.inspect(value, { ...options, colors: false }));
  };
}

// A Writable whose complete lines become LOG frames; a line still open when its invocation ends
// is sent then.
function lineStream(level, fd) {
  let partial = '';
  let partialOwner = 0;
  const stream = new Writable({
    decodeStrings: false,
    write(chunk, encoding, callback) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const id = invocationId();
      if (partial !== '' && partialOwner !== id) {
        binding.log(partialOwner, level, partial);
        partial = '';
      }
      const lines = (partial + text).split('\n');
      partial = lines.pop();
      partialOwner = id;
      for (const line of lines) binding.log(id, level, line);
      callback();
    },
  });
  stream.fd = fd;
  stream.isTTY = false;
  stream.flushLine = (id) => {
    if (partial !== '' && partialOwner === id) {
      binding.log(id, level, partial);
      partial = '';
    }
  };
  return stream;
}

let stdout = null;
let stderr = null;

function installStdio() {
  stdout = lineStream(Level.info, 1);
  stderr = lineStream(Level.error, 2);
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: false, get: () => stdout });
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: false, get: () => stderr });
}

// --- timers ------------------------------------------------------------------------------------

const node = {
  setTimeout: timers.setTimeout,
  clearTimeout: timers.clearTimeout,
  setInterval: timers.setInterval,
  clearInterval: timers.clearInterval,
  setImmediate: timers.setImmediate,
  clearImmediate: timers.clearImmediate,
};

function prune(set) {
  for (const handle of set) {
    if (handle._destroyed) set.delete(handle);
  }
}

// Throws if `inv` may not add another timer.
function checkRoom(inv) {
  if (inv.timeouts.size + inv.immediates.size < kMaxPendingTimers) return;
  prune(inv.timeouts);
  prune(inv.immediates);
  if (inv.timeouts.size + inv.immediates.size < kMaxPendingTimers) return;
  throw new RangeError(`too many pending timers: an invocation may have at most ` +
                       `${kMaxPendingTimers} timers and immediates pending at once`);
}

function installTimers() {
  function setTimeout(callback, delay, ...args) {
    const inv = current.getStore();
    if (inv === undefined) return node.setTimeout(callback, delay, ...args);
    checkRoom(inv);
    const t = node.setTimeout(callback, delay, ...args);
    // A timer set by an invocation that already ended would outlive it: it never runs.
    if (inv.ended) node.clearTimeout(t);
    else (inv.timeouts === kNoHandles ? (inv.timeouts = new Set()) : inv.timeouts).add(t);
    return t;
  }
  function setInterval(callback, delay, ...args) {
    const inv = current.getStore();
    if (inv === undefined) return node.setInterval(callback, delay, ...args);
    checkRoom(inv);
    const t = node.setInterval(callback, delay, ...args);
    if (inv.ended) node.clearInterval(t);
    else (inv.timeouts === kNoHandles ? (inv.timeouts = new Set()) : inv.timeouts).add(t);
    return t;
  }
  function setImmediate(callback, ...args) {
    const inv = current.getStore();
    if (inv === undefined) return node.setImmediate(callback, ...args);
    checkRoom(inv);
    const t = node.setImmediate(callback, ...args);
    if (inv.ended) node.clearImmediate(t);
    else (inv.immediates === kNoHandles ? (inv.immediates = new Set()) : inv.immediates).add(t);
    return t;
  }
  // Node.js's own functions keep their promisified forms (util.promisify(setTimeout)).
  for (const [ours, theirs] of [[setTimeout, node.setTimeout], [setInterval, node.setInterval],
    [setImmediate, node.setImmediate]]) {
    Object.defineProperty(ours, util.promisify.custom, {
      value: theirs[util.promisify.custom], configurable: true,
    });
  }
  for (const [name, fn] of Object.entries({ setTimeout, setInterval, setImmediate })) {
    globalThis[name] = fn;
    timers[name] = fn;
  }
}

// Clears what `inv` left pending and sends its open output lines.
function endInvocation(inv) {
  inv.ended = true;
  for (const t of inv.timeouts) node.clearTimeout(t);
  for (const t of inv.immediates) node.clearImmediate(t);
  inv.timeouts = kNoHandles;
  inv.immediates = kNoHandles;
  if (stdout !== null) {
    stdout.flushLine(inv.id);
    stderr.flushLine(inv.id);
  }
}

// Calls `done` once `inv` has no timer or immediate pending (Lambda's
// callbackWaitsForEmptyEventLoop, for what Flint can see of the loop).
function whenIdle(inv, done) {
  const check = () => {
    prune(inv.timeouts);
    prune(inv.immediates);
    if (inv.timeouts.size === 0 && inv.immediates.size === 0) done();
    else node.setTimeout(check, 1);
  };
  node.setImmediate(check);
}

// --- process.env at LOAD ---------------------------------------------------------------------

const kKeptEnv = new Set(['PATH', 'LANG', 'HOME', 'TZ']);

function setEnvironment(env, codeDir) {
  for (const name of Object.keys(process.env)) {
    if (!kKeptEnv.has(name)) delete process.env[name];
  }
  Object.assign(process.env, env);
  process.env.LAMBDA_TASK_ROOT = codeDir;
}

function install(b) {
  binding = b;
  installConsole();
  installStdio();
  installTimers();
}

module.exports = {
  Invocation, Level, current, endInvocation, install, invocationId, kMaxPendingTimers, log,
  node, setEnvironment, whenIdle,
};
