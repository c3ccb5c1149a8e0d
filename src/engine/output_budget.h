#pragma once
// OutputBudget: what one job may print in all (EngineConfig::job_output_bytes), the compile
// step and every test together. The server holds a job's whole output until it is stored, so
// this bounds the memory a job can make the server spend, however many tests it has.

#include <algorithm>
#include <cstdint>
#include <string>

#include "base/units.h"
#include "engine/job.h"
#include "sandbox/outcome.h"

namespace runbox::engine {

class OutputBudget {
 public:
  explicit OutputBudget(uint64_t total) : total_(total), left_(total) {}

  uint64_t left() const { return left_; }
  void Spend(const sandbox::Outcome& o) {
    left_ -= std::min<uint64_t>(left_, o.stdout_data.size() + o.stderr_data.size());
  }
  // A test went past what was left: the budget is spent, and its outcome says whose limit it was.
  void Exhaust(sandbox::Outcome* o) {
    left_ = 0;
    o->message += " (what was left of the job's output limit of " + FormatSize(total_) +
                  " for all tests and the compile step)";
  }
  // A test not run because nothing is left: OLE, the status of output past a limit, not SE: it
  // is the job's doing, and Judge0 clients retry an SE.
  CaseResult NotRun() const {
    CaseResult skipped;
    skipped.run.status = sandbox::RunStatus::kOutputLimit;
    skipped.run.stdout_truncated = true;
    skipped.run.message = "not run: the job's output limit of " + FormatSize(total_) +
                          " (all tests and the compile step together) was reached before "
                          "this test";
    return skipped;
  }

 private:
  uint64_t total_;
  uint64_t left_;
};

}  // namespace runbox::engine
