#pragma once
// Parent, outside the box: watching a started program. From the second go-ahead until the
// program has ended (the init reported its wait status, or the init itself is gone) and its
// output is drained, one poll loop in the calling thread pumps the program's output to the
// caller within the output limit, feeds its stdin, relays signals to it, and kills the box
// (SIGKILL to its init) for wall time, CPU time, output or a cancel. What it saw is plain data
// for the verdict (verdict.h).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/cgroup.h"
#include "sandbox/init_protocol.h"
#include "sandbox/policy.h"
#include "sandbox/sandbox.h"
#include "sandbox/verdict.h"

namespace runbox::sandbox {

// The supervisor's ends of a started box, borrowed from the Box for the watch.
struct WatchedBox {
  long init_pid = -1;              // host pid of the box's init (the program is its child)
  int pid_fd = -1;                 // the init's pidfd: the box is killed and reaped through it
  bool* init_gone = nullptr;       // set once the init is reaped
  const Cgroup* cgroup = nullptr;  // CPU time of the box
  int out_read = -1;               // the program's stdout and stderr (made non-blocking)
  int errout_read = -1;
  UniqueFd* in_write = nullptr;     // its stdin: closed at the caller's EOF or when the program
                                    // closes its end; invalid when stdin is /dev/null
  UniqueFd* err_read = nullptr;     // ChildError records: closed after one, or at EOF
  UniqueFd* status_read = nullptr;  // the init's report of the program's wait status
};

struct WatchReport {
  KillReason kill_reason = KillReason::kNone;  // the first reason runbox killed the box for
  std::optional<ChildError> child_error;
  std::optional<int32_t> program_status;
  int init_status = 0;        // when the init was reaped: its exit code, or 128+N for signal N
  uint64_t wall_time_ms = 0;  // from start to the program's end (or the init's)
  // Output nobody else took (RunRequest::stdout_fd and on_output), and whether the output limit
  // cut that stream.
  std::string stdout_data, stderr_data;
  bool stdout_truncated = false, stderr_truncated = false;
};

// Watches the program released at `start`, when the box's cgroup had used cpu_baseline_ns of
// CPU (the set-up's, not the program's). Fails only when poll(2) does.
Result<WatchReport> WatchProgram(const WatchedBox& box, const RunRequest& request,
                                 const Limits& limits, std::chrono::steady_clock::time_point start,
                                 uint64_t cpu_baseline_ns);

}  // namespace runbox::sandbox
