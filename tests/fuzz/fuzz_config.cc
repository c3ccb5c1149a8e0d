// Fuzzes the server's configuration parsers (server/config.h): a TOML file (ApplyToml), the
// RUNBOX_* environment (ApplyEnvironment) and API key specs (ParseApiKeySpec), then Validate()
// and the listen address of what they accept.
//
// Input: one selector byte, then the text. Even: a TOML document. Odd: NAME=VALUE lines as the
// environment, where a line without '=' is an API key spec.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz_finding.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  runbox::server::ServerConfig config;
  runbox::Status applied;
  if (data[0] % 2 == 0) {
    applied = runbox::server::ApplyToml(text, "fuzz.toml", &config);
  } else {
    std::map<std::string, std::string> env;
    size_t pos = 0;
    size_t line_no = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) {
        end = text.size();
      }
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      size_t eq = line.find('=');
      if (eq == std::string::npos) {
        auto key = runbox::server::ParseApiKeySpec(line, ++line_no);
        (void)key;
      } else {
        env[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
    applied = runbox::server::ApplyEnvironment(env, &config);
  }
  if (!applied.has_value()) {
    if (applied.error().message.empty()) {
      runbox::fuzz::Finding("a config error without a message");
    }
    return 0;
  }
  if (config.Validate().has_value()) {
    config.host();
    config.port();
  }
  return 0;
}
