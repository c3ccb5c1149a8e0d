#include "cli/outcome_json.h"

namespace runbox::cli {

nlohmann::json OutcomeToJson(const sandbox::Outcome& o, bool with_output) {
  nlohmann::json j = {
      {"status", sandbox::StatusCode(o.status)},
      {"exit_code", o.exit_code >= 0 ? nlohmann::json(o.exit_code) : nlohmann::json(nullptr)},
      {"signal", o.signal != 0 ? nlohmann::json(o.signal) : nlohmann::json(nullptr)},
      {"cpu_time_ms", o.cpu_time_ms},
      {"wall_time_ms", o.wall_time_ms},
      {"memory_kib", o.memory_kib},
      {"stdout_truncated", o.stdout_truncated},
      {"stderr_truncated", o.stderr_truncated},
      {"message", o.message},
  };
  if (with_output) {
    // Invalid UTF-8 from a program must not make the JSON dump throw: replace it.
    j["stdout"] = o.stdout_data;
    j["stderr"] = o.stderr_data;
  }
  return j;
}

}  // namespace runbox::cli
