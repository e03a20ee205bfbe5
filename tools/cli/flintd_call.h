// What every flint command shares when it talks to flintd: one line (or block) per failure on
// stderr, and the preamble of a call (resolving flintd's URL and token, making the client, and
// reporting a failed call with the exit code it deserves). commands.cc and events.cc use it.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "sdk/client/client_config.h"
#include "sdk/client/flint_client.h"
#include "sdk/core/status.h"
#include "tools/cli/commands.h"

namespace flint::cli {

// Writes "flint: <reason>" (FormatError: a reason of several lines, such as a compiler's output,
// is printed whole) to io.err and returns `code`.
int Fail(CliIo& io, int code, const std::string& reason);

// The exit code and line for a failed call to flintd: usage for a request that could not be
// made, unreachable when flintd did not answer (with a hint to start it), failed when it
// answered with an error (its HTTP status appended; for 401, where the token came from).
int ApiFailure(CliIo& io, const client::FlintClient& flint, const client::ClientConfig& config,
               const Status& status);

// A command's body: it talks to flintd through `flint`, prints its output, and returns the
// command's exit code, or the Status of a failed call for ApiFailure to report.
using FlintdCommand =
    std::function<Result<int>(client::FlintClient& flint, const client::ClientConfig& config)>;

// Resolves the client configuration ($FLINT_URL, the data directory, $FLINT_TOKEN), refusing to
// go on without a token when `need_token`, makes the client (with the token whenever there is
// one: private functions need it for invocations too) and runs `command`. Returns its exit code.
int WithFlintd(CliIo& io, bool need_token, const FlintdCommand& command);

// Makes one management call (`method` `target` with `body`) and prints its answer: flintd's raw
// JSON with `raw` (--json) or when it is not JSON, else `format(answer)`. Returns the exit code.
int CallAndPrint(CliIo& io, bool raw, const std::string& method, const std::string& target,
                 const std::string& body,
                 const std::function<std::string(const nlohmann::json&)>& format);

// Prints a management answer: flintd's raw JSON with --json, else `format(reply.value)`.
template <typename T, typename Format>
int PrintReply(CliIo& io, bool json, const client::Reply<T>& reply, Format&& format) {
  if (json) {
    io.out << reply.json << "\n";
  } else {
    io.out << format(reply.value);
  }
  return kExitOk;
}

}  // namespace flint::cli
