#pragma once
// MountPlan: a Policy's file system as a flat list of MountOps for the child, with every string
// owned here (the child only reads the pointers).

#include <deque>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/child_plan.h"
#include "sandbox/policy.h"

namespace runbox::sandbox {

class MountPlan {
 public:
  // new_root: the staging directory that becomes the box's "/".
  static Result<MountPlan> Build(const Policy& policy, const std::string& new_root);

  const std::vector<MountOp>& ops() const { return ops_; }
  // "bind /usr on /usr" for error messages about op i.
  const std::string& Describe(size_t i) const { return descriptions_[i]; }

 private:
  const char* Keep(std::string s);
  void Mkdirs(const std::string& box_path, unsigned mode = 0755);
  void Add(MountOp op, std::string description);
  // The steps of Build, in order: the policy's binds, /proc and a minimal /dev, the workdir and
  // the tmpfs mounts, the generated /etc files that no bind covers.
  Status AddBind(const Bind& b);
  void AddProcAndDev(uint64_t disk_bytes);
  void AddWorkdirAndTmpfs(const Policy& policy);
  void AddIdentityFiles(const Policy& policy, const std::vector<Bind>& binds);

  std::string root_;
  std::deque<std::string> strings_;  // stable addresses for the ops' pointers
  std::vector<MountOp> ops_;
  std::vector<std::string> descriptions_;
  std::vector<std::string> made_dirs_;
};

}  // namespace runbox::sandbox
