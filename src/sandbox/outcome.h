#pragma once
// Outcome: how one sandboxed run ended. A program that hits a limit is an outcome, not an error:
// Result<Outcome> fails only when runbox itself could not do its job.

#include <cstdint>
#include <string>

namespace runbox::sandbox {

enum class RunStatus {
  kOk,                   // OK: exited 0
  kRuntimeError,         // RE: exited non-zero
  kSignaled,             // SG: killed by a signal it did not get from runbox
  kTimeLimit,            // TLE: CPU or wall time limit (message says which)
  kMemoryLimit,          // MLE: OOM in its cgroup
  kOutputLimit,          // OLE: output or file size limit
  kSystemError,          // SE: runbox failed; never the program's fault
};

// "OK", "RE", "SG", "TLE", "MLE", "OLE", "SE"
const char* StatusCode(RunStatus s);

struct Outcome {
  RunStatus status = RunStatus::kSystemError;
  int exit_code = -1;        // when it exited; -1 otherwise
  int signal = 0;            // the terminating signal, 0 if it exited
  uint64_t cpu_time_ms = 0;  // cgroup CPU time of the whole tree (user + system)
  uint64_t wall_time_ms = 0; // monotonic clock, from start to the end of the last process
  uint64_t memory_kib = 0;   // peak memory of the whole tree (cgroup)
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  std::string message;       // for a human: "CPU time limit of 2 s exceeded"
  // Captured output, when the caller asked for capture rather than forwarding.
  std::string stdout_data;
  std::string stderr_data;

  // The exit status `runbox exec` returns: the program's code, 128+N for signal N (137 when
  // runbox killed it for a limit, as docker run does), 125 when runbox failed.
  int ExitStatus() const;
};

}  // namespace runbox::sandbox
