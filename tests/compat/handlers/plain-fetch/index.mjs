// A Workers-style fetch handler with no packages: the Request (URL, method, headers, body
// stream), env, ctx.waitUntil and a streamed Response.
let background = 0;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/stream') {
      const encoder = new TextEncoder();
      const body = new ReadableStream({
        start(controller) {
          for (const word of ['streamed', ' ', 'response', '\n']) controller.enqueue(encoder.encode(word));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' } });
    }
    if (url.pathname === '/binary') {
      return new Response(new Uint8Array([0, 1, 2, 253, 254, 255]), {
        headers: { 'content-type': 'application/octet-stream' },
      });
    }
    ctx.waitUntil(Promise.resolve().then(() => { background += 1; }));
    let bytes = 0;
    if (request.body) {
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
      }
    }
    return Response.json({
      method: request.method,
      path: url.pathname,
      search: Object.fromEntries(url.searchParams),
      contentType: request.headers.get('content-type'),
      custom: request.headers.get('x-custom'),
      bytes,
      greeting: env.GREETING ?? null,
      hasWaitUntil: typeof ctx.waitUntil === 'function',
    }, { status: request.method === 'POST' ? 201 : 200, headers: { 'cache-control': 'no-store' } });
  },
};
