// Parent, outside the box, privileged: a Box's life. Prepare takes a slot and cgroups, launches
// the box (box_launch.h), writes its id maps and waits until it is built; Run fills the workdir,
// releases the program, watches it (program_watch.h), copies the workdir out and decides the
// verdict (verdict.h); Close ends the box and cleans up everything it made.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>

#include "base/files.h"
#include "base/unique_fd.h"
#include "sandbox/box_launch.h"
#include "sandbox/cgroup.h"
#include "sandbox/mount_plan.h"
#include "sandbox/program_message.h"
#include "sandbox/program_watch.h"
#include "sandbox/sandbox.h"
#include "sandbox/slot.h"
#include "sandbox/verdict.h"
#include "sandbox/workdir_copy.h"

namespace runbox::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// What a run asks for, checked before a box is touched. A NUL cannot be part of an execve
// string: anything after it would be cut off (or, in a NUL-separated message, become the next
// string: an argument "x\0/usr/bin/id" once made the box run /usr/bin/id instead of the
// language's interpreter). Refused here as the last wall, whatever the API layer let through.
Status CheckRequest(const RunRequest& request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no command given to run in the box");
  }
  for (size_t i = 0; i < request.argv.size(); ++i) {
    if (request.argv[i].find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       (i == 0 ? std::string("the command") : "argument " + std::to_string(i)) +
                           " '" + Printable(request.argv[i]) + "' holds a NUL byte");
    }
  }
  for (const auto& [name, content] : request.files) {
    if (name.find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "file name '" + Printable(name) + "' holds a NUL byte");
    }
  }
  return OkStatus();
}

// The host's cgroup layout does not change while runbox runs: detect it once per parent.
Result<CgroupHost> HostCgroups(const std::string& parent) {
  static std::mutex mu;
  static std::vector<std::pair<std::string, CgroupHost>> cache;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [p, h] : cache) {
    if (p == parent) {
      return h;
    }
  }
  RUNBOX_ASSIGN_OR_RETURN(CgroupHost host, CgroupHost::Detect(parent));
  cache.emplace_back(parent, host);
  return host;
}

// The box's workdir as the host sees it while the box's namespaces live.
Result<UniqueFd> OpenBoxWorkdir(long pid, const std::string& workdir) {
  std::string path = "/proc/" + std::to_string(pid) + "/root" + workdir;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError("open the box's workdir " + path);
  }
  return fd;
}

// Waits until fd is readable, the child exits, or the setup deadline passes.
Status WaitReadable(int fd, int pid_fd, std::chrono::milliseconds limit, const char* what) {
  pollfd p[2] = {{fd, POLLIN, 0}, {pid_fd, POLLIN, 0}};
  for (;;) {
    int rc = ::poll(p, 2, static_cast<int>(limit.count()));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc < 0) {
      return ErrnoError(std::string("poll while ") + what);
    }
    if (rc == 0) {
      return MakeError(ErrorCode::kInternal, std::string("timed out while ") + what);
    }
    return OkStatus();
  }
}

// Writes to a pipe whose reader is gone (a program that never reads its stdin, a box that died)
// must fail with EPIPE, not kill runbox with SIGPIPE. Blocking it in this thread, and discarding
// what is pending afterwards, leaves the process-wide disposition alone.
class BlockSigpipe {
 public:
  BlockSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockSigpipe(const BlockSigpipe&) = delete;
  BlockSigpipe& operator=(const BlockSigpipe&) = delete;

 private:
  sigset_t old_;
};

// RUNBOX_TRACE_PHASES=1 prints how long each phase of a run took, for finding start-up costs.
class PhaseTrace {
 public:
  PhaseTrace() : on_(std::getenv("RUNBOX_TRACE_PHASES") != nullptr), last_(Clock::now()) {}
  void Mark(const char* phase) {
    if (!on_) {
      return;
    }
    auto now = Clock::now();
    std::fprintf(stderr, "runbox: phase %-22s %7.3f ms\n", phase,
                 std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }

 private:
  bool on_;
  Clock::time_point last_;
};

}  // namespace

// Everything a box holds between Prepare and Close, released in reverse order of acquisition.
struct Box::State {
  Policy policy;
  Slot slot;
  std::unique_ptr<Cgroup> cgroup;
  std::vector<std::string> env;  // the program's environment (its PATH finds argv[0])
  bool stdin_pipe = false;
  int nice = 0;  // of the waiting init
  BoxEnds ends;  // the box's first process (its init) and the supervisor's ends of its pipes
  bool used = false;
  bool init_gone = false;  // reaped already

