#pragma once
// The Result JSON of one sandboxed run, as `runbox exec --json` prints it (docs/api.md "Result").

#include <nlohmann/json.hpp>

#include "sandbox/outcome.h"

namespace runbox::cli {

nlohmann::json OutcomeToJson(const sandbox::Outcome& o, bool with_output);

}  // namespace runbox::cli
