#pragma once
// The verdict of one run: its status, exit code, signal and message, decided from what the
// supervisor observed. A pure function of plain data (no syscalls, no clock), so that every
// precedence rule has a row in verdict_test.cc.
//
// Precedence, first match wins:
//   1. the box's setup failed (a ChildError before execve)       -> an Error, not an Outcome
//   2. execve failed                                             -> RE, exit 127 (not found) or 126
//   3. no program status, no kill by runbox, no OOM kill         -> an Error (the init died)
//   4. runbox was cancelled                                      -> SE "run cancelled"
//   5. runbox killed it for wall time                            -> TLE (wall)
//   6. runbox killed it for CPU time, SIGXCPU, or the cgroup's CPU time reached the limit
//                                                                -> TLE (CPU)
//   7. an OOM kill in its cgroup                                 -> MLE
//   8. runbox killed it for its output                           -> OLE (output)
//   9. its files exceed a copy-out budget (nothing was copied)   -> OLE (the budget's message)
//  10. SIGXFSZ                                                   -> OLE (file size)
//  11. any other signal                                          -> SG (SIGSYS: a forbidden call)
//  12. a non-zero exit                                           -> RE
//  13. otherwise                                                 -> OK
// A program runbox killed has no status of its own: its signal is SIGKILL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sandbox/init_protocol.h"
#include "sandbox/outcome.h"
#include "sandbox/policy.h"

namespace runbox::sandbox {

// Why runbox killed the box: the first reason only (what follows is the kill's own doing).
enum class KillReason { kNone, kWallTime, kCpuTime, kOutput, kCancelled };

struct VerdictInputs {
  Limits limits;                          // the run's limits, for the messages and the CPU check
  std::optional<ChildError> child_error;  // from the error pipe: setup or execve failed
  std::optional<int32_t> program_status;  // the program's wait status, as the init reported it
  int init_status = 0;                    // the init's own end (128+N for signal N), if reaped
  KillReason kill_reason = KillReason::kNone;
  uint64_t cpu_ns = 0;       // CPU time of the program's tree (set-up's excluded)
  uint64_t oom_kills = 0;    // OOM kills in the box's cgroup
  std::string copy_refused;  // CopyOutReport::refused; empty: copied, or no copy
  std::string_view command;  // argv[0], for "command not found"
};

struct Verdict {
  RunStatus status = RunStatus::kSystemError;
  int exit_code = -1;  // when it exited; -1 otherwise
  int signal = 0;      // the terminating signal, 0 if it exited
  std::string message;
};

// Fails (rules 1 and 3) only where runbox itself could not run the program.
Result<Verdict> DecideVerdict(const VerdictInputs& in);

// "box setup failed while <stage><detail>" with the child's errno: the error for a ChildError
// from the box's set-up. detail: more about the stage (" (bind /usr on ...)"), or empty.
Error BoxSetupError(const ChildError& e, const std::string& detail = "");

}  // namespace runbox::sandbox
