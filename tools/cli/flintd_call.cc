#include "tools/cli/flintd_call.h"

#include <ostream>

#include "tools/cli/output.h"

namespace flint::cli {

int Fail(CliIo& io, int code, const std::string& reason) {
  io.err << FormatError(reason);
  io.err.flush();
  return code;
}

int ApiFailure(CliIo& io, const client::FlintClient& flint, const client::ClientConfig& config,
               const Status& status) {
  int http = flint.last_http_status();
  if (http == 0) {
    if (status.code() == Code::kInvalidArgument) return Fail(io, kExitUsage, status.message());
    if (status.code() == Code::kUnavailable) {
      return Fail(io, kExitUnreachable,
                  status.message() + " \u2014 is it running? (start it with 'flint up')");
    }
    return Fail(io, kExitUnreachable, status.message());
  }
  std::string reason = WithHttpStatus(status.message(), http);
  if (http == 401) {
    reason += " \u2014 the token from " + config.token_source + " is not accepted by " +
              config.url.ToString() + "; set FLINT_TOKEN, or FLINT_DATA_DIR to flintd's data dir";
  }
  return Fail(io, kExitFailed, reason);
}

int WithFlintd(CliIo& io, bool need_token, const FlintdCommand& command) {
  Result<client::ClientConfig> config = client::ResolveClientConfig(io.getenv);
  if (!config.ok()) return Fail(io, kExitUsage, config.status().message());
  if (need_token && config->token.empty()) {
    std::string where = config->data_dir.empty() ? std::string("the data directory")
                                                 : config->data_dir + "/admin.token";
    return Fail(io, kExitUsage,
                "no admin token: " + where +
                    " does not exist; set FLINT_TOKEN, or FLINT_DATA_DIR to flintd's data "
                    "directory");
  }
  // Invocations send the token too when there is one: private functions need it.
  client::FlintClient flint(config->url, config->token);
  Result<int> code = command(flint, *config);
  if (!code.ok()) return ApiFailure(io, flint, *config, code.status());
  return *code;
}

int CallAndPrint(CliIo& io, bool raw, const std::string& method, const std::string& target,
                 const std::string& body,
                 const std::function<std::string(const nlohmann::json&)>& format) {
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(std::string answer, flint.Call(method, target, body));
                      nlohmann::json j = raw ? nlohmann::json()
                                             : nlohmann::json::parse(answer, nullptr,
                                                                     /*allow_exceptions=*/false);
                      if (raw || j.is_discarded()) {
                        io.out << answer << "\n";
                      } else {
                        io.out << format(j);
                      }
                      return kExitOk;
                    });
}

}  // namespace flint::cli
