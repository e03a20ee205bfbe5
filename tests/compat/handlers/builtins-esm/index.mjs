// node: built-ins through import, and the Web-standard globals, in an ES module.
import { createHash, webcrypto, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip, gunzip, constants } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { EventEmitter } from 'node:events';

const here = path.basename(fileURLToPath(import.meta.url));

export const handler = async (event) => {
  const input = event.body ?? 'empty';
  const zipped = await promisify(gzip)(input, { level: constants.Z_BEST_COMPRESSION });
  const unzipped = (await promisify(gunzip)(zipped)).toString();

  const parts = [];
  await pipeline(Readable.from(['x', 'y', 'z']), async function* (src) {
    for await (const p of src) parts.push(p);
  });
  await sleep(1);
  await nextTurn();

  const form = new FormData();
  form.append('field', 'value');
  form.append('file', new Blob(['blob body'], { type: 'text/plain' }), 'a.txt');
  const formResponse = new Response(form);
  const formText = await formResponse.text();
  const boundary = formResponse.headers.get('content-type').split('boundary=')[1];

  const headers = new Headers({ 'X-One': '1' });
  headers.append('x-one', '2');
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  const cloned = structuredClone({ when: new Date(0), set: new Set([1]), map: new Map([[1, 2]]) });
  const digest = await webcrypto.subtle.digest('SHA-256', new TextEncoder().encode(input));
  const ee = new EventEmitter();

  return {
    here,
    sha256: createHash('sha256').update(input).digest('hex'),
    subtleSha256: Buffer.from(digest).toString('hex'),
    sameCrypto: globalThis.crypto === webcrypto || typeof globalThis.crypto.subtle.digest === 'function',
    unzipped,
    parts,
    formHasFile: formText.includes('filename="a.txt"') && formText.includes('blob body') && boundary.length > 0,
    headers: headers.get('x-one'),
    aborted: [controller.signal.aborted, controller.signal.reason.message],
    cloned: [cloned.when.toISOString(), cloned.set.has(1), cloned.map.get(1)],
    blobSize: new Blob(['abc', new Uint8Array([1, 2])]).size,
    textRoundTrip: new TextDecoder().decode(new TextEncoder().encode('né')),
    randomInRange: (() => { const r = randomInt(10, 20); return r >= 10 && r < 20; })(),
    globals: ['fetch', 'Request', 'Response', 'setImmediate', 'queueMicrotask', 'atob', 'btoa',
              'performance', 'BroadcastChannel', 'WebSocket', 'File', 'CompressionStream']
      .filter((g) => typeof globalThis[g] !== 'undefined'),
    listeners: ee.listenerCount('x'),
    atob: atob(btoa('flint')),
  };
};