  // SIGKILLs the init, which takes the pid namespace (every process of the box) and with it
  // the mount namespace along, then reaps it.
  void EndInit() {
    if (ends.pid_fd.valid() && !init_gone) {
      ::syscall(SYS_pidfd_send_signal, ends.pid_fd.get(), SIGKILL, nullptr, 0);
      siginfo_t info;
      ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(ends.pid_fd.get()), &info,
               WEXITED);
      init_gone = true;
    }
  }
};

namespace {

// ---- Prepare's steps ----

Status CheckPreparable(const Policy& policy, const BoxOptions& options) {
  RUNBOX_TRY(policy.Validate());
  if (options.nice < 0 || options.nice > 19) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a box's nice value must be 0..19, not " + std::to_string(options.nice));
  }
  if (::geteuid() != 0) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "runbox must run as root: each box slot maps to its own unprivileged host "
                     "uid and gets its own cgroups, which only root can set up (the program in "
                     "the box never runs as root); `runbox doctor` checks the host");
  }
  return OkStatus();
}

// The box keeps the policy without its copies: those belong to each Run.
std::unique_ptr<Box::State> NewState(const Policy& policy, Slot slot, const BoxOptions& options) {
  auto st = std::make_unique<Box::State>();
  st->policy = policy;
  st->slot = std::move(slot);
  st->policy.copy_in.clear();
  st->policy.copy_out.clear();
  st->env = policy.env.empty() ? DefaultEnvironment() : policy.env;
  st->stdin_pipe = options.stdin_pipe;
  st->nice = options.nice;
  return st;
}

// Maps the box's uid and gid to the slot's host id, then gives go-ahead 1: the child (in its
// cgroups already) builds its file system.
Status ReleaseToBuild(const Box::State& st) {
  const uint32_t host_id = st.slot.host_uid();
  std::string procdir = "/proc/" + std::to_string(st.ends.pid);
  std::string id = std::to_string(st.policy.uid) + " " + std::to_string(host_id) + " 1\n";
  std::string gid = std::to_string(st.policy.gid) + " " + std::to_string(host_id) + " 1\n";
  RUNBOX_TRY(WriteFile(procdir + "/uid_map", id));
  RUNBOX_TRY(WriteFile(procdir + "/gid_map", gid));
  if (::write(st.ends.sync_write.get(), "g", 1) != 1) {
    return ErrnoError("release the box");
  }
  return OkStatus();
}

// Waits for the box's ready byte. Without it the child failed while building the box: its error
// record (or nothing, if it died otherwise) is in the error pipe, complete once it has exited.
Status AwaitBuilt(Box::State& st, const MountPlan& mounts) {
  RUNBOX_TRY(WaitReadable(st.ends.ready_read.get(), st.ends.pid_fd.get(), std::chrono::seconds(30),
                          "waiting for the box to be built"));
  char ready_byte = 0;
  if (::read(st.ends.ready_read.get(), &ready_byte, 1) == 1) {
    return OkStatus();
  }
  st.EndInit();
  ChildError e{};
  if (::read(st.ends.err_read.get(), &e, sizeof e) != static_cast<ssize_t>(sizeof e)) {
    return MakeError(ErrorCode::kInternal, "the box's init ended while the box was built");
  }
  std::string detail;
  if (e.stage == ChildStage::kMount && e.index >= 0 &&
      static_cast<size_t>(e.index) < mounts.ops().size()) {
    detail = " (" + mounts.Describe(static_cast<size_t>(e.index)) + ")";
  }
  return BoxSetupError(e, detail);
}

// ---- Run's steps ----

Status CheckRunnable(const Box::State& st, const Policy& policy, const RunRequest& request) {
  if (st.used) {
    return MakeError(ErrorCode::kInvalidArgument, "a box runs one program; prepare another");
  }
  if (!st.policy.SameBox(policy)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the policy differs from the one the box was prepared for");
  }
  RUNBOX_TRY(CheckRequest(request));
  if (request.stdin_fd >= 0 && !st.stdin_pipe) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the box was prepared with stdin from /dev/null, and the run has stdin");
  }
  return OkStatus();
}

// policy.copy_in, then the request's files, into the box's workdir as the box user.
Status FillWorkdir(const Box::State& st, const Policy& policy, const RunRequest& request) {
  if (policy.copy_in.empty() && request.files.empty()) {
    return OkStatus();
  }
  const uint32_t host_id = st.slot.host_uid();
  RUNBOX_ASSIGN_OR_RETURN(UniqueFd workdir, OpenBoxWorkdir(st.ends.pid, policy.workdir));
  std::shared_lock<std::shared_mutex> copying(ForkGuard());
  if (!policy.copy_in.empty()) {
    if (Status s = CopyIn(policy.copy_in, workdir.get(), host_id, host_id); !s) {
      return std::move(s).error().Wrap("copy " + policy.copy_in + " into the box");
    }
  }
  if (Status s = WriteFilesIn(workdir.get(), request.files, host_id, host_id); !s) {
    return std::move(s).error().Wrap("write the job's files into the box");
  }
  return OkStatus();
}

