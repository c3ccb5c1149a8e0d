#include "sandbox/outcome.h"

namespace runbox::sandbox {

const char* StatusCode(RunStatus s) {
  switch (s) {
    case RunStatus::kOk: return "OK";
    case RunStatus::kRuntimeError: return "RE";
    case RunStatus::kSignaled: return "SG";
    case RunStatus::kTimeLimit: return "TLE";
    case RunStatus::kMemoryLimit: return "MLE";
    case RunStatus::kOutputLimit: return "OLE";
    case RunStatus::kSystemError: return "SE";
  }
  return "SE";
}

int Outcome::ExitStatus() const {
  switch (status) {
    case RunStatus::kOk:
    case RunStatus::kRuntimeError:
      return exit_code;
    case RunStatus::kSignaled:
      return 128 + signal;
    case RunStatus::kTimeLimit:
    case RunStatus::kMemoryLimit:
    case RunStatus::kOutputLimit:
      // runbox (or the kernel, on its behalf) ended the program: report it the way docker run
      // reports an OOM kill, or the program's own signal when it got SIGXCPU/SIGXFSZ.
      // A program that exited 0 and still went over a limit (its files exceed the copy-out
      // budget, a child was OOM-killed) must not look like a success: 1.
      if (signal != 0) {
        return 128 + signal;
      }
      return exit_code > 0 ? exit_code : (exit_code == 0 ? 1 : 137);
    case RunStatus::kSystemError:
      return 125;
  }
  return 125;
}

}  // namespace runbox::sandbox
