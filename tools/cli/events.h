// The flint CLI's event-trigger commands (docs/triggers.md, docs/cli.md): invocation, dlq,
// schedule, subscribe/unsubscribe/subscriptions and publish. commands.cc registers them on its
// CLI11 app and runs the one that was parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/cli/commands.h"

namespace flint::cli {

struct EventCommands;

// Adds the event commands to `app`; the result holds their parsed arguments.
std::shared_ptr<EventCommands> AddEventCommands(CLI::App& app);
// Runs the event command that was parsed: its exit code, or -1 when none was.
int RunEventCommands(const EventCommands& commands, CliIo& io, bool json);

}  // namespace flint::cli
