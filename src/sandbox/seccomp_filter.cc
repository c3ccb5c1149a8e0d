#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"

namespace runbox::sandbox {
namespace {

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

struct SeccompCtx {
  scmp_filter_ctx ctx;
  explicit SeccompCtx(uint32_t def) : ctx(seccomp_init(def)) {}
  ~SeccompCtx() {
    if (ctx != nullptr) {
      seccomp_release(ctx);
    }
  }
  SeccompCtx(const SeccompCtx&) = delete;
  SeccompCtx& operator=(const SeccompCtx&) = delete;
};

Error SeccompError(const std::string& what, int rc) { return ErrnoError("seccomp: " + what, -rc); }

}  // namespace

const std::vector<SyscallRule>& DeniedSyscalls() {
  static const std::vector<SyscallRule> kRules = {
      // Mount table and root changes: the box's mounts are final before execve.
      {"mount", false, "the box's mounts are final; a runtime may probe"},
      {"umount2", false, "the box's mounts are final"},
      {"pivot_root", true, "only an escape attempt changes the root"},
      {"chroot", false, "nothing to gain; EPERM like an unprivileged user"},
      {"move_mount", false, "new mount API"},
      {"open_tree", false, "new mount API"},
      {"fsopen", false, "new mount API"},
      {"fsconfig", false, "new mount API"},
      {"fsmount", false, "new mount API"},
      {"fspick", false, "new mount API"},
      {"mount_setattr", false, "new mount API"},
      // Namespaces: a nested user namespace would regain capabilities over fresh namespaces.
      {"unshare", false, "no nested namespaces; container-aware runtimes probe it"},
      {"setns", false, "no joining other namespaces"},
      // Debugging and other processes' memory: sanitizers (LSan) probe ptrace and fall back.
      {"ptrace", false, "no tracing; LeakSanitizer and debuggers probe and report"},
      {"process_vm_readv", false, "no reading other processes' memory"},
      {"process_vm_writev", false, "no writing other processes' memory"},
      {"kcmp", false, "kernel pointer comparison across processes"},
      {"pidfd_getfd", false, "stealing another process's file descriptors"},
      // Kernel code and machine state: only an attack calls these.
      {"kexec_load", true, "loading a new kernel"},
      {"kexec_file_load", true, "loading a new kernel"},
      {"init_module", true, "loading kernel modules"},
      {"finit_module", true, "loading kernel modules"},
      {"delete_module", true, "unloading kernel modules"},
      {"reboot", true, "rebooting the machine"},
      {"swapon", true, "host swap"},
      {"swapoff", true, "host swap"},
      {"acct", true, "host process accounting"},
      {"settimeofday", true, "the host clock"},
      {"clock_settime", true, "the host clock"},
      {"clock_adjtime", true, "the host clock"},
      {"adjtimex", true, "the host clock"},
      {"iopl", true, "raw I/O port access"},
      {"ioperm", true, "raw I/O port access"},
      {"open_by_handle_at", true, "the 'shocker' container escape opens host files by handle"},
      {"quotactl", true, "host disk quotas"},
      {"quotactl_fd", true, "host disk quotas"},
      {"vhangup", true, "terminal hangup of the host"},
      {"lookup_dcookie", true, "kernel profiling internals"},
      {"nfsservctl", true, "kernel NFS server"},
      {"uselib", true, "obsolete a.out loader, historic exploit path"},
      {"syslog", false, "the kernel log; dmesg probes it"},
      // Kernel attack surface that user programs do not need.
      {"bpf", false, "eBPF programs; systemd-like tools probe it"},
      {"perf_event_open", false, "hardware counters and a large attack surface; profilers probe"},
      {"userfaultfd", false, "used to widen kernel race windows in exploits"},
      {"keyctl", false, "kernel keyrings are not namespaced"},
      {"add_key", false, "kernel keyrings are not namespaced"},
      {"request_key", false, "kernel keyrings are not namespaced"},
      {"io_uring_setup", false, "large kernel attack surface; libuv and others fall back"},
      {"io_uring_enter", false, "large kernel attack surface"},
      {"io_uring_register", false, "large kernel attack surface"},
      {"fanotify_init", false, "filesystem-wide monitoring"},
      {"name_to_handle_at", false, "file handles are the first half of open_by_handle_at"},
      {"personality", false, "READ_IMPLIES_EXEC and other ABI changes; EPERM is harmless"},
  };
  return kRules;
}

Result<SeccompProgram> BuildDefaultFilter() {
  SeccompCtx f(SCMP_ACT_ALLOW);
  if (f.ctx == nullptr) {
    return MakeError(ErrorCode::kInternal, "seccomp_init failed");
  }
  // Another architecture's syscall table (i386 via int 0x80, x32) kills the process: seccomp_init
  // adds only the native arch, and this sets what happens to the others.
  int rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) {
    return SeccompError("set bad-arch action", rc);
  }
  const uint32_t kEperm = SCMP_ACT_ERRNO(EPERM);
  for (const auto& rule : DeniedSyscalls()) {
    int nr = seccomp_syscall_resolve_name(rule.name);
    if (nr == __NR_SCMP_ERROR) {
      continue;  // not a syscall on this architecture
    }
    rc = seccomp_rule_add(f.ctx, rule.kill ? SCMP_ACT_KILL_PROCESS : kEperm, nr, 0);
    if (rc != 0) {
      return SeccompError(std::string("rule for ") + rule.name, rc);
    }
  }
  // clone with any namespace flag fails; plain fork and thread creation pass. libseccomp cannot
  // say "masked != 0" in one rule, so one rule per flag: rules for one syscall and action are OR-ed.
  for (uint64_t bit = 1; bit != 0; bit <<= 1) {
    if ((kNamespaceFlags & bit) == 0) {
      continue;
    }
    rc = seccomp_rule_add(f.ctx, kEperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
    if (rc != 0) {
      return SeccompError("rule for clone", rc);
    }
  }
  // clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes glibc (2.34+) fall
  // back to clone, whose flags the rules above do check.
  rc = seccomp_rule_add(f.ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) {
    return SeccompError("rule for clone3", rc);
  }
  // TIOCSTI pushes input into a terminal's queue (the classic sandbox escape through a shared
  // tty); TIOCLINUX can do the same on a virtual console. The kernel reads the command as a
  // 32-bit int, so compare only the low 32 bits: high garbage bits must not slip past.
  for (unsigned long cmd : {static_cast<unsigned long>(TIOCSTI), 0x541CUL /* TIOCLINUX */}) {
    rc = seccomp_rule_add(f.ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, cmd));
    if (rc != 0) {
      return SeccompError("rule for ioctl", rc);
    }
  }

  // libseccomp 2.5 exports only to a file descriptor; a memfd keeps it off the filesystem.
  UniqueFd mem(static_cast<int>(::memfd_create("runbox-seccomp", MFD_CLOEXEC)));
  if (!mem.valid()) {
    return ErrnoError("memfd_create for seccomp");
  }
  rc = seccomp_export_bpf(f.ctx, mem.get());
  if (rc != 0) {
    return SeccompError("export bpf", rc);
  }
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return MakeError(ErrorCode::kInternal, "seccomp: exported program has a bad size");
  }
  SeccompProgram prog;
  prog.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.instructions.data(), static_cast<size_t>(size), 0) != size) {
    return ErrnoError("seccomp: read exported program");
  }
  return prog;
}

}  // namespace runbox::sandbox
