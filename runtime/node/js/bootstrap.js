// Flint's bootstrap for Node.js workers: the main script flint-worker runs with node.
//
//   node [flags] bootstrap.js --fd 3 [--code-fd N --code-root DIR]
//
// It pre-warms what functions commonly need (the built-ins, fetch and WebCrypto, the CommonJS
// and ES module loaders), replaces console, stdout/stderr and the timers (io.js), then hands
// the worker protocol to Flint's addon (flint_node.node), which sends HELLO: the worker is then
// generic and ready, and a cold start costs only the function's own code. The addon calls back
// load(), invoke(), expire() and cancel().
'use strict';

const binding = require('./flint_node.node');
const io = require('./io.js');
const invoke = require('./invoke.js');
const load = require('./load.js');

function parseArgs(argv) {
  const args = { fd: 3, codeFd: -1, codeRoot: '' };
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--fd') args.fd = Number(value);
    else if (argv[i] === '--code-fd') args.codeFd = Number(value);
    else if (argv[i] === '--code-root') args.codeRoot = value;
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
process.argv = [process.execPath, __filename];

// The built-ins Lambda functions use most, loaded now rather than in a cold start.
const kPreloaded = [
  'assert', 'buffer', 'child_process', 'crypto', 'dns', 'events', 'fs', 'fs/promises', 'http',
  'https', 'net', 'os', 'path', 'querystring', 'stream', 'stream/promises', 'stream/web',
  'string_decoder', 'timers', 'timers/promises', 'tls', 'url', 'util', 'zlib',
];

async function preWarm() {
  for (const name of kPreloaded) require(name);
  // Globals Node.js loads on first use.
  const request = new Request('http://localhost/warm-up', {
    method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' },
  });
  await request.text();
  const response = new Response(JSON.stringify({ ok: true }), {
    status: 200, headers: { 'content-type': 'application/json' },
  });
  await response.arrayBuffer();
  void new FormData();
  void new Blob(['x']);
  void new AbortController();
  void structuredClone({ a: [1] });
  await crypto.subtle.digest('SHA-256', new TextEncoder().encode('warm-up'));
  require('crypto').createHash('sha256').update('warm-up').digest('hex');
  require('zlib').gzipSync('warm-up');
  // The ES module loader (its first import is the slow one).
  await import('data:text/javascript,export default 1');
}

function start() {
  io.install(binding);
  // After the first invocation: V8's code cache for later workers of this function.
  invoke.init(binding, () => {
    io.node.setImmediate(() => io.current.exit(() => load.sendCodeCache(binding)));
  });
  process.on('uncaughtException', (err) => invoke.uncaught(err));
  process.on('unhandledRejection', (reason) => {
    io.log(io.Level.error, `Unhandled promise rejection: ${reason && reason.stack ? reason.stack : String(reason)}`);
  });
  process.on('warning', (warning) => {
    io.log(io.Level.warn, warning && warning.stack ? warning.stack : String(warning));
  });
  // process.exit() in a function: what is pending fails with a clear error before Node.js
  // exits (flintd then replaces the worker).
  process.on('exit', (code) => binding.processExiting(Number(code) | 0));

  binding.start({
    load(request) {
      io.setEnvironment(request.env, request.codeDir);
      try {
        process.chdir(request.codeDir);
      } catch {
        // The code directory is where LOAD says; a failure shows when the module loads.
      }
      const title = `flint-worker ${request.name}@${request.version}`;
      try {
        process.title = title;
      } catch {
        // Not essential.
      }
      load.loadFunction(request.codeDir, request.entry, request.codeCache, binding.setEntryFile).then((loaded) => {
        invoke.setFunction(loaded, request);
        binding.loaded(loaded.shape);
      }, (err) => {
        binding.loadFailed(load.describeLoadError(err, request.codeDir, request.entry,
                                                  binding.moduleSyntaxError));
      });
    },
    invoke: invoke.invoke,
    expire: invoke.drop,
    cancel: invoke.drop,
  }, args.fd, args.codeFd, args.codeRoot);
}

preWarm().then(start, (err) => {
  process._rawDebug(`flint-worker: pre-warming Node.js failed: ${err && err.stack}`);
  start();
});
