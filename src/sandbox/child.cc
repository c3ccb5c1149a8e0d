// Child, in the box's new namespaces, privileged only inside its own user namespace.
//
// Everything here runs between clone() and execve() in a copy of a possibly multi-threaded
// parent: only raw syscalls and async-signal-safe libc wrappers. No std::string, no new, no
// logging, no exceptions. Failures travel to the parent as a fixed-size ChildError.

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

#include "sandbox/child_plan.h"

namespace runbox::sandbox {
namespace {

[[noreturn]] void Fail(const ChildPlan& plan, ChildStage stage, int index = -1) {
  ChildError e{stage, errno, index};
  // A short or failed write leaves the parent with EOF and no record; it then reports the
  // child's wait status instead, so there is nothing better to do here.
  (void)!::write(plan.error_fd, &e, sizeof e);
  ::_exit(127);
}

int MountSetattr(const char* path, unsigned flags, uint64_t attr_set) {
  struct mount_attr attr = {};
  attr.attr_set = attr_set;
  return static_cast<int>(
      ::syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr));
}

void ApplyMount(const ChildPlan& plan, size_t i) {
  const MountOp& op = plan.mounts[i];
  int idx = static_cast<int>(i);
  switch (op.kind) {
    case MountOp::Kind::kMkdir:
      if (::mkdir(op.target, op.mode) != 0 && errno != EEXIST) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kTouch: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      ::close(fd);
      break;
    }
    case MountOp::Kind::kBind:
      if (::mount(op.source, op.target, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      // Recursive, so that submounts under a bound directory become read-only too (a plain
      // MS_REMOUNT changes only the top mount). Flags the host locked stay as they are.
      if (op.attr_set != 0 && MountSetattr(op.target, AT_RECURSIVE, op.attr_set) != 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kTmpfs:
      if (::mount("tmpfs", op.target, "tmpfs", op.flags, op.data) != 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kProc:
      if (::mount("proc", op.target, "proc", op.flags, nullptr) != 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kSetattr:
      if (MountSetattr(op.target, 0, op.attr_set) != 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kSymlink:
      if (::symlink(op.source, op.target) != 0 && errno != EEXIST) {
        Fail(plan, ChildStage::kMount, idx);
      }
      break;
    case MountOp::Kind::kWriteFile: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, op.mode);
      if (fd < 0) {
        Fail(plan, ChildStage::kMount, idx);
      }
      size_t off = 0;
      while (off < op.len) {
        ssize_t n = ::write(fd, op.data + off, op.len - off);
        if (n < 0) {
          if (errno == EINTR) {
            continue;
          }
          Fail(plan, ChildStage::kMount, idx);
        }
        off += static_cast<size_t>(n);
      }
      ::close(fd);
      break;
    }
  }
}

void BuildFileSystem(const ChildPlan& plan) {
  // Nothing the box mounts may propagate back to the host's mount namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(plan, ChildStage::kMountPrivate);
  }
  for (size_t i = 0; i < plan.mount_count; ++i) {
    ApplyMount(plan, i);
  }
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the
  // new root, with no path back to the host's tree (see pivot_root(2), "new_root and put_old may
  // be the same directory").
  if (::chdir(plan.new_root) != 0) {
    Fail(plan, ChildStage::kPivotRoot);
  }
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    Fail(plan, ChildStage::kPivotRoot);
  }
  if (::umount2(".", MNT_DETACH) != 0) {
    Fail(plan, ChildStage::kPivotRoot);
  }
  if (::chdir("/") != 0) {
    Fail(plan, ChildStage::kPivotRoot);
  }
  // The root tmpfs holds only mount points and a few generated /etc files: read-only from now.
  if (MountSetattr("/", 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) != 0) {
    Fail(plan, ChildStage::kRootReadOnly);
  }
  if (::chdir(plan.workdir) != 0) {
    Fail(plan, ChildStage::kChdir);
  }
}

void BringLoopbackUp(const ChildPlan& plan) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    Fail(plan, ChildStage::kLoopback);
  }
  struct ifreq ifr = {};
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    Fail(plan, ChildStage::kLoopback);
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
    Fail(plan, ChildStage::kLoopback);
  }
  ::close(s);
}

