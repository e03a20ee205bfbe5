// Catch2 helpers shared by the integration tests: each performs one step against a running
// flintd and fails the calling test, with the reason and flintd's log, when the step fails.
// Header-only because it expands Catch2 macros in the calling test's translation unit.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/flintd_fixture.h"

namespace flint::testing {

inline void StartOrFail(FlintdProcess& flintd) {
  Status s = flintd.Start();
  INFO(s.ToString());
  REQUIRE(s.ok());
}

// `flint deploy ARGS...` (NAME PATH [flags]) succeeds.
inline void DeployOrFail(const FlintdProcess& flintd, std::vector<std::string> args) {
  CliResult r = flintd.Deploy(std::move(args));
  INFO(r.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.exit_code == 0);
}

// `code` deploys as the one file of JavaScript function `name` (FlintdProcess::DeployJs).
inline void DeployJsOrFail(const FlintdProcess& flintd, const std::string& name,
                           const std::string& code, std::vector<std::string> flags = {}) {
  CliResult r = flintd.DeployJs(name, code, std::move(flags));
  INFO(r.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.exit_code == 0);
}

inline client::HttpResponse GetOrFail(const FlintdProcess& flintd, const std::string& target,
                                      std::vector<client::Header> headers = {}) {
  auto r = flintd.HttpGet(target, std::move(headers));
  INFO("GET " << target << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

inline client::HttpResponse PostOrFail(const FlintdProcess& flintd, const std::string& target,
                                       const std::string& body) {
  auto r = flintd.HttpPost(target, body);
  INFO("POST " << target << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

inline nlohmann::json JsonOrFail(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  INFO("not JSON: " << text);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// The whole file, or "" if it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace flint::testing
