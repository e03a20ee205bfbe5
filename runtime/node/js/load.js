// Loading a function's code in a Flint Node.js worker, as Lambda's Node.js runtime does:
// resolving the handler (FILE.EXPORT, default index.handler, or a file and its 'handler'
// export), CommonJS or ES module by extension and package.json "type", and the handler's shape
// (a Lambda handler function, or a Web-standard default export with fetch). A load error becomes
// one line naming the file and line, e.g. "index.js:3: Error: Cannot find module 'jsonwebtoken'".
'use strict';

const fs = require('fs');
const Module = require('module');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');
const vm = require('vm');

class LoadError extends Error {}

// --- V8's code cache for the function's CommonJS modules --------------------------------------
//
// Node.js compiles each CommonJS module of the function (its own files and node_modules/)
// through vm.compileFunction here instead of its internal compiler, so that V8's cached data
// from an earlier worker can be handed in, and so that after the first invocation the compiled
// wrappers can be serialised -- with every function that has run by then, which a cache made
// at compile time lacks (measured: a 1.6 MB bundle's load and first call took 460 ms of CPU
// without a cache, 340 ms with Node.js's own compile cache, 85 ms with this one). ES modules
// are compiled by Node.js's loader, without a cache. Anything unusual (a syntax error, a module
// Node.js must treat as ESM) goes back to Node.js's own _compile.

const kWrapperParams = ['exports', 'require', 'module', '__filename', '__dirname'];
let cacheIn = new Map();   // path -> cached data from LOAD
let compiled = [];         // [path, compiled wrapper], in load order
let cacheWanted = true;    // no cache came with LOAD, or V8 rejected part of it

// require() as Node.js gives each module (lib/internal/modules/helpers makeRequireFunction).
function makeRequire(mod) {
  const require = function require(id) {
    return mod.require(id);
  };
  require.resolve = function resolve(request, options) {
    return Module._resolveFilename(request, mod, false, options);
  };
  require.resolve.paths = function paths(request) {
    return Module._resolveLookupPaths(request, mod);
  };
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

function installCompileHook(codeDir, cache) {
  cacheIn = new Map();
  for (let i = 0; i + 1 < cache.length; i += 2) cacheIn.set(cache[i], cache[i + 1]);
  cacheWanted = cacheIn.size === 0;
  const original = Module.prototype._compile;
  Module.prototype._compile = function _compile(content, filename, format) {
    if (format === 'module' || typeof filename !== 'string' ||
        !filename.startsWith(`${codeDir}/`)) {
      return original.call(this, content, filename, format);
    }
    const cachedData = cacheIn.get(filename);
    let wrapper;
    try {
      // A leading "#!" line stays a line (a comment) so that line numbers do not move.
      const body = content.startsWith('#!') ? `//${content.slice(2)}` : content;
      wrapper = vm.compileFunction(body, kWrapperParams, {
        filename,
        cachedData,
        importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      });
    } catch {
      return original.call(this, content, filename, format);
    }
    if (cachedData === undefined || wrapper.cachedDataRejected) cacheWanted = true;
    compiled.push([filename, wrapper]);
    const dirname = path.dirname(filename);
    return Reflect.apply(wrapper, this.exports,
                         [this.exports, makeRequire(this), this, filename, dirname]);
  };
}

// Sends V8's cache of the modules compiled so far, if LOAD had none usable; once.
function sendCodeCache(binding) {
  const modules = compiled;
  compiled = [];
  cacheIn = new Map();
  if (!cacheWanted || modules.length === 0) return;
  cacheWanted = false;
  const files = [];
  for (const [filename, wrapper] of modules) {
    const data = binding.createCodeCache(wrapper);
    if (data !== undefined) files.push(filename, data);
  }
  binding.sendCodeCache(files);
}

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

// Where the entry names the handler: { file, exportPath: [...], explicit }.
function resolveEntry(codeDir, entry) {
  let explicit = true;
  if (!entry) {
    explicit = false;
    const pkg = readJson(path.join(codeDir, 'package.json'));
    const main = pkg && typeof pkg.main === 'string' ? pkg.main : '';
    entry = 'index.handler';
    for (const candidate of main ? [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`] : []) {
      const file = path.resolve(codeDir, candidate);
      if (file.startsWith(`${codeDir}/`) && isFile(file)) return { file, exportPath: ['handler'], explicit };
    }
  }
  const inside = (file) => {
    if (!file.startsWith(`${codeDir}/`)) {
      throw new LoadError(`${entry}: the handler must name a file inside the function's code`);
    }
    return file;
  };
  const direct = inside(path.resolve(codeDir, entry));
  if (isFile(direct)) return { file: direct, exportPath: ['handler'], explicit: false };
  // Lambda's form: "dir/file.export[.nested]".
  const slash = entry.lastIndexOf('/');
  const dot = entry.indexOf('.', slash + 1);
  if (dot <= slash + 1 || dot === entry.length - 1) {
    throw new LoadError(`${entry}: no such file, and not a handler of the form FILE.EXPORT ` +
                        `(such as index.handler)`);
  }
  const base = entry.slice(0, dot);
  const exportPath = entry.slice(dot + 1).split('.');
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const file = inside(path.resolve(codeDir, base + ext));
    if (isFile(file)) return { file, exportPath, explicit };
  }
  throw new LoadError(`${entry}: the function has no file ${base}.js, ${base}.mjs or ${base}.cjs`);
}

// True when Node.js treats `file` as an ES module: .mjs, or .js under a package.json whose
// "type" is "module" (the nearest package.json decides).
function isModule(file, codeDir) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = readJson(path.join(dir, 'package.json'));
    if (pkg !== null) return pkg.type === 'module';
    if (dir === codeDir || dir === path.dirname(dir)) return false;
  }
}