void DropCapabilities(const ChildPlan& plan) {
  for (int cap = 0; cap <= plan.cap_last_cap; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      Fail(plan, ChildStage::kCapabilities);
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    Fail(plan, ChildStage::kCapabilities);
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &hdr, data) != 0) {
    Fail(plan, ChildStage::kCapabilities);
  }
}

void WaitForParent(const ChildPlan& plan) {
  char go = 0;
  ssize_t n;
  do {
    n = ::read(plan.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    ::_exit(127);
  }
}

// Closes every descriptor inherited from the parent except the ones the plan names. The parent
// may be a server: a box must not hold its listening socket, its clients' connections or its
// database, least of all a prepared box, which waits for its job indefinitely (a connection the
// server closed would stay open while a copy of it lives here).
void CloseInheritedFds(const ChildPlan& plan) {
  constexpr size_t kMax = 16;
  int keep[kMax];
  size_t n = 0;
  auto add = [&](int fd) {
    if (fd >= 0 && n < kMax) {
      keep[n++] = fd;
    }
  };
  for (int fd : {plan.sync_fd, plan.ready_fd, plan.error_fd, plan.status_fd, plan.stdin_fd,
                 plan.stdout_fd, plan.stderr_fd, plan.init_fd}) {
    add(fd);
  }
  for (size_t i = 0; i < plan.cgroup_join_count; ++i) {
    add(plan.cgroup_join_fds[i]);
  }
  if (n == kMax) {
    return;  // more than a plan ever holds: keep everything rather than close a needed one
  }
  for (size_t i = 1; i < n; ++i) {  // insertion sort: no library calls here
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned next = 0;  // the lowest descriptor not yet known to be kept or closed
  for (size_t i = 0; i < n; ++i) {
    unsigned fd = static_cast<unsigned>(keep[i]);
    if (fd > next) {
      ::syscall(SYS_close_range, next, fd - 1, 0U);
    }
    next = fd + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0U);
}

// Joins the box's v1 cgroups, each tasks file closed after. The first failure is kept in
// *failed (its index, -1 if none) and *err, to be reported once the parent listens.
void JoinCgroups(const ChildPlan& plan, int* failed, int* err) {
  for (size_t i = 0; i < plan.cgroup_join_count; ++i) {
    ssize_t n;
    do {
      n = ::write(plan.cgroup_join_fds[i], "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 && *failed < 0) {
      *failed = static_cast<int>(i);
      *err = errno;
    }
    ::close(plan.cgroup_join_fds[i]);
  }
}

// Identity first: files created below must belong to a uid mapped in this namespace.
// SECBIT_NO_SETUID_FIXUP keeps the namespace capabilities across the uid change.
// Raw syscalls, not glibc's setresuid/setgroups: in a process that was multi-threaded, glibc
// broadcasts credential changes to every thread it believes exists and waits on a futex for
// their answers, threads that do not exist in this copy: a deadlock (seen with concurrent runs).
void SwitchIdentity(const ChildPlan& plan) {
  if (::prctl(PR_SET_SECUREBITS, 1 << 2 /* SECBIT_NO_SETUID_FIXUP */, 0, 0, 0) != 0 ||
      ::syscall(SYS_setgroups, 0, nullptr) != 0 ||
      ::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
      ::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    Fail(plan, ChildStage::kIdentity);
  }
  // Changing the effective uid clears the parent-death signal (prctl(2)): arm it again, then make
  // sure the parent did not die in between: with no reader left, the error pipe polls POLLERR.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  struct pollfd alive = {plan.error_fd, POLLOUT, 0};
  if (::poll(&alive, 1, 0) < 0 || (alive.revents & POLLERR) != 0) {
    ::_exit(127);
  }
  // The uid change set the dumpable flag to fs.suid_dumpable (commit_creds): clear it again.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void SetHostname(const ChildPlan& plan) {
  size_t hlen = 0;
  while (plan.hostname[hlen] != '\0') {
    ++hlen;
  }
  if (::sethostname(plan.hostname, hlen) != 0 || ::setdomainname("box", 3) != 0) {
    Fail(plan, ChildStage::kHostname);
  }
}

void ApplyRlimits(const ChildPlan& plan) {
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    if (::setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource),
                    &plan.rlimits[i].value) != 0) {
      Fail(plan, ChildStage::kRlimit, static_cast<int>(i));
    }
  }
}

