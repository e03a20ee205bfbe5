// `flint secret set|ls|rm` (docs/cli.md, "Secrets"): values that reach a function as environment
// variables but are stored encrypted by flintd and never shown again (not by describe, ls or
// logs). `set` reads the value from stdin (without echo on a terminal), never from the command
// line, so it stays out of shell history and process lists.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/cli/commands.h"

namespace flint::cli {

struct SecretCommands;

std::shared_ptr<SecretCommands> AddSecretCommands(CLI::App& app);
// Runs the secret command that was parsed: its exit code, or -1 when none was.
int RunSecretCommands(const SecretCommands& commands, CliIo& io, bool json);

}  // namespace flint::cli
