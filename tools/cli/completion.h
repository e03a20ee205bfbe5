// `flint completion bash|zsh|fish`: a shell completion script made from the command line's own
// definition (every command, flag and description), so it never falls behind. Function names
// complete from `flint ls -q`, templates and sub-verbs from fixed lists, paths from the shell.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "sdk/core/status.h"

namespace flint::cli {

// The script for `shell` ("bash", "zsh" or "fish"); InvalidArgument for another.
Result<std::string> CompletionScript(const CLI::App& app, const std::string& shell);

}  // namespace flint::cli
