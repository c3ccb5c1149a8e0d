#include "cli/job_json.h"

#include "cli/outcome_json.h"

namespace runbox::cli {

std::string OverallStatus(const engine::JobResult& r) {
  if (r.compile_error) {
    return "CE";
  }
  bool judged = false, wrong = false;
  for (const auto& c : r.cases) {
    if (c.run.status != sandbox::RunStatus::kOk) {
      return sandbox::StatusCode(c.run.status);
    }
    judged = judged || c.verdict != engine::Verdict::kNone;
    wrong = wrong || c.verdict == engine::Verdict::kWrongAnswer;
  }
  if (judged) {
    return wrong ? "WA" : "AC";
  }
  return "OK";
}

nlohmann::json JobResultToJson(const engine::JobResult& r) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& c : r.cases) {
    nlohmann::json jc = {{"result", OutcomeToJson(c.run, true)}};
    switch (c.verdict) {
      case engine::Verdict::kNone: jc["verdict"] = nullptr; break;
      case engine::Verdict::kAccepted: jc["verdict"] = "AC"; break;
      case engine::Verdict::kWrongAnswer:
        jc["verdict"] = "WA";
        jc["difference"] = c.difference;
        break;
    }
    cases.push_back(std::move(jc));
  }
  return {
      {"state", "done"},
      {"language", r.language},
      {"version", r.version},
      {"compile", r.compile ? OutcomeToJson(*r.compile, true) : nlohmann::json(nullptr)},
      {"compile_cached", r.compile_cached},
      {"status", OverallStatus(r)},
      {"cases", std::move(cases)},
  };
}

}  // namespace runbox::cli
