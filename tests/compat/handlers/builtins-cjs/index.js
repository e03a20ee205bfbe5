// Node.js built-ins through require(), CommonJS, no packages.
const zlib = require('zlib');
const util = require('util');
const { EventEmitter, once } = require('events');
const { Readable, Transform, pipeline } = require('stream');
const { StringDecoder } = require('string_decoder');
const url = require('url');
const querystring = require('querystring');
const path = require('path');
const assert = require('assert');
const os = require('os');
const timersPromises = require('timers/promises');

exports.handler = async (event) => {
  const text = event.body || 'hello hello hello hello';
  const gz = zlib.gzipSync(text);
  const br = await util.promisify(zlib.brotliCompress)(text);
  const deflated = zlib.deflateRawSync(Buffer.from(text), { level: 9 });

  const emitter = new EventEmitter();
  const seen = [];
  emitter.on('tick', (n) => seen.push(n));
  setImmediate(() => emitter.emit('tick', 1));
  await once(emitter, 'tick');
  process.nextTick(() => emitter.emit('tick', 2));
  await timersPromises.setTimeout(2);

  const upper = new Transform({
    transform(chunk, enc, cb) { cb(null, chunk.toString().toUpperCase()); },
  });
  const chunks = [];
  await util.promisify(pipeline)(Readable.from(['a', 'b', 'c']), upper,
    async function* (source) { for await (const c of source) chunks.push(c.toString()); });

  const decoder = new StringDecoder('utf8');
  const euro = Buffer.from('€');
  const decoded = decoder.write(euro.subarray(0, 1)) + decoder.write(euro.subarray(1)) + decoder.end();

  assert.deepStrictEqual({ a: [1] }, { a: [1] });
  let assertion;
  try { assert.strictEqual(1, 2); } catch (e) { assertion = e.code; }

  const parsed = new URL('https://user@example.com:8443/a/b/../c?x=1&y=2#frag');
  return {
    gzipLength: gz.length,
    gunzip: zlib.gunzipSync(gz).toString(),
    brotli: zlib.brotliDecompressSync(br).toString() === text,
    inflate: zlib.inflateRawSync(deflated).toString() === text,
    crc: zlib.crc32 ? zlib.crc32(text) : null,
    format: util.format('%s=%d %j %o', 'n', 42, { a: 1 }, [1]),
    inspect: util.inspect({ deep: { deeper: { deepest: { x: 1 } } }, list: [1, 2] }),
    types: util.types.isPromise(Promise.resolve()),
    seen,
    chunks,
    decoded,
    assertion,
    url: { host: parsed.host, pathname: parsed.pathname, search: parsed.searchParams.get('y'),
           legacy: url.parse('http://a.com/x?y=1').query, fileUrl: url.pathToFileURL('/tmp/a b').href },
    querystring: querystring.stringify({ a: [1, 2], b: 'x y' }),
    qsParsed: querystring.parse('a=1&a=2&b=%20c'),
    path: [path.join('/a', '../b', 'c.js'), path.extname('x.tar.gz'), path.posix.basename('/q/w.e', '.e')],
    os: { eol: JSON.stringify(os.EOL), platform: os.platform(), cpus: os.cpus().length > 0, tmpdir: os.tmpdir() },
    buffer: {
      base64: Buffer.from(text).toString('base64'),
      hex: Buffer.from('Flint').toString('hex'),
      readUInt32BE: Buffer.from([1, 2, 3, 4]).readUInt32BE(0),
      concat: Buffer.concat([Buffer.from('a'), Buffer.alloc(2, 'b')]).toString(),
      base64url: Buffer.from([251, 255]).toString('base64url'),
    },
    nodeMajor: process.versions.node.split('.')[0],
    process: { hrtime: typeof process.hrtime.bigint(), memory: typeof process.memoryUsage().heapUsed,
               uptime: typeof process.uptime(), argv0: typeof process.argv0 },
  };
};
