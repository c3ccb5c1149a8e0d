#pragma once
// Parent, outside the box, privileged: starting a box's first process. Makes the box's pipes,
// formats everything the child needs into a ChildPlan (rlimits, seccomp, the init's argv), and
// clones the child into fresh namespaces (on cgroup v2, into its cgroup). The child (child.cc)
// then waits for its first go-ahead on the sync pipe; the id maps and the go-aheads are the
// supervisor's.

#include <shared_mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/cgroup.h"
#include "sandbox/mount_plan.h"
#include "sandbox/policy.h"
#include "sandbox/slot.h"

namespace runbox::sandbox {

// A box's first process is a fork of this process and holds copies of all its file descriptors
// until it closes them (the init does so before the program starts). Had it been forked while
// another thread had a file open for writing in its box (CopyIn), executing that file in the
// other box failed with ETXTBSY: a written-to inode cannot be executed while any process holds
// it open for writing. Copy-ins hold this lock shared, clone3 exclusive: no box is forked while
// a copy-in has a file open. (Reproduced by EngineTest.ConcurrentRunsOfACompiledProgram...)
std::shared_mutex& ForkGuard();

// The supervisor's side of a launched box: its first process and its ends of the box's pipes.
struct BoxEnds {
  long pid = -1;  // host pid of the box's first process (its init, once it has exec'd)
  UniqueFd pid_fd;
  UniqueFd sync_write;   // the go-aheads (the second one carries the program)
  UniqueFd ready_read;   // one byte once the box is built
  UniqueFd err_read;     // ChildError records
  UniqueFd status_read;  // the program's wait status, from the init
  UniqueFd out_read, errout_read;
  UniqueFd in_write;  // the program's stdin; invalid when it is /dev/null
};

// Clones the box's first process for `policy` in `slot`, with `mounts` to build, in `cgroup`,
// its environment `env` (only read; non-const for execve's char* const*), waiting at `nice`,
// with a stdin pipe when stdin_pipe (otherwise /dev/null). On success the child exists and the
// caller owns it through BoxEnds::pid_fd: it must kill and reap it.
Result<BoxEnds> LaunchBox(const Policy& policy, const MountPlan& mounts, const Cgroup& cgroup,
                          const Slot& slot, std::vector<std::string>& env, int nice,
                          bool stdin_pipe);

}  // namespace runbox::sandbox
