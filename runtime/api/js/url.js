// URL and URLSearchParams: a compact subset of the WHATWG URL standard (see docs/handlers-js.md
// for the gaps: no IDNA/punycode, no IPv4 number normalisation, simplified non-special URLs).
// Evaluates to a function called once per context with (host, internal, global).
(function (host, internal, global) {
  'use strict';

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const kDefaultPorts = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };
  const isSpecial = (protocol) => protocol in kDefaultPorts || protocol === 'file:';
  const hexDigits = '0123456789ABCDEF';

  function pctByte(b) {
    return '%' + hexDigits[b >> 4] + hexDigits[b & 15];
  }

  // Percent-encodes the code points of `s` for which `mustEncode(code)` is true (as UTF-8 bytes).
  function percentEncode(s, mustEncode) {
    let out = '';
    for (const ch of s) {
      const code = ch.codePointAt(0);
      if (code < 0x20 || code > 0x7e || mustEncode(code)) {
        for (const b of encoder.encode(ch)) out += pctByte(b);
      } else {
        out += ch;
      }
    }
    return out;
  }
  const inSet = (chars) => (code) => chars.includes(String.fromCharCode(code));
  const fragmentSet = inSet(' "<>`');
  const querySet = inSet(' "#<>');
  const specialQuerySet = inSet(' "#<>\'');
  const pathSet = inSet(' "#<>?`{}');
  const userinfoSet = inSet(' "#<>?`{}/:;=@[\\]^|');

  // application/x-www-form-urlencoded serialisation of one name or value.
  function formEncode(s) {
    let out = '';
    for (const b of encoder.encode(s)) {
      if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
          b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f) {
        out += String.fromCharCode(b);
      } else if (b === 0x20) {
        out += '+';
      } else {
        out += pctByte(b);
      }
    }
    return out;
  }

  function hexValue(c) {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 65 && c <= 70) return c - 55;
    if (c >= 97 && c <= 102) return c - 87;
    return -1;
  }

  // Decodes %XX escapes (and '+' when asked) to bytes, then the bytes as UTF-8.
  function percentDecode(s, plusAsSpace) {
    if (!s.includes('%') && !(plusAsSpace && s.includes('+'))) return s;
    const bytes = encoder.encode(s);
    const out = new Uint8Array(bytes.length);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x25 && i + 2 < bytes.length) {
        const hi = hexValue(bytes[i + 1]);
        const lo = hexValue(bytes[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out[n++] = hi * 16 + lo;
          i += 2;
          continue;
        }
      }
      out[n++] = plusAsSpace && b === 0x2b ? 0x20 : b;
    }
    return decoder.decode(out.subarray(0, n));
  }

  function parseQuery(query) {
    const list = [];
    for (const piece of query.split('&')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const name = eq < 0 ? piece : piece.slice(0, eq);
      const value = eq < 0 ? '' : piece.slice(eq + 1);
      list.push([percentDecode(name, true), percentDecode(value, true)]);
    }
    return list;
  }

  // --- URLSearchParams ------------------------------------------------------------------------
  let linkParams;   // (params, onChange) => void
  let resetParams;  // (params, query) => void

  class URLSearchParams {
    #list = [];
    #onChange = null;

    static {
      linkParams = (params, onChange) => { params.#onChange = onChange; };
      resetParams = (params, query) => { params.#list = parseQuery(query); };
    }

    constructor(init = '') {
      if (init instanceof URLSearchParams) {
        this.#list = init.#list.map(([k, v]) => [k, v]);
      } else if (typeof init === 'object' && init !== null) {
        if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const entry = [...pair];
            if (entry.length !== 2) {
              throw new TypeError('URLSearchParams: each pair must have exactly two items');
            }
            this.#list.push([String(entry[0]), String(entry[1])]);
          }
        } else {
          for (const key of Object.keys(init)) this.#list.push([key, String(init[key])]);
        }
      } else {
        let s = String(init);
        if (s.startsWith('?')) s = s.slice(1);
        this.#list = parseQuery(s);
      }
    }
    #changed() {
      if (this.#onChange) this.#onChange(this.toString());
    }
    get size() { return this.#list.length; }
    append(name, value) {
      this.#list.push([String(name), String(value)]);
      this.#changed();
    }
    delete(name, value = undefined) {
      name = String(name);
      const v = value === undefined ? undefined : String(value);
      this.#list = this.#list.filter(([k, x]) => !(k === name && (v === undefined || x === v)));
      this.#changed();
    }
    get(name) {
      name = String(name);
      const found = this.#list.find(([k]) => k === name);
      return found ? found[1] : null;
    }
    getAll(name) {
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value = undefined) {
      name = String(name);
      const v = value === undefined ? undefined : String(value);
      return this.#list.some(([k, x]) => k === name && (v === undefined || x === v));
    }
    set(name, value) {
      name = String(name);
      value = String(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) {
        this.#list.push([name, value]);
      } else {
        this.#list[i][1] = value;
        this.#list = this.#list.filter(([k], j) => j <= i || k !== name);
      }
      this.#changed();
    }
    sort() {
      // Stable sort by UTF-16 code units of the names, as the standard says.
      this.#list = this.#list
        .map((e, i) => [e, i])
        .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j))
        .map(([e]) => e);
      this.#changed();
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError('forEach: callback must be a function');
      for (let i = 0; i < this.#list.length; i++) {
        const [k, v] = this.#list[i];
        callback.call(thisArg, v, k, this);
      }
    }
    *entries() {
      for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
    }
    *keys() {
      for (let i = 0; i < this.#list.length; i++) yield this.#list[i][0];
    }
    *values() {
      for (let i = 0; i < this.#list.length; i++) yield this.#list[i][1];
    }
    [Symbol.iterator]() { return this.entries(); }
    toString() {
      return this.#list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
    }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }

  // --- URL ------------------------------------------------------------------------------------
  function invalid(input) {
    return new TypeError(`Invalid URL: '${input}'`);
  }

  // Removes "." and ".." segments; `segments` are already split on '/'.
  function normalizeSegments(segments) {
    const out = [];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const lower = seg.toLowerCase();
      const last = i === segments.length - 1;
      if (seg === '..' || lower === '.%2e' || lower === '%2e.' || lower === '%2e%2e') {
        if (out.length > 0) out.pop();
        if (last) out.push('');
      } else if (seg === '.' || lower === '%2e') {
        if (last) out.push('');
      } else {
        out.push(seg);
      }
    }
    return out;
  }

  function parseHost(text, special, input) {
    if (text.startsWith('[')) {
      if (!text.endsWith(']') || !/^\[[0-9a-fA-F:.]+\]$/.test(text)) throw invalid(input);
      return text.toLowerCase();
    }
    let host = percentDecode(text, false);
    if (special) host = host.toLowerCase();
    if (/[\u0000-\u0020#%/:<>?@[\\\]^|\u007f]/.test(host)) throw invalid(input);
    return host;
  }

  // Parses an absolute URL string into its parts, or throws.
  function parseAbsolute(input, base) {
    const original = input;
    input = input.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(input);
    let protocol;
    let rest;
    if (m) {
      protocol = m[1].toLowerCase() + ':';
      rest = input.slice(m[0].length);
      if (isSpecial(protocol)) rest = rest.replace(/\\/g, '/');
      if (isSpecial(protocol) && base && base.protocol === protocol && !rest.startsWith('/')) {
        return resolveRelative(rest, base, original);
      }
    } else {
      if (!base) throw invalid(original);
      return resolveRelative(input, base, original);
    }
    const special = isSpecial(protocol);
    const parts = {
      protocol, username: '', password: '', hostname: '', port: '',
      pathname: '', search: null, hash: null, opaque: false,
    };
    if (special) {
      rest = rest.replace(/^\/*/, '');
      return parseAuthorityAndPath(parts, rest, original);
    }
    if (rest.startsWith('//')) return parseAuthorityAndPath(parts, rest.slice(2), original);
    // An opaque path (mailto:, data:, urn:, ...).
    parts.opaque = true;
    splitTail(parts, rest, (p) => percentEncode(p, () => false));
    return parts;
  }

  // Sets search and hash from the tail of `rest`, and the path via `pathFn`.
  function splitTail(parts, rest, pathFn) {
    const hashAt = rest.indexOf('#');
    if (hashAt >= 0) {
      parts.hash = percentEncode(rest.slice(hashAt + 1), fragmentSet);
      rest = rest.slice(0, hashAt);
    }
    const queryAt = rest.indexOf('?');
    if (queryAt >= 0) {
      parts.search = percentEncode(rest.slice(queryAt + 1),
        isSpecial(parts.protocol) ? specialQuerySet : querySet);
      rest = rest.slice(0, queryAt);
    }
    parts.pathname = pathFn(rest);
  }

  function encodePath(path, special) {
    if (path === '' && !special) return '';
    const segments = normalizeSegments(path.split('/').slice(1));
    return '/' + segments.map((s) => percentEncode(s, pathSet)).join('/');
  }

  function parseAuthorityAndPath(parts, rest, input) {
    const special = isSpecial(parts.protocol);
    const end = rest.search(/[/?#]/);
    const authority = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? '' : rest.slice(end);
    let hostPort = authority;
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      hostPort = authority.slice(at + 1);
      const colon = userinfo.indexOf(':');
      parts.username = percentEncode(colon < 0 ? userinfo : userinfo.slice(0, colon), userinfoSet);
      parts.password = colon < 0 ? '' : percentEncode(userinfo.slice(colon + 1), userinfoSet);
    }
    const portMatch = /:([^\]:]*)$/.exec(hostPort);
    let hostText = hostPort;
    if (portMatch) {
      hostText = hostPort.slice(0, portMatch.index);
      const port = portMatch[1];
      if (port !== '') {
        if (!/^[0-9]+$/.test(port) || Number(port) > 65535) throw invalid(input);
        parts.port = String(Number(port));
        if (kDefaultPorts[parts.protocol] === parts.port) parts.port = '';
      }
    }
    parts.hostname = hostText === '' ? '' : parseHost(hostText, special, input);
    if (special && parts.protocol !== 'file:' && parts.hostname === '') throw invalid(input);
    splitTail(parts, rest, (p) => encodePath(p === '' && special ? '/' : p, special));
    return parts;
  }

  function resolveRelative(input, base, original) {
    if (base.opaque) throw invalid(original);
    const special = isSpecial(base.protocol);
    if (special) input = input.replace(/\\/g, '/');
    const parts = { ...base, search: null, hash: null };
    if (input.startsWith('//')) {
      return parseAuthorityAndPath({ ...parts, username: '', password: '', port: '' },
        input.slice(2), original);
    }
    if (input === '') return { ...base, hash: null };
    if (input.startsWith('?') || input.startsWith('#')) {
      parts.search = input.startsWith('#') ? base.search : null;
      splitTail(parts, input, () => base.pathname);
      return parts;
    }
    splitTail(parts, input, (p) => {
      if (p.startsWith('/')) return encodePath(p, special);
      const dir = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
      return encodePath((dir || '/') + p, special);
    });
    return parts;
  }

  function serialize(p, excludeHash = false) {
    let out = p.protocol;
    if (!p.opaque && (p.hostname !== '' || isSpecial(p.protocol))) {
      out += '//';
      if (p.username !== '' || p.password !== '') {
        out += p.username + (p.password !== '' ? ':' + p.password : '') + '@';
      }
      out += p.hostname + (p.port !== '' ? ':' + p.port : '');
    }
    out += p.pathname;
    if (p.search !== null) out += '?' + p.search;
    if (!excludeHash && p.hash !== null) out += '#' + p.hash;
    return out;
  }

  class URL {
    #p;
    #params;

    constructor(url, base = undefined) {
      const baseParts = base === undefined ? null : parseAbsolute(String(base), null);
      this.#p = parseAbsolute(String(url), baseParts);
      this.#params = new URLSearchParams(this.#p.search || '');
      linkParams(this.#params, (query) => {
        this.#p.search = query === '' ? null : query;
      });
    }
    static canParse(url, base = undefined) {
      try {
        new URL(url, base);
        return true;
      } catch {
        return false;
      }
    }
    #reparse(text) {
      this.#p = parseAbsolute(text, null);
      resetParams(this.#params, this.#p.search || '');
    }
    get href() { return serialize(this.#p); }
    set href(value) { this.#reparse(String(value)); }
    get origin() {
      const p = this.#p;
      if (p.protocol in kDefaultPorts) return `${p.protocol}//${this.host}`;
      return 'null';
    }
    get protocol() { return this.#p.protocol; }
    set protocol(value) {
      const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):?/.exec(String(value));
      if (!m) return;
      const protocol = m[1].toLowerCase() + ':';
      if (isSpecial(protocol) !== isSpecial(this.#p.protocol)) return;
      this.#p.protocol = protocol;
      if (kDefaultPorts[protocol] === this.#p.port) this.#p.port = '';
    }
    get username() { return this.#p.username; }
    set username(value) { this.#p.username = percentEncode(String(value), userinfoSet); }
    get password() { return this.#p.password; }
    set password(value) { this.#p.password = percentEncode(String(value), userinfoSet); }
    get host() { return this.#p.hostname + (this.#p.port !== '' ? ':' + this.#p.port : ''); }
    set host(value) {
      try {
        const p = parseAbsolute(`${this.#p.protocol}//${String(value)}`, null);
        this.#p.hostname = p.hostname;
        this.#p.port = p.port;
      } catch {}
    }
    get hostname() { return this.#p.hostname; }
    set hostname(value) {
      try {
        this.#p.hostname = parseHost(String(value), isSpecial(this.#p.protocol), value);
      } catch {}
    }
    get port() { return this.#p.port; }
    set port(value) {
      const s = String(value);
      if (s === '') {
        this.#p.port = '';
        return;
      }
      const m = /^[0-9]+/.exec(s);
      if (!m || Number(m[0]) > 65535) return;
      const port = String(Number(m[0]));
      this.#p.port = kDefaultPorts[this.#p.protocol] === port ? '' : port;
    }
    get pathname() { return this.#p.pathname; }
    set pathname(value) {
      if (this.#p.opaque) return;
      let path = String(value);
      if (!path.startsWith('/')) path = '/' + path;
      this.#p.pathname = encodePath(path, isSpecial(this.#p.protocol));
    }
    get search() {
      return this.#p.search === null || this.#p.search === '' ? '' : '?' + this.#p.search;
    }
    set search(value) {
      let s = String(value);
      if (s.startsWith('?')) s = s.slice(1);
      this.#p.search = s === '' ? null
        : percentEncode(s, isSpecial(this.#p.protocol) ? specialQuerySet : querySet);
      resetParams(this.#params, this.#p.search || '');
    }
    get searchParams() { return this.#params; }
    get hash() { return this.#p.hash === null || this.#p.hash === '' ? '' : '#' + this.#p.hash; }
    set hash(value) {
      let s = String(value);
      if (s.startsWith('#')) s = s.slice(1);
      this.#p.hash = s === '' ? null : percentEncode(s, fragmentSet);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    get [Symbol.toStringTag]() { return 'URL'; }
  }

  Object.defineProperty(global, 'URL', {
    value: URL, writable: true, configurable: true, enumerable: false,
  });
  Object.defineProperty(global, 'URLSearchParams', {
    value: URLSearchParams, writable: true, configurable: true, enumerable: false,
  });
})
