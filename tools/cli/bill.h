// `flint bill` and the usage lines of `flint describe` (docs/billing.md, docs/cli.md).
//
// flintd computes and renders billing reports (GET /v1/billing), so the CLI only passes the
// options through and prints the answer; money is never parsed or added up here.
#pragma once

#include <string>

#include "sdk/client/flint_client.h"
#include "sdk/core/status.h"

namespace flint::cli {

struct BillOptions {
  std::string from;      // empty: from the beginning
  std::string to;        // empty: until now
  std::string function;  // empty: every function
  std::string by = "function";
  std::string format = "table";
};

// The report as flintd rendered it, ending with a newline.
Result<std::string> FetchBill(client::FlintClient& flint, const BillOptions& options);

// Lines for describe's "usage" object (the last 24 hours), "" when the answer has none.
std::string FormatUsage(const std::string& describe_json);

}  // namespace flint::cli
