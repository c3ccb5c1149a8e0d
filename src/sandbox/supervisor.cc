// Parent, outside the box, privileged: prepares the slot, cgroup and plan, clones the child into
// fresh namespaces, writes its id maps, releases it, then supervises it (output, limits, wall
// time, cancellation) until it is gone, and cleans up everything it made.

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <tuple>

#include "base/files.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "base/units.h"
#include "sandbox/cgroup.h"
#include "sandbox/child_plan.h"
#include "sandbox/init_image.h"
#include "sandbox/mount_plan.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/slot.h"
#include "sandbox/workdir_copy.h"

namespace runbox::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;

struct Pipe {
  UniqueFd read, write;
  static Result<Pipe> Make() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      return ErrnoError("pipe2");
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
};

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

// A box's first process is a fork of this process and holds copies of all its file descriptors
// until it closes them (the init does so before the program starts). Had it been forked while
// another thread had a file open for writing in its box (CopyIn), executing that file in the
// other box failed with ETXTBSY: a written-to inode cannot be executed while any process holds
// it open for writing. Copy-ins hold this lock shared, clone3 exclusive: no box is forked while
// a copy-in has a file open. (Reproduced by EngineTest.ConcurrentRunsOfACompiledProgram...)
std::shared_mutex& ForkGuard() {
  static std::shared_mutex mu;
  return mu;
}

// Delivers sig to the box's program: the child of the box's init (host pid init_pid) that is
// pid 2 in the box's pid namespace. The pidfd pins the process, and it is checked again after
// the pidfd is open, so a pid reused in between is never signalled. False when the program is
// gone (nothing to do then).
bool SignalProgram(pid_t init_pid, int sig) {
  std::string init = std::to_string(init_pid);
  auto children = ReadFile("/proc/" + init + "/task/" + init + "/children");
  if (!children) {
    return false;
  }
  auto is_program = [&](const std::string& pid) {
    auto status = ReadFile("/proc/" + pid + "/status");
    if (!status) {
      return false;
    }
    // "NSpid:\t<host pid>\t2" (one field per pid namespace, innermost last); "PPid:\t<init>".
    bool nspid_2 = false, child_of_init = false;
    for (const auto& line : Split(*status, '\n')) {
      if (line.rfind("NSpid:", 0) == 0) {
        nspid_2 = line.size() >= 2 && line.compare(line.size() - 2, 2, "\t2") == 0;
      } else if (line.rfind("PPid:", 0) == 0) {
        child_of_init = Trim(line.substr(5)) == init;
      }
    }
    return nspid_2 && child_of_init;
  };
  for (const auto& pid : Split(Trim(*children), ' ')) {
    if (pid.empty() || !is_program(pid)) {
      continue;
    }
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(pid), 0)));
    if (!fd.valid() || !is_program(pid)) {
      return false;
    }
    return ::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) == 0;
  }
  return false;
}

// A string for an error message: NUL and other control bytes escaped, at most 80 bytes shown.
std::string Printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\0') {
      out += "\\0";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return s.size() > 80 ? out + "..." : out;
}

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

int CapLastCap() {
  auto s = ReadFile("/proc/sys/kernel/cap_last_cap");
  return s ? std::atoi(s->c_str()) : 40;
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

std::vector<std::string> ExecCandidates(const std::string& cmd, const std::vector<std::string>& env) {
  if (cmd.find('/') != std::string::npos) {
    return {cmd};
  }
  std::string path = "/usr/bin:/bin";
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) {
      path = e.substr(5);
    }
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string dir = path.substr(start, end - start);
    out.push_back((dir.empty() ? "." : dir) + "/" + cmd);
    start = end + 1;
  }
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

const char* SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? abbrev : "?";
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

