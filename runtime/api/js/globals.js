// Web-style globals and the handler's context object (see runtime/api/globals.h).
// Evaluates to a function called once per context with (host, internal, global).
(function (host, internal, global) {
  'use strict';

  function define(name, value) {
    Object.defineProperty(global, name, {
      value, writable: true, configurable: true, enumerable: false,
    });
  }

  // --- DOMException ---------------------------------------------------------------------------
  const kDomCodes = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
    URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24,
    DataCloneError: 25,
  };
  class DOMException extends Error {
    #name;
    constructor(message = '', name = 'Error') {
      super(String(message));
      this.#name = String(name);
    }
    get name() { return this.#name; }
    get code() { return kDomCodes[this.#name] || 0; }
  }
  define('DOMException', DOMException);

  // --- timers ---------------------------------------------------------------------------------
  function toDelay(delay) {
    const n = Number(delay);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }
  function checkCallback(callback, name) {
    if (typeof callback !== 'function') {
      throw new TypeError(`${name}: the callback must be a function (code strings are not supported)`);
    }
  }
  define('setTimeout', function setTimeout(callback, delay, ...args) {
    checkCallback(callback, 'setTimeout');
    return host.setTimer(callback, toDelay(delay), false, args);
  });
  define('setInterval', function setInterval(callback, delay, ...args) {
    checkCallback(callback, 'setInterval');
    return host.setTimer(callback, toDelay(delay), true, args);
  });
  define('clearTimeout', function clearTimeout(id) {
    if (typeof id === 'number') host.clearTimer(id);
  });
  define('clearInterval', function clearInterval(id) {
    if (typeof id === 'number') host.clearTimer(id);
  });
  define('queueMicrotask', function queueMicrotask(callback) {
    if (typeof callback !== 'function') {
      throw new TypeError('queueMicrotask: the callback must be a function');
    }
    host.enqueueMicrotask(() => {
      try {
        callback();
      } catch (err) {
        console.error('Uncaught', err);
      }
    });
  });

  // --- TextEncoder / TextDecoder --------------------------------------------------------------
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      const s = String(input);
      const bytes = new Uint8Array(host.utf8Length(s));
      host.utf8Write(s, bytes);
      return bytes;
    }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) {
        throw new TypeError('encodeInto: the destination must be a Uint8Array');
      }
      const [read, written] = host.utf8Write(String(source), destination);
      return { read, written };
    }
  }
  define('TextEncoder', TextEncoder);

  const kUtf8Labels = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8',
    'x-unicode20utf8'];
  // How many bytes at the end of `bytes` start a UTF-8 sequence that is not complete yet.
  function incompleteTail(bytes) {
    const n = bytes.length;
    for (let back = 1; back <= 3 && back <= n; back++) {
      const b = bytes[n - back];
      if ((b & 0xC0) === 0x80) continue;  // continuation byte: keep looking for the lead
      const need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
      return need > back ? back : 0;
    }
    return 0;
  }
  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending = null;
    #seenStart = false;
    constructor(label = 'utf-8', options = {}) {
      const l = String(label).trim().toLowerCase();
      if (!kUtf8Labels.includes(l)) {
        throw new RangeError(`TextDecoder: the encoding '${label}' is not supported (only utf-8)`);
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = {}) {
      let bytes;
      if (input === undefined) bytes = new Uint8Array(0);
      else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
      else if (ArrayBuffer.isView(input)) {
        bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      } else if (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer) {
        bytes = new Uint8Array(input);
      } else {
        throw new TypeError('TextDecoder.decode: the input must be an ArrayBuffer or a view');
      }
      const stream = Boolean(options && options.stream);
      if (this.#pending !== null) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      if (stream) {
        const tail = incompleteTail(bytes);
        if (tail > 0) {
          this.#pending = bytes.slice(bytes.length - tail);
          bytes = bytes.subarray(0, bytes.length - tail);
        }
      }
      // The BOM is stripped only at the very start of a stream.
      const ignoreBOM = this.#ignoreBOM || this.#seenStart;
      if (bytes.length > 0) this.#seenStart = stream;
      if (!stream) this.#seenStart = false;
      const text = host.utf8Decode(bytes, this.#fatal, ignoreBOM);
      if (text === null) {
        throw new TypeError('TextDecoder.decode: the encoded data is not valid utf-8');
      }
      return text;
    }
  }
  define('TextDecoder', TextDecoder);

  // --- atob / btoa ----------------------------------------------------------------------------
  define('btoa', function btoa(data) {
    if (arguments.length === 0) throw new TypeError('btoa: 1 argument required');
    const out = host.btoa(String(data));
    if (out === null) {
      throw new DOMException('btoa: the string contains characters outside of Latin1',
        'InvalidCharacterError');
    }
    return out;
  });
  define('atob', function atob(data) {
    if (arguments.length === 0) throw new TypeError('atob: 1 argument required');
    const out = host.atob(String(data));
    if (out === null) {
      throw new DOMException('atob: the string is not correctly base64-encoded',
        'InvalidCharacterError');
    }
    return out;
  });

  // --- crypto ---------------------------------------------------------------------------------
  const integerArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
  const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
  const crypto = {
    getRandomValues(array) {
      if (!integerArrays.some((T) => array instanceof T)) {
        throw new DOMException('getRandomValues: the argument must be an integer typed array',
          'TypeMismatchError');
      }
      if (array.byteLength > 65536) {
        throw new DOMException(
          `getRandomValues: ${array.byteLength} bytes requested, at most 65536 allowed`,
          'QuotaExceededError');
      }
      host.randomFill(array);
      return array;
    },
    randomUUID() {
      const b = new Uint8Array(16);
      host.randomFill(b);
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      return `${hex[b[0]]}${hex[b[1]]}${hex[b[2]]}${hex[b[3]]}-${hex[b[4]]}${hex[b[5]]}-` +
        `${hex[b[6]]}${hex[b[7]]}-${hex[b[8]]}${hex[b[9]]}-` +
        `${hex[b[10]]}${hex[b[11]]}${hex[b[12]]}${hex[b[13]]}${hex[b[14]]}${hex[b[15]]}`;
    },
  };
  define('crypto', crypto);

  // --- structuredClone ------------------------------------------------------------------------
  define('structuredClone', function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required');
    try {
      return host.clone(value);
    } catch (err) {
      if (err instanceof Error && !(err instanceof RangeError)) {
        throw new DOMException(err.message, 'DataCloneError');
      }
      throw err;
    }
  });

  // --- performance ----------------------------------------------------------------------------
  const performance = {
    now: () => host.now(),
    get timeOrigin() { return host.timeOrigin; },
    toJSON() { return { timeOrigin: host.timeOrigin }; },
  };
  define('performance', performance);

  // --- process (a minimal subset; Flint is not Node.js) ---------------------------------------
  const process = {
    env: {},
    platform: 'linux',
    arch: 'x64',
    version: 'v0.1.0-flint',
    versions: { flint: '0.1.0', v8: host.v8Version },
    argv: [],
    nextTick(callback, ...args) {
      checkCallback(callback, 'process.nextTick');
      queueMicrotask(() => callback(...args));
    },
  };
  define('process', process);

  // --- the handler's context ------------------------------------------------------------------
  const fn = { name: '', version: '0', memory: '128' };
  internal.setFunction = (name, version, memoryMb, env) => {
    fn.name = String(name);
    fn.version = String(version);
    fn.memory = String(memoryMb);
    process.env = env;
  };
  // The function-URL event of an HTTP invocation, from what the host parsed
  // (runtime/api/lambda_event.h): an object literal is cheaper for V8 than parsing the event's
  // JSON. Keys in the order of BuildHttpEventJson; cookies, query and body are undefined when
  // the request has none.
  internal.makeHttpEvent = (rawPath, rawQueryString, cookies, headers, query, apiId, domainName,
                            domainPrefix, method, sourceIp, userAgent, requestId, time, timeEpoch,
                            body, isBase64Encoded) => {
    const event = { version: '2.0', routeKey: '$default', rawPath, rawQueryString };
    if (cookies !== undefined) event.cookies = cookies;
    event.headers = headers;
    if (query !== undefined) event.queryStringParameters = query;
    event.requestContext = {
      accountId: 'anonymous',
      apiId,
      domainName,
      domainPrefix,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp, userAgent },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time,
      timeEpoch,
    };
    if (body !== undefined) event.body = body;
    event.isBase64Encoded = isBase64Encoded;
    return event;
  };
  internal.makeContext = (requestId, timeoutMs) => {
    const deadline = host.now() + timeoutMs;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: fn.name,
      functionVersion: fn.version,
      invokedFunctionArn: `arn:flint:function:${fn.name}:${fn.version}`,
      memoryLimitInMB: fn.memory,
      awsRequestId: requestId,
      requestId,
      logGroupName: `/flint/functions/${fn.name}`,
      logStreamName: `${fn.name}@${fn.version}`,
      getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - host.now())),
    };
  };
})
