// An ES module as index.js under package.json "type": "module", importing an ESM-only package
// (nanoid), CommonJS packages (cookie, ms), a local module and JSON.
import { nanoid } from 'nanoid';
import * as cookie from 'cookie';
import ms from 'ms';
import { createRequire } from 'node:module';
import { shout } from './lib/shout.js';
import config from './config.json' with { type: 'json' };

const require = createRequire(import.meta.url);
const pkg = require('./package.json');

export const handler = async (event) => {
  const session = cookie.parse((event.cookies ?? []).join('; ')).session ?? 'none';
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: [cookie.serialize('session', 'renewed', { maxAge: ms('1h') / 1000 })],
    body: JSON.stringify({
      session,
      idLength: nanoid().length,
      shout: shout(event.queryStringParameters?.word ?? 'quiet'),
      config,
      type: pkg.type,
      week: ms(ms('7d'), { long: true }),
    }),
  };
};
