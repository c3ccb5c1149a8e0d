#pragma once
// The JobResult JSON of docs/api.md ("JobResult"), as `runbox run --json` prints it.

#include <string>

#include <nlohmann/json.hpp>

#include "engine/job.h"

namespace runbox::cli {

// Overall status: CE, else the first non-OK case's status, else WA/AC when judged, else OK.
std::string OverallStatus(const engine::JobResult& r);
nlohmann::json JobResultToJson(const engine::JobResult& r);

}  // namespace runbox::cli