struct Started {
  Clock::time_point start;
  uint64_t cpu_baseline_ns;
};

// Go-ahead 2: workdir filled, here is the program. A child that failed already reads EPIPE
// here and its error record is picked up by the watch. The CPU the box's set-up used so far
// (its mounts; on v2 the child is born in the cgroup) is runbox's, not the program's: the
// baseline.
Result<Started> StartProgram(Box::State& st, const std::string& message, bool has_stdin) {
  // The program starts at normal priority whatever the init waited at (root may lower it).
  if (st.nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(st.ends.pid), 0) != 0) {
    return ErrnoError("reset the prepared box's priority");
  }
  RUNBOX_ASSIGN_OR_RETURN(const uint64_t cpu_baseline_ns, st.cgroup->CpuNs());
  const auto start = Clock::now();
  (void)WriteAll(st.ends.sync_write.get(), message.data(), message.size());
  st.ends.sync_write.reset();
  if (!has_stdin) {
    st.ends.in_write.reset();  // EOF for the program at once
  }
  return Started{start, cpu_baseline_ns};
}

// The program is done and its init parked (or gone): copies the workdir out while the box's
// mounts still exist, within budgets bound to the box's disk limit: what a hostile box left
// there must not cost the host more than the box itself could hold (CopyOutBudget). Returns
// CopyOutReport::refused; nothing is copied from a program runbox killed or that never reported.
Result<std::string> CopyOutOf(const Box::State& st, const Policy& policy,
                              const WatchReport& watch) {
  if (policy.copy_out.empty() || !watch.program_status || st.init_gone ||
      watch.kill_reason != KillReason::kNone) {
    return std::string();
  }
  RUNBOX_ASSIGN_OR_RETURN(UniqueFd workdir, OpenBoxWorkdir(st.ends.pid, policy.workdir));
  RUNBOX_ASSIGN_OR_RETURN(CopyOutReport report, CopyOut(workdir.get(), policy.copy_out,
                                                        CopyOutBudget::For(policy.limits)));
  return std::move(report.refused);
}

// The cgroup's accounting (final: the box is empty) and the verdict, as the run's Outcome.
Result<Outcome> MakeOutcome(const Box::State& st, const Policy& policy, const RunRequest& request,
                            uint64_t cpu_baseline_ns, WatchReport watch, std::string copy_refused) {
  RUNBOX_ASSIGN_OR_RETURN(CgroupUsage usage, st.cgroup->Usage());
  usage.cpu_ns = usage.cpu_ns > cpu_baseline_ns ? usage.cpu_ns - cpu_baseline_ns : 0;
  RUNBOX_ASSIGN_OR_RETURN(Verdict verdict, DecideVerdict(VerdictInputs{
                                               .limits = policy.limits,
                                               .child_error = watch.child_error,
                                               .program_status = watch.program_status,
                                               .init_status = watch.init_status,
                                               .kill_reason = watch.kill_reason,
                                               .cpu_ns = usage.cpu_ns,
                                               .oom_kills = usage.oom_kills,
                                               .copy_refused = std::move(copy_refused),
                                               .command = request.argv[0],
                                           }));
  Outcome outcome;
  outcome.status = verdict.status;
  outcome.exit_code = verdict.exit_code;
  outcome.signal = verdict.signal;
  outcome.message = std::move(verdict.message);
  outcome.cpu_time_ms = usage.cpu_ns / 1000000ull;
  outcome.wall_time_ms = watch.wall_time_ms;
  outcome.memory_kib = usage.peak_memory_bytes / 1024;
  outcome.stdout_truncated = watch.stdout_truncated;
  outcome.stderr_truncated = watch.stderr_truncated;
  outcome.stdout_data = std::move(watch.stdout_data);
  outcome.stderr_data = std::move(watch.stderr_data);
  return outcome;
}

}  // namespace

Box::Box(std::unique_ptr<State> state) : state_(std::move(state)) {}
Box::Box(Box&&) noexcept = default;
Box& Box::operator=(Box&& other) noexcept {
  if (this != &other) {
    (void)Close();
    state_ = std::move(other.state_);
  }
  return *this;
}
Box::~Box() {
  (void)Close();
}

bool Box::Fits(const Policy& policy) const {
  return state_ && !state_->used && state_->policy.SameBox(policy);
}

