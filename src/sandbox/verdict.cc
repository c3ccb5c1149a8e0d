#include "sandbox/verdict.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "base/units.h"

namespace runbox::sandbox {
namespace {

const char* StageName(ChildStage s) {
  switch (s) {
    case ChildStage::kSync: return "waiting for the supervisor";
    case ChildStage::kIdentity: return "switching to the box user";
    case ChildStage::kMountPrivate: return "making the mount namespace private";
    case ChildStage::kMount: return "building the file system";
    case ChildStage::kPivotRoot: return "pivot_root";
    case ChildStage::kRootReadOnly: return "making the root read-only";
    case ChildStage::kChdir: return "entering the workdir";
    case ChildStage::kHostname: return "setting the hostname";
    case ChildStage::kLoopback: return "bringing loopback up";
    case ChildStage::kCgroupNamespace: return "creating the cgroup namespace";
    case ChildStage::kRlimit: return "setting rlimits";
    case ChildStage::kCapabilities: return "dropping capabilities";
    case ChildStage::kNoNewPrivs: return "setting no_new_privs";
    case ChildStage::kSeccomp: return "installing the seccomp filter";
    case ChildStage::kFork: return "starting the program";
    case ChildStage::kStdio: return "setting up stdio";
    case ChildStage::kExec: return "execve";
    case ChildStage::kCgroupJoin: return "joining the box's cgroups";
    case ChildStage::kInit: return "starting the box's init";
  }
  return "setup";
}

const char* SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? abbrev : "?";
}

// Like a shell: 127 when the command is not found, 126 when it cannot be run.
Verdict ExecFailed(int err, std::string_view command) {
  Verdict v;
  v.status = RunStatus::kRuntimeError;
  v.exit_code = err == ENOENT ? 127 : 126;
  v.message = err == ENOENT ? "command not found in the box: " + std::string(command)
                            : "cannot run " + std::string(command) + ": " + std::strerror(err);
  return v;
}

// Rules 4 to 13 of verdict.h: status and message of a program that ran.
void Judge(const VerdictInputs& in, bool signaled, Verdict& v) {
  const Limits& limits = in.limits;
  const uint64_t cpu_limit_ns = static_cast<uint64_t>(limits.cpu_time.count()) * 1000000ull;
  auto set = [&](RunStatus status, std::string message) {
    v.status = status;
    v.message = std::move(message);
  };
  if (in.kill_reason == KillReason::kCancelled) {
    set(RunStatus::kSystemError, "run cancelled");
  } else if (in.kill_reason == KillReason::kWallTime) {
    set(RunStatus::kTimeLimit,
        "wall time limit of " + FormatDuration(limits.wall_time) + " exceeded");
  } else if (in.kill_reason == KillReason::kCpuTime || v.signal == SIGXCPU ||
             in.cpu_ns >= cpu_limit_ns) {
    set(RunStatus::kTimeLimit,
        "CPU time limit of " + FormatDuration(limits.cpu_time) + " exceeded");
  } else if (in.oom_kills > 0) {
    set(RunStatus::kMemoryLimit,
        "memory limit of " + FormatSize(limits.memory_bytes) + " exceeded");
  } else if (in.kill_reason == KillReason::kOutput) {
    set(RunStatus::kOutputLimit,
        "output limit of " + FormatSize(limits.output_bytes) + " exceeded");
  } else if (!in.copy_refused.empty()) {
    // The program ended on its own, but left more in the workdir than the copy-out takes: its
    // output is over a limit (nothing was copied), like output past output_bytes.
    set(RunStatus::kOutputLimit, in.copy_refused);
  } else if (v.signal == SIGXFSZ) {
    set(RunStatus::kOutputLimit,
        "file size limit of " + FormatSize(limits.file_size_bytes) + " exceeded");
  } else if (signaled) {
    set(RunStatus::kSignaled,
        "killed by signal " + std::to_string(v.signal) + " (SIG" + SignalName(v.signal) + ")" +
            (v.signal == SIGSYS ? ": a system call forbidden in the box" : ""));
  } else if (v.exit_code != 0) {
    set(RunStatus::kRuntimeError, "exited with code " + std::to_string(v.exit_code));
  } else {
    set(RunStatus::kOk, "exited with code 0");
  }
}

}  // namespace

Error BoxSetupError(const ChildError& e, const std::string& detail) {
  return ErrnoError(std::string("box setup failed while ") + StageName(e.stage) + detail,
                    e.sys_errno);
}

Result<Verdict> DecideVerdict(const VerdictInputs& in) {
  if (in.child_error && in.child_error->stage != ChildStage::kExec) {
    return BoxSetupError(*in.child_error);
  }
  if (in.child_error) {
    return ExecFailed(in.child_error->sys_errno, in.command);
  }
  if (!in.program_status && in.kill_reason == KillReason::kNone && in.oom_kills == 0) {
    return MakeError(ErrorCode::kInternal,
                     "the box's init ended without reporting the program's status (init exit " +
                         std::to_string(in.init_status) + ")");
  }
  const int status = in.program_status.value_or(0);
  const bool exited = in.program_status && WIFEXITED(status);
  const bool signaled = in.program_status && WIFSIGNALED(status);
  Verdict v;
  v.exit_code = exited ? WEXITSTATUS(status) : -1;
  // No status of its own: runbox (or the OOM killer) killed the whole box.
  v.signal = signaled ? WTERMSIG(status) : (in.program_status ? 0 : SIGKILL);
  Judge(in, signaled, v);
  const bool limit = v.status == RunStatus::kTimeLimit || v.status == RunStatus::kMemoryLimit ||
                     v.status == RunStatus::kOutputLimit;
  if (limit && !signaled && !exited) {
    v.signal = SIGKILL;
  }
  return v;
}

}  // namespace runbox::sandbox