enum class KillReason { kNone, kWallTime, kCpuTime, kOutput, kCancelled };

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
  long pid = -1;
  UniqueFd pid_fd;
  // The supervisor's ends of the box's pipes.
  UniqueFd sync_write, err_read, status_read, out_read, errout_read, in_write;
  bool used = false;
  bool init_gone = false;  // reaped already

  // SIGKILLs the init, which takes the pid namespace (every process of the box) and with it
  // the mount namespace along, then reaps it.
  void EndInit() {
    if (pid_fd.valid() && !init_gone) {
      ::syscall(SYS_pidfd_send_signal, pid_fd.get(), SIGKILL, nullptr, 0);
      siginfo_t info;
      ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pid_fd.get()), &info, WEXITED);
      init_gone = true;
    }
  }
};

Box::Box(std::unique_ptr<State> state) : state_(std::move(state)) {}
Box::Box(Box&&) noexcept = default;
Box& Box::operator=(Box&& other) noexcept {
  if (this != &other) {
    (void)Close();
    state_ = std::move(other.state_);
  }
  return *this;
}
Box::~Box() { (void)Close(); }

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
  BlockSigpipe no_sigpipe;
  const SeccompProgram* filter = &DefaultFilter();
  RUNBOX_ASSIGN_OR_RETURN(CgroupHost cgroups, HostCgroups(host.cgroup_parent));
  trace.Mark("cgroup detect");
  RUNBOX_ASSIGN_OR_RETURN(Slot slot, Slot::Acquire(host, options.slot));
  trace.Mark("slot");
  auto st = std::make_unique<State>();
  st->policy = policy;
  st->slot = std::move(slot);
  st->policy.copy_in.clear();
  st->policy.copy_out.clear();
  st->env = policy.env.empty() ? DefaultEnvironment() : policy.env;
  st->stdin_pipe = options.stdin_pipe;
  st->nice = options.nice;
  const Limits& limits = policy.limits;
  const uint32_t host_id = st->slot.host_uid();
  // From here an early return closes st: the cgroup, a child already cloned, the slot.
  Box box(nullptr);
  State* s = st.get();
  box.state_ = std::move(st);

  RUNBOX_ASSIGN_OR_RETURN(s->cgroup,
                          Cgroup::Create(cgroups, "runbox-" + std::to_string(s->slot.index())));
  // +1: the box's init is a task too.
  RUNBOX_TRY(s->cgroup->SetLimits(limits.memory_bytes, limits.pids + 1));
  trace.Mark("cgroup create");
  RUNBOX_ASSIGN_OR_RETURN(MountPlan mounts, MountPlan::Build(policy, s->slot.root()));
  trace.Mark("mount plan");

  std::vector<char*> env_c = CStrings(s->env);

  // RLIMIT_CPU is a per-process backstop a second above the limit; the cgroup's CPU time,
  // polled by the supervisor, is what enforces the limit for the whole tree.
  rlim_t cpu_s = static_cast<rlim_t>(std::ceil(static_cast<double>(limits.cpu_time.count()) / 1000.0)) + 1;
  std::vector<ChildPlan::Rlimit> rlimits = {
      {RLIMIT_CPU, {cpu_s, cpu_s + 1}},
      {RLIMIT_FSIZE, {limits.file_size_bytes, limits.file_size_bytes}},
      {RLIMIT_NOFILE, {limits.open_files, limits.open_files}},
      {RLIMIT_STACK, {limits.stack_bytes, limits.stack_bytes}},
      {RLIMIT_CORE, {0, 0}},
      {RLIMIT_NPROC, {limits.pids + 1, limits.pids + 1}},
      {RLIMIT_MEMLOCK, {64 << 10, 64 << 10}},
      {RLIMIT_MSGQUEUE, {0, 0}},
  };

  RUNBOX_ASSIGN_OR_RETURN(Pipe sync, Pipe::Make());
  RUNBOX_ASSIGN_OR_RETURN(Pipe ready, Pipe::Make());
  RUNBOX_ASSIGN_OR_RETURN(Pipe err, Pipe::Make());
  RUNBOX_ASSIGN_OR_RETURN(Pipe status, Pipe::Make());
  RUNBOX_ASSIGN_OR_RETURN(Pipe out, Pipe::Make());
  RUNBOX_ASSIGN_OR_RETURN(Pipe errout, Pipe::Make());
  Pipe in;
  if (options.stdin_pipe) {
    RUNBOX_ASSIGN_OR_RETURN(in, Pipe::Make());
  } else {
    in.read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in.read.valid()) {
      return ErrnoError("open /dev/null");
    }
  }

  // The box's ends of its stdio pipes belong to the box user: programs reopen /dev/stdin or
  // /proc/self/fd/1 (sqlite's `.import /dev/stdin`, node's readFileSync('/dev/stdin')), and a
  // pipe inode owned by root, which is unmapped in the box, refuses that with EACCES.
  for (int fd : {in.read.get(), out.write.get(), errout.write.get()}) {
    struct stat sb;
    if (::fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode) && ::fchown(fd, host_id, host_id) != 0) {
      return ErrnoError("chown the box's stdio pipe");
    }
  }
  sock_fprog fprog = filter->fprog();
  ChildPlan plan;
  plan.sync_fd = sync.read.get();
  plan.ready_fd = ready.write.get();
  plan.error_fd = err.write.get();
  plan.status_fd = status.write.get();
  plan.stdin_fd = in.read.get();
  plan.stdout_fd = out.write.get();
  plan.stderr_fd = errout.write.get();
  plan.cgroup_join_fds = s->cgroup->join_fds().data();
  plan.cgroup_join_count = s->cgroup->join_fds().size();
  plan.uid = policy.uid;
  plan.gid = policy.gid;
  plan.nice = options.nice;
  plan.mounts = mounts.ops().data();
  plan.mount_count = mounts.ops().size();
  std::string new_root = s->slot.root();
  plan.new_root = new_root.c_str();
  plan.workdir = policy.workdir.c_str();
  plan.hostname = policy.hostname.c_str();
  plan.loopback_up = policy.network == Network::kLoopback;
  plan.rlimits = rlimits.data();
  plan.rlimit_count = rlimits.size();
  plan.cap_last_cap = CapLastCap();
  plan.seccomp = &fprog;
  plan.envp = env_c.data();
  RUNBOX_ASSIGN_OR_RETURN(const int init_fd, InitImageFd());
  plan.init_fd = init_fd;
  std::vector<std::string> init_args(kInitArgCount);
  init_args[0] = "runbox-init";
  init_args[kInitArgSync] = std::to_string(plan.sync_fd);
  init_args[kInitArgReady] = std::to_string(plan.ready_fd);
  init_args[kInitArgError] = std::to_string(plan.error_fd);
  init_args[kInitArgStatus] = std::to_string(plan.status_fd);
  init_args[kInitArgStdin] = std::to_string(plan.stdin_fd);
  init_args[kInitArgStdout] = std::to_string(plan.stdout_fd);
  init_args[kInitArgStderr] = std::to_string(plan.stderr_fd);
  std::vector<char*> init_argv = CStrings(init_args);
  plan.init_argv = init_argv.data();

  // clone3 without CLONE_VM behaves like fork. The cgroup namespace is made by the child after
  // it joined its cgroup; on v2 CLONE_INTO_CGROUP has it born there, with no window outside.
  int pidfd = -1;
  clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (s->cgroup->clone_fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(s->cgroup->clone_fd());
  }
  // Copy-ins wait while this lock is held: a low-priority caller forks at normal priority, so
  // that it does not hold them up (the child makes itself nice again, plan.nice).
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (options.nice > 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 0);
  }
  std::unique_lock<std::shared_mutex> no_copy_in_running(ForkGuard());
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid != 0) {
    no_copy_in_running.unlock();
    if (options.nice > 0) {
      (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), options.nice);
    }
  }
  if (pid < 0 && errno == EPERM) {
    return Error{ErrorCode::kPermissionDenied, EPERM,
                 "cannot create the box's namespaces (clone3: Operation not permitted): run "
                 "runbox as root, and check that user namespaces are enabled "
                 "(sysctl user.max_user_namespaces > 0); `runbox doctor` checks the host"};
  }
  if (pid < 0) {
    return ErrnoError("clone3 the box");
  }
  if (pid == 0) {
    RunChild(plan);  // never returns
  }
  // From here an early return ends the child too (Close kills it; the cgroup's Destroy also
  // kills whatever it started).
  s->pid = pid;
  s->pid_fd.reset(pidfd);
  trace.Mark("clone");
  sync.read.reset();
  ready.write.reset();
  err.write.reset();
  status.write.reset();
  in.read.reset();
  out.write.reset();
  errout.write.reset();
  s->sync_write = std::move(sync.write);
  s->err_read = std::move(err.read);
  s->status_read = std::move(status.read);
  s->out_read = std::move(out.read);
  s->errout_read = std::move(errout.read);
  s->in_write = std::move(in.write);

  std::string procdir = "/proc/" + std::to_string(pid);
  std::string id = std::to_string(policy.uid) + " " + std::to_string(host_id) + " 1\n";
  std::string gid = std::to_string(policy.gid) + " " + std::to_string(host_id) + " 1\n";
  RUNBOX_TRY(WriteFile(procdir + "/uid_map", id));
  RUNBOX_TRY(WriteFile(procdir + "/gid_map", gid));
  // Go-ahead 1: the child (in its cgroups already) builds its file system.
  if (::write(s->sync_write.get(), "g", 1) != 1) {
    return ErrnoError("release the box");
  }
  trace.Mark("id maps");
  RUNBOX_TRY(WaitReadable(ready.read.get(), s->pid_fd.get(), std::chrono::seconds(30),
                          "waiting for the box to be built"));
  char ready_byte = 0;
  if (::read(ready.read.get(), &ready_byte, 1) != 1) {
    // The child failed while building the box: its error record (or nothing, if it died
    // otherwise) is in the error pipe, complete once it has exited.
    s->EndInit();
    ChildError e{};
    if (::read(s->err_read.get(), &e, sizeof e) != static_cast<ssize_t>(sizeof e)) {
      return MakeError(ErrorCode::kInternal, "the box's init ended while the box was built");
    }
    std::string what = StageName(e.stage);
    if (e.stage == ChildStage::kMount && e.index >= 0 &&
        static_cast<size_t>(e.index) < mounts.ops().size()) {
      what += " (" + mounts.Describe(static_cast<size_t>(e.index)) + ")";
    }
    return ErrnoError("box setup failed while " + what, e.sys_errno);
  }
  trace.Mark("box built");
  return box;
}

