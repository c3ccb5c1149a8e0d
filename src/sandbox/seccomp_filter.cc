#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/unique_fd.h"

// libseccomp's SCMP_A0(op, datum) and friends leave the second datum to zero-initialisation
// on purpose (it is only read by SCMP_CMP_MASKED_EQ, which passes it); clang's
// -Wmissing-field-initializers flags every use (the fuzz build compiles this file with clang).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

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

// socket() and socketpair() only for the families a program needs (AllowedSocketFamilies says
// which and why); every other domain fails with EAFNOSUPPORT, what a kernel built without that
// family answers, so runtimes that probe (Python's socket module, libuv, the JVM) fall back.
// libseccomp takes one comparison per argument and rule, and rules with one action are OR-ed:
// so one rule per denied value below the largest allowed family, and one for everything above
// it. The comparisons are on all 64 bits, so a domain with garbage in the high half (which the
// kernel would truncate to an allowed int) is refused too.
Status AddSocketFamilyRules(scmp_filter_ctx ctx) {
  const auto& allowed = AllowedSocketFamilies();
  int highest = 0;
  for (const auto& f : allowed) {
    highest = std::max(highest, f.domain);
  }
  auto is_allowed = [&](int domain) {
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const SocketFamily& f) { return f.domain == domain; });
  };
  const uint32_t kNoFamily = SCMP_ACT_ERRNO(EAFNOSUPPORT);
  for (int nr : {SCMP_SYS(socket), SCMP_SYS(socketpair)}) {
    for (int domain = 0; domain < highest; ++domain) {
      if (is_allowed(domain)) {
        continue;
      }
      int rc = seccomp_rule_add(ctx, kNoFamily, nr, 1,
                                SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(domain)));
      if (rc != 0) {
        return SeccompError("rule for socket domain " + std::to_string(domain), rc);
      }
    }
    int rc = seccomp_rule_add(ctx, kNoFamily, nr, 1,
                              SCMP_A0(SCMP_CMP_GT, static_cast<uint64_t>(highest)));
    if (rc != 0) {
      return SeccompError("rule for socket domains above " + std::to_string(highest), rc);
    }
  }
  // Netlink only for NETLINK_ROUTE (protocol 0): getaddrinfo, getifaddrs and if_nameindex use
  // it to see the box's own interfaces. The other netlink protocols are kernel interfaces no
  // user program needs (audit, uevents, xfrm, sock_diag, generic netlink with its many
  // families): EPROTONOSUPPORT, as for a protocol the kernel lacks.
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                            SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(AF_NETLINK)),
                            SCMP_A2(SCMP_CMP_NE, 0));
  if (rc != 0) {
    return SeccompError("rule for netlink protocols", rc);
  }
  // socket(AF_INET, SOCK_PACKET) is the obsolete spelling of an AF_PACKET socket (net/socket.c
  // turns one into the other): the same family refused above, by another name.
  rc = seccomp_rule_add(ctx, kNoFamily, SCMP_SYS(socket), 2,
                        SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(AF_INET)),
                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf /* SOCK_TYPE_MASK */, SOCK_PACKET));
  if (rc != 0) {
    return SeccompError("rule for SOCK_PACKET", rc);
  }
  return OkStatus();
}

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

const std::vector<SocketFamily>& AllowedSocketFamilies() {
  static const std::vector<SocketFamily> kFamilies = {
      {AF_UNIX, "AF_UNIX", "local IPC: socketpair, multiprocessing, language servers, X-less GUIs"},
      {AF_INET, "AF_INET", "TCP/UDP on the box's own loopback (network tests, web frameworks)"},
      {AF_INET6, "AF_INET6", "the same over IPv6; runtimes try ::1 first"},
      {AF_NETLINK, "AF_NETLINK",
       "NETLINK_ROUTE only: getaddrinfo and getifaddrs list the box's interfaces"},
  };
  // Refused with EAFNOSUPPORT, among others: AF_VSOCK (reaches the hypervisor and the host's
  // vsock ports outside every network namespace), AF_PACKET (raw frames), AF_ALG (kernel
  // crypto, a history of exploits), AF_KEY (IPsec keys), AF_BLUETOOTH, AF_CAN, AF_TIPC, AF_RDS,
  // AF_XDP, AF_NFC, AF_QIPCRTR: kernel surfaces that no user program in a code runner needs.
  return kFamilies;
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

  RUNBOX_TRY(AddSocketFamilyRules(f.ctx));

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
