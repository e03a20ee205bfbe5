// A callback-style handler (event, context, callback), CommonJS. It answers from a timer and
// leaves an interval running: with callbackWaitsForEmptyEventLoop = false the answer goes out at
// once, as on Lambda.
let calls = 0;

exports.handler = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  calls += 1;
  const input = event.body ? JSON.parse(event.body) : event;
  if (input.fail) {
    setImmediate(() => callback(new Error('asked to fail: ' + input.fail)));
    return;
  }
  setInterval(() => {}, 1000);
  setTimeout(() => {
    const answer = {
      doubled: (input.n || 0) * 2,
      functionName: context.functionName,
      remainingPositive: context.getRemainingTimeInMillis() > 0,
      waits: context.callbackWaitsForEmptyEventLoop,
    };
    // An async event (no requestContext) gets the value itself, a request an HTTP response.
    if (!event.requestContext) return callback(null, answer);
    callback(null, {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-handler': 'callback' },
      body: JSON.stringify({ ...answer, firstCall: calls === 1 }),
    });
  }, 5);
};
