// echo: returns the event it received and a few context fields, as JSON. Useful to see exactly
// what a handler gets: over HTTP, a Lambda function-URL event (payload format 2.0); as an async
// event (flint invoke echo --async, a schedule, a topic), the event's JSON itself.
export const handler = async (event, context) => {
  const http = event?.requestContext?.http;
  console.log(http ? `echo ${http.method} ${event.rawPath}` : `echo event ${JSON.stringify(event)}`);
  return {
    event,
    context: {
      requestId: context.requestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      memoryLimitInMB: context.memoryLimitInMB,
      remainingTimeInMillis: context.getRemainingTimeInMillis(),
    },
  };
};
