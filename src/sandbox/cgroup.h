#pragma once
// Cgroup: the control group of one box. One interface, two small implementations: cgroup v2
// (unified: one directory, CLONE_INTO_CGROUP, cgroup.kill) and cgroup v1 (one directory per
// controller: memory, pids, cpuacct; the child is attached before it is released).
//
// Groups live beneath the cgroup runbox itself runs in (or a configured parent), never elsewhere
// in the host's tree. The owner kills every process in the group and removes it on destruction.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::sandbox {

enum class CgroupVersion { kV1, kV2 };

// What the host offers, found from /proc/self/mountinfo and /proc/self/cgroup.
struct CgroupHost {
  CgroupVersion version = CgroupVersion::kV2;
  // v2: the unified mount point and the parent directory (absolute).
  std::string v2_parent;
  // v1: controller -> the parent directory (absolute) in that controller's hierarchy.
  std::vector<std::pair<std::string, std::string>> v1_parents;

  // Detects the layout. parent: a path relative to each hierarchy's root, or empty for the
  // cgroup this process runs in. Errors say which controller is missing and how to fix it.
  static Result<CgroupHost> Detect(const std::string& parent);
  std::string Describe() const;
};

struct CgroupUsage {
  uint64_t cpu_ns = 0;
  uint64_t peak_memory_bytes = 0;
  uint64_t oom_kills = 0;
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  // Creates group `name` beneath the host's parent, first reclaiming a stale group of that name
  // left by a runbox that was killed.
  static Result<std::unique_ptr<Cgroup>> Create(const CgroupHost& host, const std::string& name);

  // memory: the hard limit, swap counted (and so, off); pids: tasks of the whole tree.
  virtual Status SetLimits(uint64_t memory_bytes, uint32_t pids) = 0;
  // v2: a directory fd for clone3's CLONE_INTO_CGROUP; v1: -1 (use join_fds).
  virtual int clone_fd() const = 0;
  // v1: the `tasks` file of each hierarchy, open for writing. The box's first process joins its
  // group by writing "0" (itself) to each. Moving one thread by itself takes no global lock,
  // whereas the parent writing the child's pid to cgroup.procs takes the threadgroup rwsem for
  // writing, which waits for an RCU grace period: 5-20 ms per box on this kind of host
  // (kernel/cgroup/cgroup.c, cgroup_procs_write_start). The child is single-threaded then, so
  // the thread is the process. v2: empty.
  virtual const std::vector<int>& join_fds() const = 0;
  virtual Result<uint64_t> CpuNs() const = 0;
  virtual Result<CgroupUsage> Usage() const = 0;
  // SIGKILLs everything in the group and waits (bounded) until it is empty.
  virtual Status KillAll() = 0;
  // KillAll, then removes the directories. Called by the destructor if not called before.
  virtual Status Destroy() = 0;
  virtual std::string path() const = 0;
};

}  // namespace runbox::sandbox
