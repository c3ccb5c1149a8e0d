#pragma once
// ChildPlan: everything the child needs between clone() and execve(), prepared by the parent so
// that the child only reads it: no allocation, no locks, no exceptions on the child's side.

#include <linux/filter.h>
#include <net/if.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace runbox::sandbox {

// One step of building the box's file system, with absolute host-side paths (under the staging
// root before pivot_root).
struct MountOp {
  enum class Kind : uint8_t {
    kMkdir,      // mkdir(target, mode)
    kTouch,      // create an empty file at target (a mount point for a file bind)
    kBind,       // bind source on target (recursive), then apply attr_set recursively
    kTmpfs,      // tmpfs on target with data ("size=...,mode=...") and flags
    kProc,       // a fresh procfs for the box's pid namespace
    kSetattr,    // mount_setattr(target, attr_set), not recursive
    kSymlink,    // symlink(source, target)
    kWriteFile,  // write data (len bytes) to a new file target with mode
  };
  Kind kind;
  const char* source = nullptr;
  const char* target = nullptr;
  const char* data = nullptr;
  size_t len = 0;
  unsigned long flags = 0;   // mount(2) flags
  uint64_t attr_set = 0;     // MOUNT_ATTR_* applied with mount_setattr after a bind
  unsigned mode = 0;
};

// Where the child failed; sent to the parent as fixed-size data.
enum class ChildStage : int32_t {
  kSync = 1, kIdentity, kMountPrivate, kMount, kPivotRoot, kRootReadOnly, kChdir, kHostname,
  kLoopback, kCgroupNamespace, kRlimit, kCapabilities, kNoNewPrivs, kSeccomp, kFork, kStdio,
  kExec, kCgroupJoin,
};

struct ChildError {
  ChildStage stage;
  int32_t sys_errno;
  int32_t index;  // mount op index, or -1
};

struct ChildPlan {
  // File descriptors in the child (inherited through clone; the parent keeps its own copies).
  // Two go-aheads arrive on sync_fd: the first when the id maps are written (the child then
  // builds its file system), the second, carrying the program (ProgramHeader), when the workdir
  // is filled.
  // The child closes every other inherited descriptor first (the parent's pipe ends among them,
  // so that the parent's death reads as EOF or POLLERR on the child's ends).
  int sync_fd = -1;        // read end
  int ready_fd = -1;       // write end: one byte when the file system is built
  int error_fd = -1;       // write end, CLOEXEC: ChildError records
  int status_fd = -1;      // write end: init reports the program's wait status here
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  // cgroup v1: the `tasks` files of the box's groups; the child writes "0" to each before
  // anything else, then closes them (Cgroup::join_fds says why it is the child that does it).
  const int* cgroup_join_fds = nullptr;
  size_t cgroup_join_count = 0;

  uint32_t uid = 0, gid = 0;  // inside the box
  int nice = 0;               // applied first (BoxOptions::nice)

  const MountOp* mounts = nullptr;
  size_t mount_count = 0;
  const char* new_root = nullptr;  // staging directory that becomes "/"
  const char* workdir = nullptr;   // inside the box

  const char* hostname = nullptr;
  bool loopback_up = false;

  struct Rlimit {
    int resource;
    rlimit value;
  };
  const Rlimit* rlimits = nullptr;
  size_t rlimit_count = 0;
  int cap_last_cap = 40;

  const sock_fprog* seccomp = nullptr;

  // The parent's command line and environment in memory (from /proc/self/stat). The box's init
  // is a copy of the parent, and /proc/1/cmdline would show the box the parent's arguments: the
  // child zeroes its copy.
  char* host_args_begin = nullptr;
  char* host_args_end = nullptr;

  // The program's environment. Its argv and exec candidates come later, with the second
  // go-ahead (ProgramHeader): a prepared box is built before its program is known.
  char* const* envp = nullptr;
};

// The second go-ahead on sync_fd: this header, then `bytes` bytes of NUL-terminated strings:
// argc strings of argv, then exec_count execve candidates (argv[0] resolved against the box's
// PATH, tried in order).
struct ProgramHeader {
  uint32_t bytes;
  uint32_t argc;
  uint32_t exec_count;
};
// Bounds the child checks before it maps memory for the strings (Linux's own ARG_MAX-like cap
// on one execve is far lower for argv; this only guards the child against a garbled header).
constexpr uint32_t kMaxProgramBytes = 32u << 20;
constexpr uint32_t kMaxProgramStrings = 1u << 20;

// Runs in the child after clone(): builds the box, forks the program under a minimal init that
// reports its wait status, and never returns. Async-signal-safe code only.
[[noreturn]] void RunChild(const ChildPlan& plan) noexcept;

}  // namespace runbox::sandbox
