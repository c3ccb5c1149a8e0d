#pragma once
// ChildPlan: everything the child needs between clone() and execve(), prepared by the parent so
// that the child only reads it: no allocation, no locks, no exceptions on the child's side.

#include <linux/filter.h>
#include <net/if.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "sandbox/init_protocol.h"

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

  // The program's environment (the init's own, which passes it on). Its argv and exec
  // candidates come later, with the second go-ahead (ProgramHeader), which the init reads: a
  // prepared box is built before its program is known.
  char* const* envp = nullptr;

  // The box's init (init_image.h): a sealed memfd, executed once the box is locked down, and
  // its argv (InitArg order: the descriptors above in decimal).
  int init_fd = -1;
  char* const* init_argv = nullptr;
};

// Runs in the child after clone(): builds and locks down the box, then executes the box's init
// (which runs the program and reports its wait status); never returns. Async-signal-safe code
// only.
[[noreturn]] void RunChild(const ChildPlan& plan) noexcept;

}  // namespace runbox::sandbox
