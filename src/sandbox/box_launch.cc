// Parent, outside the box, privileged. The child's side of what is set up here is child.cc.

#include "sandbox/box_launch.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <mutex>

#include "base/files.h"
#include "sandbox/child_plan.h"
#include "sandbox/init_image.h"
#include "sandbox/seccomp_filter.h"

namespace runbox::sandbox {

std::shared_mutex& ForkGuard() {
  static std::shared_mutex mu;
  return mu;
}

namespace {

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

// Every pipe between the supervisor and the box (ChildPlan says what each carries).
struct BoxPipes {
  Pipe sync, ready, err, status, out, errout, in;

  static Result<BoxPipes> Make(bool stdin_pipe, uint32_t host_id);
  // The supervisor's ends, once the child holds its own copies of the others.
  BoxEnds KeepSupervisorEnds(long pid, int pid_fd);
};

Result<BoxPipes> BoxPipes::Make(bool stdin_pipe, uint32_t host_id) {
  BoxPipes p;
  for (Pipe* pipe : {&p.sync, &p.ready, &p.err, &p.status, &p.out, &p.errout}) {
    RUNBOX_ASSIGN_OR_RETURN(*pipe, Pipe::Make());
  }
  if (stdin_pipe) {
    RUNBOX_ASSIGN_OR_RETURN(p.in, Pipe::Make());
  } else {
    p.in.read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!p.in.read.valid()) {
      return ErrnoError("open /dev/null");
    }
  }
  // The box's ends of its stdio pipes belong to the box user: programs reopen /dev/stdin or
  // /proc/self/fd/1 (sqlite's `.import /dev/stdin`, node's readFileSync('/dev/stdin')), and a
  // pipe inode owned by root, which is unmapped in the box, refuses that with EACCES.
  for (int fd : {p.in.read.get(), p.out.write.get(), p.errout.write.get()}) {
    struct stat sb;
    if (::fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode) && ::fchown(fd, host_id, host_id) != 0) {
      return ErrnoError("chown the box's stdio pipe");
    }
  }
  return p;
}

BoxEnds BoxPipes::KeepSupervisorEnds(long pid, int pid_fd) {
  BoxEnds ends;
  ends.pid = pid;
  ends.pid_fd.reset(pid_fd);
  for (UniqueFd* child_end :
       {&sync.read, &ready.write, &err.write, &status.write, &in.read, &out.write, &errout.write}) {
    child_end->reset();
  }
  ends.sync_write = std::move(sync.write);
  ends.ready_read = std::move(ready.read);
  ends.err_read = std::move(err.read);
  ends.status_read = std::move(status.read);
  ends.out_read = std::move(out.read);
  ends.errout_read = std::move(errout.read);
  ends.in_write = std::move(in.write);
  return ends;
}