// The pipes lose CLOEXEC (the memfd keeps it); then the init replaces this process.
[[noreturn]] void ExecInit(const ChildPlan& plan) {
  for (int fd : {plan.sync_fd, plan.ready_fd, plan.error_fd, plan.status_fd, plan.stdin_fd,
                 plan.stdout_fd, plan.stderr_fd}) {
    if (::fcntl(fd, F_SETFD, 0) != 0) {
      Fail(plan, ChildStage::kInit);
    }
  }
  ::syscall(SYS_execveat, plan.init_fd, "", plan.init_argv, plan.envp, AT_EMPTY_PATH);
  // Still here: the error pipe lost CLOEXEC above, but this process owns it until it exits.
  Fail(plan, ChildStage::kInit);
}

}  // namespace

void RunChild(const ChildPlan& plan) noexcept {
  // 0. This process is a copy of the supervisor's memory (a server's keys, other users' code and
  //    results) until it executes the init. Not dumpable: no process of the box may ptrace it
  //    or read its /proc/<pid>/mem, even with fs.suid_dumpable=1 (the uid change below clears
  //    the flag only while suid_dumpable is 0).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // 1. Die with the supervisor thread: a SIGKILLed runbox takes its box with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // 2. Wait for the parent's first go-ahead (id maps written). Everything else inherited, the
  //    parent's pipe ends included, is closed first, so a parent that died before this point
  //    reads as EOF instead of a hang.
  CloseInheritedFds(plan);
  if (plan.nice > 0) {
    (void)::setpriority(PRIO_PROCESS, 0, plan.nice);  // raising one's own nice needs no privilege
  }
  // 2b. Join the box's v1 cgroups (a no-op on v2, where clone3 placed us). Done while the parent
  //     writes the id maps; the parent releases the program only after the ready byte, which
  //     comes after this, so nothing of the program runs outside the groups. A failure is
  //     reported after the go-ahead, so that the parent is not writing id maps to a dead child.
  int join_failed = -1, join_errno = 0;
  JoinCgroups(plan, &join_failed, &join_errno);
  WaitForParent(plan);
  if (join_failed >= 0) {
    errno = join_errno;
    Fail(plan, ChildStage::kCgroupJoin, join_failed);
  }
  // 2c. Identity, before the mounts: the files they create belong to the box's mapped uid.
  SwitchIdentity(plan);
  // 3. Mounts and pivot_root.
  BuildFileSystem(plan);
  // 4. Hostname.
  SetHostname(plan);
  if (plan.loopback_up) {
    BringLoopbackUp(plan);
  }
  if (::setsid() < 0) {
    Fail(plan, ChildStage::kStdio);
  }
  // A cgroup namespace made now (after we joined our v1 groups) is rooted at the box's own
  // cgroup, so /proc/self/cgroup inside shows "/" and nothing of the host's tree.
  if (::unshare(CLONE_NEWCGROUP) != 0) {
    Fail(plan, ChildStage::kCgroupNamespace);
  }
  // 5. (close_range happens in the init's program child, after fork.)  6. Rlimits.
  ApplyRlimits(plan);
  // 7. Drop capabilities. 8. no_new_privs.
  DropCapabilities(plan);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(plan, ChildStage::kNoNewPrivs);
  }
  // 9. Seccomp, last but for the exec: from here on the init and the program run under the
  //    filter (execveat, read, mmap, fork, wait4, write and execve are allowed by it).
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, plan.seccomp) != 0) {
    Fail(plan, ChildStage::kSeccomp);
  }
  // 10. Become the box's init: a small static program from a sealed memfd (init_image.h), so
  //     that from here nothing in the box holds the supervisor's memory, a prepared box's
  //     waiting init included. It gets the pipes by number (they lose CLOEXEC now; the memfd
  //     keeps it) and the program's environment as its own; it writes the ready byte, and the
  //     supervisor then fills the workdir and sends the program.
  ExecInit(plan);
}

}  // namespace runbox::sandbox