Result<Outcome> Box::Run(const Policy& policy, const RunRequest& request) {
  if (!state_) {
    return MakeError(ErrorCode::kInvalidArgument, "the box is closed");
  }
  State& st = *state_;
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
  st.used = true;
  PhaseTrace trace;
  BlockSigpipe no_sigpipe;
  const Limits& limits = policy.limits;
  const long pid = st.pid;
  const uint32_t host_id = st.slot.host_uid();
  Cgroup& cgroup = *st.cgroup;
  UniqueFd& pid_fd = st.pid_fd;
  UniqueFd& err_read = st.err_read;
  UniqueFd& status_read = st.status_read;
  UniqueFd& in_write = st.in_write;

  if (!policy.copy_in.empty() || !request.files.empty()) {
    RUNBOX_ASSIGN_OR_RETURN(UniqueFd workdir, OpenBoxWorkdir(pid, policy.workdir));
    std::shared_lock<std::shared_mutex> copying(ForkGuard());
    if (!policy.copy_in.empty()) {
      if (Status s = CopyIn(policy.copy_in, workdir.get(), host_id, host_id); !s) {
        return std::move(s).error().Wrap("copy " + policy.copy_in + " into the box");
      }
    }
    if (Status s = WriteFilesIn(workdir.get(), request.files, host_id, host_id); !s) {
      return std::move(s).error().Wrap("write the job's files into the box");
    }
  }
  // The program: argv and the execve candidates for argv[0] in the box's PATH, each string
  // length-prefixed (ProgramHeader); CheckCommand refused NULs before the box was touched.
  std::vector<std::string> strings = request.argv;
  std::vector<std::string> exec = ExecCandidates(request.argv[0], st.env);
  strings.insert(strings.end(), exec.begin(), exec.end());
  std::string message(sizeof(ProgramHeader), '\0');
  for (const auto& str : strings) {
    if (str.size() > kMaxProgramBytes || str.find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "execve candidate '" + Printable(str) + "' is too long or holds a NUL");
    }
    const uint32_t len = static_cast<uint32_t>(str.size());
    message.append(reinterpret_cast<const char*>(&len), sizeof len);
    message.append(str);
    if (message.size() - sizeof(ProgramHeader) > kMaxProgramBytes) {
      return MakeError(ErrorCode::kInvalidArgument, "the command line is too long");
    }
  }
  if (strings.size() > kMaxProgramStrings) {
    return MakeError(ErrorCode::kInvalidArgument, "the command line has too many arguments");
  }
  ProgramHeader header{static_cast<uint32_t>(message.size() - sizeof(ProgramHeader)),
                       static_cast<uint32_t>(request.argv.size()),
                       static_cast<uint32_t>(exec.size())};
  std::memcpy(message.data(), &header, sizeof header);

  // The program starts at normal priority whatever the init waited at (root may lower it).
  if (st.nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 0) != 0) {
    return ErrnoError("reset the prepared box's priority");
  }
  // Go-ahead 2: workdir filled, here is the program. A child that failed already reads EPIPE
  // here and its error record is picked up below. The CPU the box's set-up used so far (its
  // mounts; on v2 the child is born in the cgroup) is runbox's, not the program's: the baseline.
  RUNBOX_ASSIGN_OR_RETURN(const uint64_t cpu_baseline_ns, cgroup.CpuNs());
  const auto start = Clock::now();
  (void)WriteAll(st.sync_write.get(), message.data(), message.size());
  st.sync_write.reset();
  if (request.stdin_fd < 0) {
    in_write.reset();  // EOF for the program at once
  }

  // ---- supervision loop ----
  Outcome outcome;
  SetNonBlocking(st.out_read.get());
  SetNonBlocking(st.errout_read.get());
  if (in_write.valid()) {
    SetNonBlocking(in_write.get());
  }
  std::string stdin_buf;  // read from the caller, not yet written to the box
  bool stdin_eof = request.stdin_fd < 0;
  uint64_t output_total = 0;
  KillReason kill_reason = KillReason::kNone;
  bool& child_exited = st.init_gone;
  bool out_open = true, err_open = true;
  bool signal_open = request.signal_fd >= 0;
  ChildError child_error{};
  bool have_child_error = false;
  int32_t program_status = 0;
  bool have_program_status = false;
  int init_status = 0;
  const auto wall_deadline = start + limits.wall_time;
  const uint64_t cpu_limit_ns = static_cast<uint64_t>(limits.cpu_time.count()) * 1000000ull;
  auto next_cpu_check = start;
  char buf[65536];

  auto kill_box = [&](KillReason why) {
    if (kill_reason == KillReason::kNone) {
      kill_reason = why;
    }
    ::syscall(SYS_pidfd_send_signal, pid_fd.get(), SIGKILL, nullptr, 0);
  };

  auto handle_output = [&](int fd, int stream, bool* open) {
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno != EAGAIN) {
          *open = false;
        }
        return;
      }
      if (n == 0) {
        *open = false;
        return;
      }
      size_t take = static_cast<size_t>(n);
      bool over = false;
      if (output_total + take > limits.output_bytes) {
        take = static_cast<size_t>(limits.output_bytes - output_total);
        over = true;
      }
      output_total += take;
      std::string_view chunk(buf, take);
      if (take > 0) {
        if (request.on_output) {
          request.on_output(stream, chunk);
        }
        int dest = stream == 1 ? request.stdout_fd : request.stderr_fd;
        if (dest >= 0) {
          WriteAll(dest, chunk.data(), chunk.size());
        } else if (!request.on_output) {
          (stream == 1 ? outcome.stdout_data : outcome.stderr_data).append(chunk);
        }
      }
      if (over) {
        (stream == 1 ? outcome.stdout_truncated : outcome.stderr_truncated) = true;
        kill_box(KillReason::kOutput);
        *open = false;  // stop reading: the box is being killed
        return;
      }
    }
  };

  // Until the program has ended (init reports it, or init itself is gone) and its output is drained.
  while (!(child_exited || have_program_status) || out_open || err_open) {
    std::vector<pollfd> fds;
    auto add = [&](int fd, short ev) {
      fds.push_back(pollfd{fd, ev, 0});
      return fds.size() - 1;
    };
    size_t i_pid = child_exited || have_program_status ? SIZE_MAX : add(pid_fd.get(), POLLIN);
    size_t i_out = out_open ? add(st.out_read.get(), POLLIN) : SIZE_MAX;
    size_t i_err = err_open ? add(st.errout_read.get(), POLLIN) : SIZE_MAX;
    size_t i_ce = err_read.valid() ? add(err_read.get(), POLLIN) : SIZE_MAX;
    size_t i_st = status_read.valid() ? add(status_read.get(), POLLIN) : SIZE_MAX;
    size_t i_src = (!stdin_eof && stdin_buf.size() < sizeof buf && in_write.valid())
                       ? add(request.stdin_fd, POLLIN)
                       : SIZE_MAX;
    size_t i_in = (!stdin_buf.empty() && in_write.valid()) ? add(in_write.get(), POLLOUT) : SIZE_MAX;
    size_t i_cancel = (request.cancel_fd >= 0 && kill_reason == KillReason::kNone)
                          ? add(request.cancel_fd, POLLIN)
                          : SIZE_MAX;
    size_t i_signal = (signal_open && !have_program_status && kill_reason == KillReason::kNone)
                          ? add(request.signal_fd, POLLIN)
                          : SIZE_MAX;

    // Wake for the wall deadline and for CPU polling: every 10 ms, often enough that a tight
    // loop overruns a CPU limit by about one poll interval per core.
    auto now = Clock::now();
    auto wake = std::min(wall_deadline, next_cpu_check);
    const bool done = child_exited || have_program_status;
    int timeout_ms = done ? 1000 : static_cast<int>(std::max<int64_t>(
        0, duration_cast<std::chrono::milliseconds>(wake - now).count() + 1));
    int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) {
      return ErrnoError("poll");
    }
    auto ready = [&](size_t i) { return i != SIZE_MAX && fds[i].revents != 0; };

    if (ready(i_out)) {
      handle_output(st.out_read.get(), 1, &out_open);
    }
    if (ready(i_err)) {
      handle_output(st.errout_read.get(), 2, &err_open);
    }
    if (ready(i_ce)) {
      ssize_t n = ::read(err_read.get(), &child_error, sizeof child_error);
      if (n == static_cast<ssize_t>(sizeof child_error)) {
        have_child_error = true;
      }
      if (n <= 0 || have_child_error) {
        err_read.reset();
      }
    }
    if (ready(i_st)) {
      ssize_t n = ::read(status_read.get(), &program_status, sizeof program_status);
      have_program_status = n == static_cast<ssize_t>(sizeof program_status);
      status_read.reset();
      if (have_program_status) {
        outcome.wall_time_ms = static_cast<uint64_t>(
            duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
      }
    }
    if (ready(i_src)) {
      ssize_t n = ::read(request.stdin_fd, buf, sizeof buf);
      if (n > 0) {
        stdin_buf.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_eof = true;
      }
    }
    if (ready(i_in) || (!stdin_buf.empty() && in_write.valid())) {
      ssize_t n = ::write(in_write.get(), stdin_buf.data(), stdin_buf.size());
      if (n > 0) {
        stdin_buf.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        in_write.reset();  // EPIPE: the program closed its stdin; the rest is dropped
        stdin_buf.clear();
      }
    }
    if (stdin_eof && stdin_buf.empty() && in_write.valid()) {
      in_write.reset();  // EOF for the program
    }
    if (ready(i_cancel)) {
      kill_box(KillReason::kCancelled);
    }
    if (ready(i_signal)) {
      unsigned char sigs[16];
      ssize_t n = ::read(request.signal_fd, sigs, sizeof sigs);
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
        signal_open = false;  // the sender is gone; nothing more will come
      }
      for (ssize_t k = 0; k < n; ++k) {
        if (sigs[k] > 0 && sigs[k] < NSIG) {
          (void)SignalProgram(static_cast<pid_t>(pid), sigs[k]);
        }
      }
    }
    if (ready(i_pid)) {
      siginfo_t info = {};
      if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pid_fd.get()), &info,
                   WEXITED | WNOHANG) == 0 &&
          info.si_pid != 0) {
        child_exited = true;
        init_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
        outcome.wall_time_ms = static_cast<uint64_t>(
            duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
        // The init is gone, so the kernel has killed the whole pid namespace: the pipes reach
        // EOF once their buffered data is read.
      }
    }
    if (!child_exited && !have_program_status) {
      now = Clock::now();
      if (now >= wall_deadline) {
        kill_box(KillReason::kWallTime);
      }
      if (now >= next_cpu_check) {
        auto cpu = cgroup.CpuNs();
        if (cpu && *cpu - cpu_baseline_ns >= cpu_limit_ns) {
          kill_box(KillReason::kCpuTime);
        }
        next_cpu_check = now + std::chrono::milliseconds(10);
      }
    }
  }
  // A late status record (written just before init exited) may still sit in the pipe.
  if (status_read.valid()) {
    have_program_status =
        ::read(status_read.get(), &program_status, sizeof program_status) == sizeof program_status;
  }
  if (err_read.valid() && !have_child_error) {
    have_child_error = ::read(err_read.get(), &child_error, sizeof child_error) ==
                       static_cast<ssize_t>(sizeof child_error);
  }

  trace.Mark("program ran");
  // The program is done and its init parked (or gone): copy the workdir out while the box's
  // mounts still exist.
  // Within budgets bound to the box's disk limit: what a hostile box left there must not cost
  // the host more than the box itself could hold (CopyOutBudget).
  Status copied;
  std::string copy_refused;
  if (!policy.copy_out.empty() && have_program_status && !child_exited &&
      kill_reason == KillReason::kNone) {
    auto workdir = OpenBoxWorkdir(pid, policy.workdir);
    if (!workdir) {
      copied = std::move(workdir).error();
    } else if (auto report = CopyOut(workdir->get(), policy.copy_out,
                                     CopyOutBudget::For(limits));
               !report) {
      copied = std::move(report).error();
    } else {
      copy_refused = report->refused;
    }
  }
  // A parked init has killed and reaped the rest of the box before it reported the program's
  // status: the cgroup's accounting is final, and ending the init can wait for Close(). An init
  // that was killed (a limit, a cancel) or never reported must be gone before the accounting.
  if (!child_exited && (!have_program_status || kill_reason != KillReason::kNone)) {
    st.EndInit();
  }
  if (!copied) {
    return std::move(copied).error().Wrap("copy the box's files to " + policy.copy_out);
  }

  // ---- accounting and verdict ----
  RUNBOX_ASSIGN_OR_RETURN(CgroupUsage usage, cgroup.Usage());
  usage.cpu_ns = usage.cpu_ns > cpu_baseline_ns ? usage.cpu_ns - cpu_baseline_ns : 0;
  outcome.cpu_time_ms = usage.cpu_ns / 1000000ull;
  outcome.memory_kib = usage.peak_memory_bytes / 1024;

  if (have_child_error && child_error.stage != ChildStage::kExec) {
    return ErrnoError(std::string("box setup failed while ") + StageName(child_error.stage),
                      child_error.sys_errno);
  }
  if (have_child_error) {  // execve failed: like a shell, 127 not found, 126 cannot run
    int e = child_error.sys_errno;
    outcome.status = RunStatus::kRuntimeError;
    outcome.exit_code = e == ENOENT ? 127 : 126;
    outcome.message = (e == ENOENT ? "command not found in the box: " : "cannot run ") +
                      request.argv[0] + (e == ENOENT ? "" : std::string(": ") + std::strerror(e));
  } else if (!have_program_status && kill_reason == KillReason::kNone && usage.oom_kills == 0) {
    return MakeError(ErrorCode::kInternal,
                     "the box's init ended without reporting the program's status (init exit " +
                         std::to_string(init_status) + ")");
  } else {
    bool exited = have_program_status && WIFEXITED(program_status);
    bool signaled = have_program_status && WIFSIGNALED(program_status);
    outcome.exit_code = exited ? WEXITSTATUS(program_status) : -1;
    outcome.signal = signaled ? WTERMSIG(program_status) : (have_program_status ? 0 : SIGKILL);
    const std::string cpu_limit = FormatDuration(limits.cpu_time);
    if (kill_reason == KillReason::kCancelled) {
      outcome.status = RunStatus::kSystemError;
      outcome.message = "run cancelled";
    } else if (kill_reason == KillReason::kWallTime) {
      outcome.status = RunStatus::kTimeLimit;
      outcome.message = "wall time limit of " + FormatDuration(limits.wall_time) + " exceeded";
    } else if (kill_reason == KillReason::kCpuTime || outcome.signal == SIGXCPU ||
               usage.cpu_ns >= cpu_limit_ns) {
      outcome.status = RunStatus::kTimeLimit;
      outcome.message = "CPU time limit of " + cpu_limit + " exceeded";
    } else if (usage.oom_kills > 0) {
      outcome.status = RunStatus::kMemoryLimit;
      outcome.message = "memory limit of " + FormatSize(limits.memory_bytes) + " exceeded";
    } else if (kill_reason == KillReason::kOutput) {
      outcome.status = RunStatus::kOutputLimit;
      outcome.message = "output limit of " + FormatSize(limits.output_bytes) + " exceeded";
    } else if (outcome.signal == SIGXFSZ) {
      outcome.status = RunStatus::kOutputLimit;
      outcome.message = "file size limit of " + FormatSize(limits.file_size_bytes) + " exceeded";
    } else if (signaled) {
      outcome.status = RunStatus::kSignaled;
      outcome.message = std::string("killed by signal ") + std::to_string(outcome.signal) + " (SIG" +
                        SignalName(outcome.signal) + ")";
      if (outcome.signal == SIGSYS) {
        outcome.message += ": a system call forbidden in the box";
      }
    } else if (outcome.exit_code != 0) {
      outcome.status = RunStatus::kRuntimeError;
      outcome.message = "exited with code " + std::to_string(outcome.exit_code);
    } else {
      outcome.status = RunStatus::kOk;
      outcome.message = "exited with code 0";
    }
    // The program ended on its own, but left more in the workdir than the copy-out takes: its
    // output is over a limit (nothing was copied), like output past output_bytes.
    if (!copy_refused.empty()) {
      outcome.status = RunStatus::kOutputLimit;
      outcome.message = copy_refused;
    }
    if (outcome.status == RunStatus::kTimeLimit || outcome.status == RunStatus::kMemoryLimit ||
        outcome.status == RunStatus::kOutputLimit) {
      if (!signaled && !exited) {
        outcome.signal = SIGKILL;
      }
    }
  }
  return outcome;
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