async function loadModule(file, codeDir) {
  if (isModule(file, codeDir)) return { ns: await import(pathToFileURL(file).href), esm: true };
  try {
    return { ns: require(file), esm: false };
  } catch (err) {
    // An ES module Node.js could not load with require (top-level await): import it.
    if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      return { ns: await import(pathToFileURL(file).href), esm: true };
    }
    throw err;
  }
}

function get(object, exportPath) {
  let v = object;
  for (const key of exportPath) {
    if (v === null || v === undefined) return undefined;
    v = v[key];
  }
  return v;
}

// { shape: 'lambda', handler } or { shape: 'fetch', target }.
function findHandler(loaded, spec, codeDir) {
  const { ns, esm } = loaded;
  const name = spec.exportPath.join('.');
  const where = path.relative(codeDir, spec.file);
  let handler = get(ns, spec.exportPath);
  // A CommonJS module imported as ESM, or an ES module's default export object.
  if (handler === undefined && ns && typeof ns.default === 'object') {
    handler = get(ns.default, spec.exportPath);
  }
  if (typeof handler === 'function') return { shape: 'lambda', handler };
  if (handler !== undefined && handler !== null) {
    throw new LoadError(`${where}: the export '${name}' is not a function (it is ${typeof handler})`);
  }
  let def = ns === null || ns === undefined ? undefined : ns.default;
  if (!esm && (def === undefined || def === null)) def = ns;  // module.exports itself
  if (def !== null && def !== undefined && typeof def.fetch === 'function') {
    return { shape: 'fetch', target: def };
  }
  if (!spec.explicit && typeof def === 'function') return { shape: 'lambda', handler: def };
  throw new LoadError(`${where}: no handler: export a function named '${name}' (a Lambda ` +
                      `handler), or a default export with a fetch method (Web-standard)`);
}

async function loadFunction(codeDir, entry, codeCache = [], onResolved = () => {}) {
  installCompileHook(codeDir, codeCache);
  const spec = resolveEntry(codeDir, entry);
  onResolved(path.relative(codeDir, spec.file));
  const loaded = await loadModule(spec.file, codeDir);
  return findHandler(loaded, spec, codeDir);
}

// --- describing what went wrong --------------------------------------------------------------

function toPath(fileOrUrl) {
  if (fileOrUrl.startsWith('file://')) {
    try {
      return fileURLToPath(fileOrUrl);
    } catch {
      return fileOrUrl;
    }
  }
  return fileOrUrl;
}

// [{file, line}] of the stack's frames.
function frames(stack) {
  const out = [];
  for (const text of String(stack || '').split('\n')) {
    const m = /^\s+at (?:.*\()?((?:file:\/\/)?\/[^()]*?):(\d+):\d+\)?$/.exec(text);
    if (m) out.push({ file: toPath(m[1]), line: Number(m[2]) });
  }
  return out;
}

