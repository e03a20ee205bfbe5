// A fetch handler from node_modules/ (itty-router's package "exports"), unbundled ESM.
import { Router, json, error, withParams } from 'itty-router';

const router = Router();
router
  .all('*', withParams)
  .get('/sum/:a/:b', ({ a, b }) => json({ sum: Number(a) + Number(b) }))
  .get('/headers', (request) => json({ accept: request.headers.get('accept') }))
  .all('*', () => error(404, 'nothing here'));

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx).catch(error),
};
