// How a worker's RESULT, and flintd's own verdicts on an invocation, become what the caller
// sees: the HTTP response of a synchronous invocation and the meter's outcome.
//
// A function's response passes through with its status, body and headers (names lower-cased;
// hop-by-hop and framing headers dropped: the server frames the response itself). An error is
// flintd's JSON error body, {"error": {"code", "message", "type"?}}, with the code's HTTP status
// (sdk/core/status.h). Pure functions; any thread.
#pragma once

#include <string>

#include "scheduler/meter/billing.h"
#include "scheduler/server/http_server.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::scheduler {

// The response for `result`: the function's own for kOk, else an error naming the outcome
// (function_error with the error's type, function_timeout, function_crashed of type
// OutOfMemory).
HttpResponse ResponseFromResult(protocol::InvokeResult&& result);

// flintd's JSON error for `code` with `message`, and "type" when `type` is not empty.
HttpResponse ErrorWithType(Code code, const std::string& type, const std::string& message);

// The meter's outcome of a RESULT.
meter::Outcome MeterOutcome(protocol::Outcome outcome);

}  // namespace flint::scheduler
