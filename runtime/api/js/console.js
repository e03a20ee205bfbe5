// console and value inspection for Flint's JS globals (see runtime/api/globals.h).
// Evaluates to a function called once per context with (host, internal, global).
(function (host, internal, global) {
  'use strict';

  const kMaxDepth = 2;
  const kMaxArrayItems = 100;
  const kMaxStringInObject = 10000;
  const kBreakLength = 72;

  const ObjectPrototypeToString = Object.prototype.toString;
  const FunctionPrototypeToString = Function.prototype.toString;
  const ErrorPrototypeToString = Error.prototype.toString;
  const JSONStringify = JSON.stringify;
  const identifierRe = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  function quote(s) {
    if (s.length > kMaxStringInObject) {
      s = s.slice(0, kMaxStringInObject) + `... ${s.length - kMaxStringInObject} more characters`;
    }
    return "'" + s.replace(/[\\'\n\r\t]/g, (c) =>
      ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]) + "'";
  }

  function formatKey(key) {
    if (typeof key === 'symbol') return `[${key.toString()}]`;
    return identifierRe.test(key) ? key : quote(key);
  }

  function constructorName(value) {
    let proto;
    try {
      proto = Object.getPrototypeOf(value);
    } catch {
      return 'Object';
    }
    if (proto === null) return null;
    const ctor = proto.constructor;
    return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : '';
  }

  function isError(value) {
    return value instanceof Error || ObjectPrototypeToString.call(value) === '[object Error]';
  }

  function formatFunction(fn) {
    let source = '';
    try {
      source = FunctionPrototypeToString.call(fn);
    } catch {}
    const name = fn.name ? fn.name : '';
    if (source.startsWith('class')) return name ? `[class ${name}]` : '[class (anonymous)]';
    return name ? `[Function: ${name}]` : '[Function (anonymous)]';
  }

  function formatError(err) {
    let stack;
    try {
      stack = err.stack;
    } catch {}
    if (typeof stack === 'string' && stack.length > 0) return stack;
    try {
      return ErrorPrototypeToString.call(err);
    } catch {
      return '[Error]';
    }
  }

  // Joins entries on one line when short, else one per line.
  function wrap(prefix, open, entries, close, indent) {
    if (entries.length === 0) return `${prefix}${open}${close}`;
    const oneLine = `${prefix}${open} ${entries.join(', ')} ${close}`;
    if (oneLine.length <= kBreakLength && !entries.some((e) => e.includes('\n'))) return oneLine;
    const pad = '  '.repeat(indent + 1);
    return `${prefix}${open}\n${pad}${entries.join(`,\n${pad}`)}\n${'  '.repeat(indent)}${close}`;
  }

  function propertyEntries(value, depth, seen, keys) {
    const entries = [];
    for (const key of keys) {
      let desc;
      try {
        desc = Object.getOwnPropertyDescriptor(value, key);
      } catch {
        continue;
      }
      if (desc === undefined) continue;
      let text;
      if (desc.get || desc.set) {
        text = desc.get && desc.set ? '[Getter/Setter]' : desc.get ? '[Getter]' : '[Setter]';
      } else {
        text = inspectValue(desc.value, depth + 1, seen);
      }
      entries.push(`${formatKey(key)}: ${text}`);
    }
    return entries;
  }

  function ownKeys(value) {
    const keys = Object.keys(value);
    for (const sym of Object.getOwnPropertySymbols(value)) {
      if (Object.prototype.propertyIsEnumerable.call(value, sym)) keys.push(sym);
    }
    return keys;
  }

  function inspectValue(value, depth, seen) {
    switch (typeof value) {
      case 'string':
        return quote(value);
      case 'number':
        return Object.is(value, -0) ? '-0' : String(value);
      case 'bigint':
        return `${value}n`;
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'symbol':
        return value.toString();
      case 'function':
        return formatFunction(value);
    }
    if (value === null) return 'null';
    if (seen.includes(value)) return '[Circular]';
    if (isError(value)) return formatError(value);
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    }
    if (value instanceof RegExp) return String(value);
    if (value instanceof Promise) return 'Promise { <unknown> }';
    if (value instanceof WeakMap) return 'WeakMap { <items unknown> }';
    if (value instanceof WeakSet) return 'WeakSet { <items unknown> }';
    if (typeof URL === 'function' && value instanceof URL) return `URL '${value.href}'`;
    if (typeof URLSearchParams === 'function' && value instanceof URLSearchParams) {
      return `URLSearchParams { ${[...value].map(([k, v]) => `${quote(k)} => ${quote(v)}`).join(', ')} }`;
    }
    let name = constructorName(value);
    const indent = seen.length;
    if (depth > kMaxDepth) {
      if (Array.isArray(value)) return '[Array]';
      return `[${name || 'Object'}]`;
    }
    seen.push(value);
    try {
      if (Array.isArray(value)) {
        const entries = [];
        const n = Math.min(value.length, kMaxArrayItems);
        for (let i = 0; i < n; i++) {
          entries.push(i in value ? inspectValue(value[i], depth + 1, seen) : '<empty>');
        }
        if (value.length > n) entries.push(`... ${value.length - n} more items`);
        const prefix = name && name !== 'Array' ? `${name}(${value.length}) ` : '';
        return wrap(prefix, '[', entries, ']', indent);
      }
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        const entries = [];
        const n = Math.min(value.length, kMaxArrayItems);
        for (let i = 0; i < n; i++) entries.push(inspectValue(value[i], depth + 1, seen));
        if (value.length > n) entries.push(`... ${value.length - n} more items`);
        return wrap(`${name}(${value.length}) `, '[', entries, ']', indent);
      }
      if (value instanceof ArrayBuffer) return `ArrayBuffer { byteLength: ${value.byteLength} }`;
      if (value instanceof Map) {
        const entries = [];
        for (const [k, v] of value) {
          entries.push(`${inspectValue(k, depth + 1, seen)} => ${inspectValue(v, depth + 1, seen)}`);
        }
        return wrap(`Map(${value.size}) `, '{', entries, '}', indent);
      }
      if (value instanceof Set) {
        const entries = [];
        for (const v of value) entries.push(inspectValue(v, depth + 1, seen));
        return wrap(`Set(${value.size}) `, '{', entries, '}', indent);
      }
      const entries = propertyEntries(value, depth, seen, ownKeys(value));
      let prefix = '';
      if (name === null) prefix = '[Object: null prototype] ';
      else if (name !== 'Object' && name !== '') prefix = `${name} `;
      return wrap(prefix, '{', entries, '}', indent);
    } finally {
      seen.pop();
    }
  }

  function inspect(value) {
    return inspectValue(value, 0, []);
  }

  // The text of one console call, roughly as Node's util.format.
  function format(...args) {
    let out = '';
    let i = 0;
    if (typeof args[0] === 'string' && args.length > 1 && args[0].includes('%')) {
      const fmt = args[0];
      i = 1;
      let last = 0;
      for (let p = 0; p < fmt.length - 1; p++) {
        if (fmt.charCodeAt(p) !== 37) continue;  // '%'
        const c = fmt[p + 1];
        if (c === '%') {
          out += fmt.slice(last, p) + '%';
          last = p + 2;
          p++;
          continue;
        }
        if (!'sdifjoOc'.includes(c)) continue;
        if (i >= args.length) break;
        const arg = args[i++];
        let text;
        switch (c) {
          case 's':
            text = typeof arg === 'string' ? arg
              : typeof arg === 'bigint' ? `${arg}n`
              : typeof arg === 'object' && arg !== null ? inspect(arg) : String(arg);
            break;
          case 'd':
          case 'i':
            if (typeof arg === 'bigint') text = `${arg}n`;
            else if (typeof arg === 'symbol') text = 'NaN';
            else text = String(c === 'd' ? Number(arg) : parseInt(arg, 10));
            break;
          case 'f':
            text = typeof arg === 'symbol' ? 'NaN' : String(parseFloat(arg));
            break;
          case 'j':
            try {
              text = JSONStringify(arg);
            } catch {
              text = '[Circular]';
            }
            break;
          case 'o':
          case 'O':
            text = inspect(arg);
            break;
          case 'c':
            text = '';
            break;
        }
        out += fmt.slice(last, p) + text;
        last = p + 2;
        p++;
      }
      out += fmt.slice(last);
    } else if (args.length > 0) {
      out = typeof args[0] === 'string' ? args[0] : inspect(args[0]);
      i = 1;
    }
    for (; i < args.length; i++) {
      const arg = args[i];
      out += ' ' + (typeof arg === 'string' ? arg : inspect(arg));
    }
    return out;
  }

  internal.inspect = inspect;
  internal.format = format;

  const kDebug = 0, kInfo = 1, kWarn = 2, kError = 3;
  let groupIndent = '';
  const emit = (level, text) => {
    host.log(level, groupIndent === '' ? text : groupIndent + text.split('\n').join('\n' + groupIndent));
  };
  const counts = new Map();
  const timers = new Map();

  const console = {
    log: (...args) => emit(kInfo, format(...args)),
    info: (...args) => emit(kInfo, format(...args)),
    debug: (...args) => emit(kDebug, format(...args)),
    warn: (...args) => emit(kWarn, format(...args)),
    error: (...args) => emit(kError, format(...args)),
    trace: (...args) => {
      const err = new Error(format(...args));
      err.name = 'Trace';
      emit(kDebug, String(err.stack).replace(/\n\s+at console\.trace[^\n]*/, ''));
    },
    dir: (value) => emit(kInfo, inspect(value)),
    table: (...args) => emit(kInfo, format(...args)),
    assert: (condition, ...args) => {
      if (!condition) emit(kError, 'Assertion failed' + (args.length ? ': ' + format(...args) : ''));
    },
    count: (label = 'default') => {
      const n = (counts.get(`${label}`) || 0) + 1;
      counts.set(`${label}`, n);
      emit(kInfo, `${label}: ${n}`);
    },
    countReset: (label = 'default') => counts.delete(`${label}`),
    time: (label = 'default') => timers.set(`${label}`, host.now()),
    timeLog: (label = 'default', ...args) => {
      const start = timers.get(`${label}`);
      if (start === undefined) return emit(kWarn, `No such label '${label}' for console.timeLog()`);
      emit(kInfo, `${label}: ${(host.now() - start).toFixed(3)}ms` + (args.length ? ' ' + format(...args) : ''));
    },
    timeEnd: (label = 'default') => {
      const start = timers.get(`${label}`);
      if (start === undefined) return emit(kWarn, `No such label '${label}' for console.timeEnd()`);
      timers.delete(`${label}`);
      emit(kInfo, `${label}: ${(host.now() - start).toFixed(3)}ms`);
    },
    group: (...args) => {
      if (args.length) emit(kInfo, format(...args));
      groupIndent += '  ';
    },
    groupEnd: () => {
      groupIndent = groupIndent.slice(2);
    },
  };
  console.groupCollapsed = console.group;
  Object.defineProperty(global, 'console', {
    value: console, writable: true, configurable: true, enumerable: false,
  });
})