Status Box::Close() {
  if (!state_) {
    return OkStatus();
  }
  std::unique_ptr<State> st = std::move(state_);
  PhaseTrace trace;
  st->EndInit();
  trace.Mark("init ended");
  // Nothing survives: the cgroup is emptied and removed (the mounts went with the namespace).
  Status removed = st->cgroup ? st->cgroup->Destroy() : OkStatus();
  st->cgroup.reset();
  trace.Mark("cgroup removed");
  return removed;  // the slot's lock goes with st
}

Result<Box> Box::Prepare(const Policy& policy, const HostConfig& host, const BoxOptions& options) {
  PhaseTrace trace;
  RUNBOX_TRY(CheckPreparable(policy, options));
  BlockSigpipe no_sigpipe;
  RUNBOX_ASSIGN_OR_RETURN(CgroupHost cgroups, HostCgroups(host.cgroup_parent));
  trace.Mark("cgroup detect");
  RUNBOX_ASSIGN_OR_RETURN(Slot slot, Slot::Acquire(host, options.slot));
  trace.Mark("slot");
  // From here an early return closes the box: the cgroup, a child already cloned, the slot.
  Box box(NewState(policy, std::move(slot), options));
  State& s = *box.state_;
  RUNBOX_ASSIGN_OR_RETURN(s.cgroup,
                          Cgroup::Create(cgroups, "runbox-" + std::to_string(s.slot.index())));
  // +1: the box's init is a task too.
  RUNBOX_TRY(s.cgroup->SetLimits(policy.limits.memory_bytes, policy.limits.pids + 1));
  trace.Mark("cgroup create");
  RUNBOX_ASSIGN_OR_RETURN(MountPlan mounts, MountPlan::Build(policy, s.slot.root()));
  trace.Mark("mount plan");
  RUNBOX_ASSIGN_OR_RETURN(s.ends, LaunchBox(policy, mounts, *s.cgroup, s.slot, s.env, options.nice,
                                            options.stdin_pipe));
  trace.Mark("clone");
  RUNBOX_TRY(ReleaseToBuild(s));
  trace.Mark("id maps");
  RUNBOX_TRY(AwaitBuilt(s, mounts));
  s.ends.ready_read.reset();
  trace.Mark("box built");
  return box;
}

Result<Outcome> Box::Run(const Policy& policy, const RunRequest& request) {
  if (!state_) {
    return MakeError(ErrorCode::kInvalidArgument, "the box is closed");
  }
  State& st = *state_;
  RUNBOX_TRY(CheckRunnable(st, policy, request));
  st.used = true;
  PhaseTrace trace;
  BlockSigpipe no_sigpipe;
  RUNBOX_TRY(FillWorkdir(st, policy, request));
  RUNBOX_ASSIGN_OR_RETURN(std::string message, ProgramMessage(request.argv, st.env));
  RUNBOX_ASSIGN_OR_RETURN(Started started, StartProgram(st, message, request.stdin_fd >= 0));
  WatchedBox watched{.init_pid = st.ends.pid,
                     .pid_fd = st.ends.pid_fd.get(),
                     .init_gone = &st.init_gone,
                     .cgroup = st.cgroup.get(),
                     .out_read = st.ends.out_read.get(),
                     .errout_read = st.ends.errout_read.get(),
                     .in_write = &st.ends.in_write,
                     .err_read = &st.ends.err_read,
                     .status_read = &st.ends.status_read};
  RUNBOX_ASSIGN_OR_RETURN(WatchReport watch, WatchProgram(watched, request, policy.limits,
                                                          started.start, started.cpu_baseline_ns));
  trace.Mark("program ran");
  Result<std::string> copy_refused = CopyOutOf(st, policy, watch);
  // A parked init has killed and reaped the rest of the box before it reported the program's
  // status: the cgroup's accounting is final, and ending the init can wait for Close(). An init
  // that was killed (a limit, a cancel) or never reported must be gone before the accounting.
  if (!st.init_gone && (!watch.program_status || watch.kill_reason != KillReason::kNone)) {
    st.EndInit();
  }
  if (!copy_refused) {
    return std::move(copy_refused).error().Wrap("copy the box's files to " + policy.copy_out);
  }
  return MakeOutcome(st, policy, request, started.cpu_baseline_ns, std::move(watch),
                     std::move(*copy_refused));
}

Result<Outcome> Run(const Policy& policy, const RunRequest& request, const HostConfig& host) {
  RUNBOX_TRY(CheckRequest(request));
  RUNBOX_ASSIGN_OR_RETURN(
      Box box, Box::Prepare(policy, host, BoxOptions{request.slot, request.stdin_fd >= 0}));
  RUNBOX_ASSIGN_OR_RETURN(Outcome outcome, box.Run(policy, request));
  RUNBOX_TRY(box.Close());
  return outcome;
}

}  // namespace runbox::sandbox
