#include "box_fixture.h"

#include <fcntl.h>
#include <sys/file.h>

#include <fstream>
#include <sstream>

#include "sandbox/cgroup.h"

namespace runbox::testing {

bool SlotBusy(int n) {
  std::string path = TestHost().state_dir + "/locks/slot-" + std::to_string(n) + ".lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return busy;
}

std::vector<int> LeftoverProcesses(uint32_t lo, uint32_t hi) {
  std::vector<int> out;
  for (int pid : ProcessesWithUid(lo, hi)) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    unsigned uid = 0;
    while (std::getline(status, line) && std::sscanf(line.c_str(), "Uid: %u", &uid) != 1) {
    }
    if (!SlotBusy(static_cast<int>(uid - TestHost().uid_base))) {
      out.push_back(pid);
    }
  }
  return out;
}

std::vector<int> ProcessesWithUid(uint32_t lo, uint32_t hi) {
  std::vector<int> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) {
      continue;
    }
    std::ifstream status(e.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      unsigned uid = 0;
      if (std::sscanf(line.c_str(), "Uid: %u", &uid) == 1) {
        if (uid >= lo && uid <= hi) {
          found.push_back(std::stoi(name));
        }
        break;
      }
    }
  }
  return found;
}

size_t MountCount() {
  std::ifstream in("/proc/self/mountinfo");
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++n;
  }
  return n;
}

std::vector<std::string> LeftoverCgroups() {
  std::vector<std::string> out;
  auto host = sandbox::CgroupHost::Detect(TestHost().cgroup_parent);
  if (!host) {
    return {"cannot detect cgroups: " + host.error().message};
  }
  std::vector<std::string> parents;
  if (host->version == sandbox::CgroupVersion::kV2) {
    parents.push_back(host->v2_parent);
  } else {
    for (const auto& [c, p] : host->v1_parents) {
      parents.push_back(p);
    }
  }
  for (const auto& p : parents) {
    for (const auto& e : std::filesystem::directory_iterator(p)) {
      // runbox-<slot> only: other tools on a shared machine may use other runbox-* names.
      std::string name = e.path().filename();
      if (e.is_directory() && name.rfind("runbox-", 0) == 0 && name.size() > 7 &&
          name.find_first_not_of("0123456789", 7) == std::string::npos &&
          !SlotBusy(std::stoi(name.substr(7)))) {
        out.push_back(e.path());
      }
    }
  }
  return out;
}

}  // namespace runbox::testing
