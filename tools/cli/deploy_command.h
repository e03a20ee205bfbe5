// `flint deploy` and `flint config` (docs/cli.md): code and configuration, kept apart as in
// Lambda's update-function-code and update-function-configuration.
//
// `flint deploy NAME PATH [flags]` uploads new code; the settings given as flags change, every
// other setting of the function is kept. `flint deploy` without arguments deploys the project
// in the current folder (flint.toml: its code, its whole configuration and, when the file lists
// them, its schedules and topic subscriptions). `flint config NAME [flags]` changes settings
// alone; both make a new immutable version.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/cli/commands.h"

namespace flint::cli {

struct DeployCommands;

std::shared_ptr<DeployCommands> AddDeployCommands(CLI::App& app);
// Runs deploy or config when one was parsed: its exit code, else -1.
int RunDeployCommands(const DeployCommands& commands, CliIo& io, bool json);

}  // namespace flint::cli
