// The flint CLI's token commands (docs/cli.md, docs/security.md): 'token create NAME --scope S
// [--expires 30d]', 'token ls', 'token revoke NAME'. commands.cc registers them on its CLI11 app
// and runs the one that was parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/cli/commands.h"

namespace flint::cli {

struct TokenCommands;

// Adds 'token' and its subcommands to `app`; the result holds their parsed arguments.
std::shared_ptr<TokenCommands> AddTokenCommands(CLI::App& app);
// Runs the token command that was parsed: its exit code, or -1 when none was.
int RunTokenCommands(const TokenCommands& commands, CliIo& io, bool json);

// "30d", "12h", "90m", "3600s" or "3600" (seconds) as whole seconds; InvalidArgument otherwise.
Result<uint64_t> ParseExpirySeconds(const std::string& text);

}  // namespace flint::cli
