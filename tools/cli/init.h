// `flint init [--template js|ts|cpp|hono] NAME` (docs/cli.md): a new folder NAME with a working
// function, a test of it and a project file (flint.toml), so `cd NAME && flint deploy` deploys
// it (after `npm install` for a template with dependencies). The templates are embedded in the
// binary; each handler serves HTTP requests and events.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::cli {

struct Template {
  const char* name;             // "js", "ts", "cpp", "hono"
  const char* description;      // one line for --help
  const char* install_command;  // run once before its test and a deploy ("npm install"), or ""
  const char* test_command;     // how to run its test, e.g. "node --test"
  std::vector<std::pair<const char*, const char*>> files;  // path -> text with {{name}}
};

// Every template, the default first.
const std::vector<Template>& Templates();

// The files of `template_name` for function `name`: path -> contents. InvalidArgument for an
// unknown template.
Result<std::map<std::string, std::string>> RenderTemplate(const std::string& template_name,
                                                          const std::string& name);

// Writes the rendered template into `dir` (created; it must not exist or be empty). Returns the
// relative paths written.
Result<std::vector<std::string>> WriteTemplate(const std::string& template_name,
                                               const std::string& name, const std::string& dir);

}  // namespace flint::cli