int CapLastCap() {
  auto s = ReadFile("/proc/sys/kernel/cap_last_cap");
  return s ? std::atoi(s->c_str()) : 40;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

std::vector<ChildPlan::Rlimit> BoxRlimits(const Limits& limits) {
  // RLIMIT_CPU is a per-process backstop a second above the limit; the cgroup's CPU time,
  // polled by the supervisor, is what enforces the limit for the whole tree.
  rlim_t cpu_s =
      static_cast<rlim_t>(std::ceil(static_cast<double>(limits.cpu_time.count()) / 1000.0)) + 1;
  return {
      {RLIMIT_CPU, {cpu_s, cpu_s + 1}},
      {RLIMIT_FSIZE, {limits.file_size_bytes, limits.file_size_bytes}},
      {RLIMIT_NOFILE, {limits.open_files, limits.open_files}},
      {RLIMIT_STACK, {limits.stack_bytes, limits.stack_bytes}},
      {RLIMIT_CORE, {0, 0}},
      {RLIMIT_NPROC, {limits.pids + 1, limits.pids + 1}},
      {RLIMIT_MEMLOCK, {64 << 10, 64 << 10}},
      {RLIMIT_MSGQUEUE, {0, 0}},
  };
}

// What a ChildPlan points into: alive until clone3 has given the child its own copy.
struct PlanData {
  std::vector<char*> envp;
  std::vector<ChildPlan::Rlimit> rlimits;
  sock_fprog seccomp;
  std::string new_root;
  std::vector<std::string> init_args;
  std::vector<char*> init_argv;
};

Result<ChildPlan> MakePlan(const BoxPipes& p, const Policy& policy, const MountPlan& mounts,
                           const Cgroup& cgroup, int nice, PlanData& data) {
  ChildPlan plan;
  plan.sync_fd = p.sync.read.get();
  plan.ready_fd = p.ready.write.get();
  plan.error_fd = p.err.write.get();
  plan.status_fd = p.status.write.get();
  plan.stdin_fd = p.in.read.get();
  plan.stdout_fd = p.out.write.get();
  plan.stderr_fd = p.errout.write.get();
  plan.cgroup_join_fds = cgroup.join_fds().data();
  plan.cgroup_join_count = cgroup.join_fds().size();
  plan.uid = policy.uid;
  plan.gid = policy.gid;
  plan.nice = nice;
  plan.mounts = mounts.ops().data();
  plan.mount_count = mounts.ops().size();
  plan.new_root = data.new_root.c_str();
  plan.workdir = policy.workdir.c_str();
  plan.hostname = policy.hostname.c_str();
  plan.loopback_up = policy.network == Network::kLoopback;
  data.rlimits = BoxRlimits(policy.limits);
  plan.rlimits = data.rlimits.data();
  plan.rlimit_count = data.rlimits.size();
  plan.cap_last_cap = CapLastCap();
  data.seccomp = DefaultFilter().fprog();
  plan.seccomp = &data.seccomp;
  plan.envp = data.envp.data();
  RUNBOX_ASSIGN_OR_RETURN(plan.init_fd, InitImageFd());
  data.init_args.assign(kInitArgCount, std::string());
  data.init_args[0] = "runbox-init";
  data.init_args[kInitArgSync] = std::to_string(plan.sync_fd);
  data.init_args[kInitArgReady] = std::to_string(plan.ready_fd);
  data.init_args[kInitArgError] = std::to_string(plan.error_fd);
  data.init_args[kInitArgStatus] = std::to_string(plan.status_fd);
  data.init_args[kInitArgStdin] = std::to_string(plan.stdin_fd);
  data.init_args[kInitArgStdout] = std::to_string(plan.stdout_fd);
  data.init_args[kInitArgStderr] = std::to_string(plan.stderr_fd);
  data.init_argv = CStrings(data.init_args);
  plan.init_argv = data.init_argv.data();
  return plan;
}

// clone3 without CLONE_VM behaves like fork. The cgroup namespace is made by the child after
// it joined its cgroup; on v2 CLONE_INTO_CGROUP has it born there, with no window outside.
// Returns the child's pid and pidfd in the parent; the child runs the plan and never returns.
Result<std::pair<long, int>> CloneBox(const ChildPlan& plan, const Cgroup& cgroup, int nice) {
  int pidfd = -1;
  clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup.clone_fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup.clone_fd());
  }
  // Copy-ins wait while this lock is held: a low-priority caller forks at normal priority, so
  // that it does not hold them up (the child makes itself nice again, plan.nice).
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (nice > 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 0);
  }
  std::unique_lock<std::shared_mutex> no_copy_in_running(ForkGuard());
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid != 0) {
    no_copy_in_running.unlock();
    if (nice > 0) {
      (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice);
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
  return std::pair<long, int>(pid, pidfd);
}

}  // namespace

Result<BoxEnds> LaunchBox(const Policy& policy, const MountPlan& mounts, const Cgroup& cgroup,
                          const Slot& slot, std::vector<std::string>& env, int nice,
                          bool stdin_pipe) {
  RUNBOX_ASSIGN_OR_RETURN(BoxPipes pipes, BoxPipes::Make(stdin_pipe, slot.host_uid()));
  PlanData data;
  data.envp = CStrings(env);
  data.new_root = slot.root();
  RUNBOX_ASSIGN_OR_RETURN(ChildPlan plan, MakePlan(pipes, policy, mounts, cgroup, nice, data));
  RUNBOX_ASSIGN_OR_RETURN(auto child, CloneBox(plan, cgroup, nice));
  return pipes.KeepSupervisorEnds(child.first, child.second);
}

}  // namespace runbox::sandbox
