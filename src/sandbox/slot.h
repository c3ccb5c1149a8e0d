#pragma once
// Slot: one of HostConfig::slots box slots, held under a file lock for the duration of a run.
// A slot owns a host uid/gid (uid_base + index), the cgroup name "runbox-<index>" and a staging
// directory for the box's root. Whatever a killed runbox left in a slot (a cgroup) is reclaimed
// by the next run that takes it: the lock is released by the kernel when its holder dies, so a
// free lock means nobody uses the leftovers. The box's mounts live only in its own mount
// namespace and vanish with it.

#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/sandbox.h"

namespace runbox::sandbox {

class Slot {
 public:
  static Result<Slot> Acquire(const HostConfig& host, std::optional<int> want);

  int index() const { return index_; }
  uint32_t host_uid() const { return host_uid_; }
  const std::string& dir() const { return dir_; }    // <state>/slot-N
  std::string root() const { return dir_ + "/root"; }  // staging dir of the box's "/"

 private:
  int index_ = -1;
  uint32_t host_uid_ = 0;
  std::string dir_;
  UniqueFd lock_;
};

}  // namespace runbox::sandbox
