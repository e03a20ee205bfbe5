// echo: returns the event it received (a Lambda function-URL event, payload format 2.0) and a
// few context fields, as JSON. Useful to see exactly what a handler gets.
export const handler = async (event, context) => {
  console.log(`echo ${event.requestContext.http.method} ${event.rawPath}`);
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
