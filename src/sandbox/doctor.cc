#include "sandbox/doctor.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "base/files.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp_filter.h"

namespace runbox::sandbox {

std::vector<Check> Doctor(const HostConfig& host) {
  std::vector<Check> checks;
  utsname u{};
  ::uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  // 5.12: mount_setattr (recursive read-only binds); 5.7: CLONE_INTO_CGROUP; 5.9: close_range.
  bool kernel_ok = major > 5 || (major == 5 && minor >= 12);
  checks.push_back({"kernel", kernel_ok, std::string("Linux ") + u.release,
                    kernel_ok ? "" : "runbox needs Linux 5.12 or newer (mount_setattr)"});

  bool root = ::geteuid() == 0;
  checks.push_back({"running as root", root, root ? "euid 0" : "euid " + std::to_string(::geteuid()),
                    root ? "" : "run runbox as root: it maps each slot to its own host uid"});

  auto max_ns = ReadFile("/proc/sys/user/max_user_namespaces");
  bool userns = max_ns && std::atoi(max_ns->c_str()) > 0;
  checks.push_back({"user namespaces", userns,
                    max_ns ? "user.max_user_namespaces = " + Trim(*max_ns) : "not available",
                    userns ? "" : "sysctl -w user.max_user_namespaces=15000"});

  bool seccomp = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  checks.push_back({"seccomp", seccomp,
                    std::to_string(DefaultFilter().instructions.size()) + " BPF instructions",
                    seccomp ? "" : "the kernel needs CONFIG_SECCOMP_FILTER"});

  auto cg = CgroupHost::Detect(host.cgroup_parent);
  checks.push_back({"cgroups", cg.has_value(), cg ? cg->Describe() : cg.error().message,
                    cg ? "" : "see the message above"});

  bool all_ok = true;
  for (const auto& c : checks) {
    all_ok = all_ok && c.ok;
  }
  if (all_ok) {
    Policy policy;
    RunRequest req;
    req.argv = {"/bin/true"};
    auto r = Run(policy, req, host);
    bool ok = r && r->status == RunStatus::kOk;
    checks.push_back({"a real box runs /bin/true", ok,
                      r ? std::string(StatusCode(r->status)) + ", " + r->message : r.error().message,
                      ok ? "" : "see the message above"});
  }
  return checks;
}

}  // namespace runbox::sandbox