// The line of `file` where `specifier` appears quoted, 0 if none.
function lineOf(file, specifier) {
  let source;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    for (const q of ['\'', '"', '`']) {
      if (lines[i].includes(q + specifier + q)) return i + 1;
    }
  }
  return 0;
}

// An ES module's SyntaxError carries no location Node.js lets JavaScript read: find the
// function's module (its own files first, then node_modules/) that fails to compile with the
// same message. [file, line], or null.
function locateModuleSyntaxError(err, codeDir, checkSyntax) {
  const files = [];
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < 12 && files.length < 5000) walk(p, depth + 1);
      else if (e.isFile() && (p.endsWith('.mjs') || (p.endsWith('.js') && isModule(p, codeDir)))) {
        files.push(p);
      }
    }
  };
  walk(codeDir, 0);
  files.sort((a, b) => a.includes('/node_modules/') - b.includes('/node_modules/'));
  // V8's message reads "Uncaught SyntaxError: <message>".
  const wanted = `SyntaxError: ${err.message}`;
  for (const file of files) {
    let source;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const found = checkSyntax(source, file);
    if (found && String(found[1]).endsWith(wanted)) return [file, found[0]];
  }
  return null;
}

function describeLoadError(err, codeDir, entry, checkSyntax = null) {
  if (err instanceof LoadError) return err.message;
  const rel = (p) => (p.startsWith(`${codeDir}/`) ? p.slice(codeDir.length + 1) : p);
  const located = (file, line, text) => `${rel(file)}${line > 0 ? `:${line}` : ''}: ${text}`;
  if (err === null || typeof err !== 'object') {
    return `${entry || 'index.handler'}: the module threw ${String(err)}`;
  }
  const name = typeof err.name === 'string' && err.name ? err.name : 'Error';
  const message = String(err.message ?? '').split('\n')[0];
  const text = `${name}${err.code && name === 'Error' ? ` [${err.code}]` : ''}: ` +
               message.replaceAll(`${codeDir}/`, '').replaceAll(`${pathToFileURL(codeDir).href}/`, '');
  // A syntax error: Node.js puts "file:line" on the stack's first line.
  const first = /^((?:file:\/\/)?\/[^\n]*?):(\d+)\n/.exec(String(err.stack || ''));
  if (name === 'SyntaxError' && first) return located(toPath(first[1]), Number(first[2]), text);
  if (name === 'SyntaxError' && checkSyntax !== null && frames(err.stack).every(
    (f) => !f.file.startsWith(`${codeDir}/`))) {
    const found = locateModuleSyntaxError(err, codeDir, checkSyntax);
    if (found) return located(found[0], found[1], text);
  }
  // A missing module (CommonJS): the requiring file is first on the require stack.
  if (err.code === 'MODULE_NOT_FOUND' && Array.isArray(err.requireStack) && err.requireStack[0]) {
    const file = err.requireStack[0];
    const frame = frames(err.stack).find((f) => f.file === file);
    const wanted = /Cannot find module '([^']+)'/.exec(message);
    return located(file, frame ? frame.line : wanted ? lineOf(file, wanted[1]) : 0, text);
  }
  // A missing module or package (ES modules): "... 'x' imported from /code/index.mjs".
  if (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
    const m = /'([^']+)' imported from (.+)$/.exec(message);
    if (m) {
      const file = toPath(m[2]);
      const specifier = /^(?:file:\/\/)?\//.test(m[1]) ? path.basename(toPath(m[1])) : m[1];
      return located(file, lineOf(file, m[1]) || lineOf(file, specifier), text);
    }
  }
  // Anything else thrown while the module ran: its innermost frame in the function's code.
  const frame = frames(err.stack).find((f) => f.file.startsWith(`${codeDir}/`) &&
                                            !f.file.includes('/node_modules/'))
    || frames(err.stack).find((f) => f.file.startsWith(`${codeDir}/`));
  if (frame) return located(frame.file, frame.line, text);
  if (first) return located(toPath(first[1]), Number(first[2]), text);
  return `${entry || 'index.handler'}: ${text}`;
}

module.exports = {
  LoadError, describeLoadError, isModule, loadFunction, resolveEntry, sendCodeCache,
};
