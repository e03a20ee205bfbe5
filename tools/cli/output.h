// Human-readable output of the flint CLI: tables, summaries and one-line error messages.
//
// Pure functions from client values to text, so the wording is unit-tested without a server.
// Every returned text ends with a newline unless said otherwise.
#pragma once

#include <string>
#include <vector>

#include "sdk/client/flint_client.h"

namespace flint::cli {

// "128 MB".
std::string FormatMemory(uint64_t mb);

// "deployed hello version 3 (js, 128 MB, timeout 3s)\n  invoke: curl URL/fn/hello\n".
std::string FormatDeployed(const client::FunctionInfo& info, const std::string& base_url);

// "configured hello version 4 (js, 1024 MB, timeout 30s)\n" after `flint config`.
std::string FormatConfigured(const client::FunctionInfo& info);

// The `flint ls` table: NAME VERSION RUNTIME MEMORY TIMEOUT CREATED, columns aligned.
std::string FormatFunctionTable(const std::vector<client::FunctionInfo>& functions);

// The `flint describe` report: configuration, pool state and versions.
std::string FormatDetails(const client::FunctionDetails& details);

// The `flint top` view: a node summary line, then one row per pool (name, version, workers by
// state, queue, invocations, cold starts and their p50/p99, evictions, idle worker-seconds,
// keep-alive in force).
std::string FormatTop(const client::NodeInfo& node, const std::string& base_url);

// One line per record: "TIME LEVEL [REQUEST_ID] MESSAGE".
std::string FormatLogs(const std::vector<client::LogEntry>& logs);

// Left-aligned columns separated by two spaces; the first row is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// An error for stderr: "flint: " and `reason` without its leading blank lines and trailing
// whitespace. A reason of several lines (a compiler's output from a failed C++ deploy) is kept
// whole, so every file:line message reaches the user.
std::string FormatError(const std::string& reason);

// `message` with " (HTTP_STATUS)" at the end of its first line: "not found (404)"; for several
// lines, "compilation failed: a.cc:3:5: error: ... (400)\n<the rest>".
std::string WithHttpStatus(const std::string& message, int http_status);

}  // namespace flint::cli
