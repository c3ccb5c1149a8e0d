#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "base/files.h"
#include "base/unique_fd.h"

namespace runbox::sandbox {
namespace {

using namespace std::chrono_literals;

// v1 controllers a box needs. cpu and freezer are not needed: CPU time comes from cpuacct, and
// the box's pid namespace makes killing atomic (killing its init kills every process in it).
const char* const kV1Controllers[] = {"memory", "pids", "cpuacct"};

std::string JoinPath(const std::string& a, const std::string& b) {
  if (b.empty() || b == "/") {
    return a;
  }
  if (!a.empty() && a.back() == '/') {
    return a + (b[0] == '/' ? b.substr(1) : b);
  }
  return a + (b[0] == '/' ? b : "/" + b);
}

Result<uint64_t> ReadU64(const std::string& path) {
  RUNBOX_ASSIGN_OR_RETURN(std::string s, ReadFile(path));
  s = Trim(s);
  if (s == "max") {
    return UINT64_MAX;
  }
  try {
    return static_cast<uint64_t>(std::stoull(s));
  } catch (...) {
    return MakeError(ErrorCode::kInternal, "cannot parse '" + s + "' in " + path);
  }
}

// "key value" lines (memory.events, cpu.stat, memory.oom_control).
uint64_t KeyValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) {
      return v;
    }
  }
  return 0;
}

std::vector<pid_t> Procs(const std::string& dir) {
  std::vector<pid_t> pids;
  auto text = ReadFile(dir + "/cgroup.procs");
  if (!text) {
    return pids;
  }
  std::istringstream in(*text);
  pid_t p;
  while (in >> p) {
    pids.push_back(p);
  }
  return pids;
}

// Kills what is in dir (and its children, for stale groups) and waits until it is empty.
Status KillAndWait(const std::string& dir, bool has_kill_file) {
  if (has_kill_file) {
    (void)WriteFile(dir + "/cgroup.kill", "1");
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto pids = Procs(dir);
    if (pids.empty()) {
      return OkStatus();
    }
    for (pid_t p : pids) {
      ::kill(p, SIGKILL);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return MakeError(ErrorCode::kInternal,
                       "cgroup " + dir + " still has processes 5 s after SIGKILL");
    }
    std::this_thread::sleep_for(1ms);
  }
}

// Removes dir and any child groups (depth first), killing what is inside.
Status RemoveTree(const std::string& dir, bool has_kill_file) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return OkStatus();
  }
  RUNBOX_TRY(KillAndWait(dir, has_kill_file));
  // Child groups of a stale tree.
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) {
    DIR* d = ::fdopendir(::dup(dfd.get()));
    if (d != nullptr) {
      std::vector<std::string> children;
      while (dirent* e = ::readdir(d)) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
          children.push_back(dir + "/" + e->d_name);
        }
      }
      ::closedir(d);
      for (const auto& c : children) {
        RUNBOX_TRY(RemoveTree(c, has_kill_file));
      }
    }
  }
  // rmdir can briefly fail with EBUSY while the last exiting task is being released.
  for (int i = 0; i < 500; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
      return OkStatus();
    }
    if (errno != EBUSY) {
      break;
    }
    std::this_thread::sleep_for(2ms);
  }
  return ErrnoError("rmdir cgroup " + dir);
}

Status MkdirCgroup(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EACCES || errno == EPERM || errno == EROFS) {
      return ErrnoError("create cgroup " + dir +
                        " (the cgroup tree is not writable: run runbox as root, or give it a "
                        "delegated cgroup with --cgroup-parent)");
    }
    return ErrnoError("create cgroup " + dir);
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
class CgroupV2 final : public Cgroup {
 public:
  explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
  ~CgroupV2() override { (void)Destroy(); }

  Status Init() {
    RUNBOX_TRY(MkdirCgroup(dir_));
    created_ = true;
    fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_.valid()) {
      return ErrnoError("open cgroup " + dir_);
    }
    struct stat st;
    has_kill_ = ::stat((dir_ + "/cgroup.kill").c_str(), &st) == 0;
    has_peak_ = ::stat((dir_ + "/memory.peak").c_str(), &st) == 0;
    return OkStatus();
  }

  Status SetLimits(uint64_t memory_bytes, uint32_t pids) override {
    RUNBOX_TRY(WriteFile(dir_ + "/memory.max", std::to_string(memory_bytes)));
    // Swap counted and off: a box that could swap would run on past its memory limit, slowly.
    struct stat st;
    if (::stat((dir_ + "/memory.swap.max").c_str(), &st) == 0) {
      RUNBOX_TRY(WriteFile(dir_ + "/memory.swap.max", "0"));
    }
    // The box's tmpfs pages are charged here too; no high-watermark throttling, just the limit.
    RUNBOX_TRY(WriteFile(dir_ + "/pids.max", std::to_string(pids)));
    return OkStatus();
  }

  int clone_fd() const override { return fd_.get(); }
  const std::vector<int>& join_fds() const override {
    static const std::vector<int> kNone;
    return kNone;
  }

  Result<uint64_t> CpuNs() const override {
    RUNBOX_ASSIGN_OR_RETURN(std::string stat, ReadFile(dir_ + "/cpu.stat"));
    return KeyValue(stat, "usage_usec") * 1000;
  }

  Result<CgroupUsage> Usage() const override {
    CgroupUsage u;
    RUNBOX_ASSIGN_OR_RETURN(u.cpu_ns, CpuNs());
    if (has_peak_) {
      RUNBOX_ASSIGN_OR_RETURN(u.peak_memory_bytes, ReadU64(dir_ + "/memory.peak"));
    }
    RUNBOX_ASSIGN_OR_RETURN(std::string events, ReadFile(dir_ + "/memory.events"));
    u.oom_kills = KeyValue(events, "oom_kill");
    return u;
  }

  Status KillAll() override { return KillAndWait(dir_, has_kill_); }

  Status Destroy() override {
    if (!created_) {
      return OkStatus();
    }
    created_ = false;
    fd_.reset();
    return RemoveTree(dir_, has_kill_);
  }

  std::string path() const override { return dir_; }

 private:
  std::string dir_;
  UniqueFd fd_;
  bool created_ = false;
  bool has_kill_ = false;
  bool has_peak_ = false;
};

// ---------------------------------------------------------------------------------------------
class CgroupV1 final : public Cgroup {
 public:
  CgroupV1(const CgroupHost& host, const std::string& name) {
    for (const auto& [ctrl, parent] : host.v1_parents) {
      dirs_.emplace_back(ctrl, JoinPath(parent, name));
    }
  }
  ~CgroupV1() override { (void)Destroy(); }

  Status Init() {
    for (const auto& [ctrl, dir] : dirs_) {
      RUNBOX_TRY(MkdirCgroup(dir));
      created_.push_back(dir);
      UniqueFd tasks(::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
      if (!tasks.valid()) {
        return ErrnoError("open " + dir + "/tasks");
      }
      join_fds_.push_back(tasks.get());
      tasks_.push_back(std::move(tasks));
    }
    return OkStatus();
  }

  const std::string& Dir(const char* ctrl) const {
    for (const auto& [c, d] : dirs_) {
      if (c == ctrl) {
        return d;
      }
    }
    RUNBOX_CHECK(false);
  }

  Status SetLimits(uint64_t memory_bytes, uint32_t pids) override {
    const std::string& mem = Dir("memory");
    RUNBOX_TRY(WriteFile(mem + "/memory.limit_in_bytes", std::to_string(memory_bytes)));
    // memsw exists only with swap accounting; it must be set after limit_in_bytes (it may not be
    // lower). Equal limits mean swap is counted and, in effect, off.
    struct stat st;
    if (::stat((mem + "/memory.memsw.limit_in_bytes").c_str(), &st) == 0) {
      RUNBOX_TRY(WriteFile(mem + "/memory.memsw.limit_in_bytes", std::to_string(memory_bytes)));
    }
    if (::stat((mem + "/memory.swappiness").c_str(), &st) == 0) {
      (void)WriteFile(mem + "/memory.swappiness", "0");
    }
    RUNBOX_TRY(WriteFile(Dir("pids") + "/pids.max", std::to_string(pids)));
    return OkStatus();
  }

  int clone_fd() const override { return -1; }
  const std::vector<int>& join_fds() const override { return join_fds_; }

  Result<uint64_t> CpuNs() const override { return ReadU64(Dir("cpuacct") + "/cpuacct.usage"); }

  Result<CgroupUsage> Usage() const override {
    CgroupUsage u;
    RUNBOX_ASSIGN_OR_RETURN(u.cpu_ns, CpuNs());
    const std::string& mem = Dir("memory");
    RUNBOX_ASSIGN_OR_RETURN(u.peak_memory_bytes, ReadU64(mem + "/memory.max_usage_in_bytes"));
    // "oom_kill N" is in memory.oom_control since Linux 4.13.
    RUNBOX_ASSIGN_OR_RETURN(std::string oom, ReadFile(mem + "/memory.oom_control"));
    u.oom_kills = KeyValue(oom, "oom_kill");
    return u;
  }

  Status KillAll() override { return KillAndWait(Dir("pids"), false); }

  Status Destroy() override {
    Status first;
    join_fds_.clear();
    tasks_.clear();
    while (!created_.empty()) {
      Status s = RemoveTree(created_.back(), false);
      if (!s && first) {
        first = std::move(s);
      }
      created_.pop_back();
    }
    return first;
  }

  std::string path() const override { return Dir("pids"); }

 private:
  std::vector<std::pair<std::string, std::string>> dirs_;
  std::vector<std::string> created_;
  std::vector<UniqueFd> tasks_;
  std::vector<int> join_fds_;
};

struct MountInfo {
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};

std::vector<MountInfo> CgroupMounts() {
  std::vector<MountInfo> out;
  auto text = ReadFile("/proc/self/mountinfo");
  if (!text) {
    return out;
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto fields = Split(line, ' ');
    // ... mount_point(4) ... "-" fstype source super_options
    size_t dash = 0;
    for (size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 3 >= fields.size() + 0 || fields.size() < dash + 4) {
      continue;
    }
    const std::string& fstype = fields[dash + 1];
    if (fstype == "cgroup" || fstype == "cgroup2") {
      out.push_back({fields[4], fstype, fields[dash + 3]});
    }
  }
  return out;
}

Status CheckParent(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kNotFound, "cgroup parent " + dir +
                                               " does not exist (check --cgroup-parent)");
  }
  return OkStatus();
}

// This process's cgroups from /proc/self/cgroup ("hierarchy-id:controllers:path"):
// controllers list -> path.
using OwnCgroups = std::vector<std::pair<std::string, std::string>>;

OwnCgroups ParseOwnCgroups(const std::string& self) {
  OwnCgroups own;
  for (const auto& line : Split(self, '\n')) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      continue;
    }
    own.emplace_back(line.substr(a + 1, b - a - 1), line.substr(b + 1));
  }
  return own;
}

// The path of this process's cgroup in controller ctrl's hierarchy ("" for the unified one).
std::string OwnPath(const OwnCgroups& own, const std::string& ctrl) {
  for (const auto& [ctrls, path] : own) {
    if (ctrl.empty() && ctrls.empty()) {
      return path;  // the unified hierarchy's line, "0::/path"
    }
    for (const auto& c : Split(ctrls, ',')) {
      if (c == ctrl) {
        return path;
      }
    }
  }
  return "";
}

// Where the v1 hierarchy of ctrl is mounted, or "".
std::string V1MountPoint(const std::vector<MountInfo>& mounts, const char* ctrl) {
  std::string mp;
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup") {
      continue;
    }
    for (const auto& o : Split(m.super_options, ',')) {
      if (o == ctrl) {
        mp = m.mount_point;
      }
    }
  }
  return mp;
}

// A cgroup2 mount whose root offers the memory controller, or "".
std::string V2MountWithMemory(const std::vector<MountInfo>& mounts) {
  std::string v2_mount;
  for (const auto& m : mounts) {
    if (m.fstype == "cgroup2") {
      auto ctrls = ReadFile(m.mount_point + "/cgroup.controllers");
      if (ctrls && Trim(*ctrls).find("memory") != std::string::npos) {
        v2_mount = m.mount_point;
      }
    }
  }
  return v2_mount;
}

}  // namespace

Result<CgroupHost> CgroupHost::Detect(const std::string& parent) {
  auto mounts = CgroupMounts();
  auto self = ReadFile("/proc/self/cgroup");
  if (!self) {
    return MakeError(ErrorCode::kUnavailable, "cannot read /proc/self/cgroup: " +
                                                  self.error().message);
  }
  const OwnCgroups own = ParseOwnCgroups(*self);

  CgroupHost host;
  // v1 when every needed controller has a v1 hierarchy (hybrid hosts keep a controller-less
  // cgroup2 mount at /sys/fs/cgroup/unified; that is not the unified layout).
  bool all_v1 = true;
  std::vector<std::string> missing;
  for (const char* ctrl : kV1Controllers) {
    std::string mp = V1MountPoint(mounts, ctrl);
    if (mp.empty()) {
      all_v1 = false;
      missing.push_back(ctrl);
      continue;
    }
    std::string rel = parent.empty() ? OwnPath(own, ctrl) : parent;
    host.v1_parents.emplace_back(ctrl, JoinPath(mp, rel));
  }
  if (all_v1) {
    host.version = CgroupVersion::kV1;
    for (const auto& [ctrl, dir] : host.v1_parents) {
      RUNBOX_TRY(CheckParent(dir));
    }
    return host;
  }

  std::string v2_mount = V2MountWithMemory(mounts);
  if (v2_mount.empty()) {
    std::string list;
    for (const auto& m : missing) {
      list += (list.empty() ? "" : ", ") + m;
    }
    return MakeError(ErrorCode::kUnavailable,
                     "no usable cgroup controllers: cgroup v1 lacks " + list +
                         " and no cgroup v2 hierarchy offers memory; mount cgroup2 on "
                         "/sys/fs/cgroup (systemd does) or the v1 memory, pids and cpuacct "
                         "controllers");
  }
  host.version = CgroupVersion::kV2;
  host.v2_parent = JoinPath(v2_mount, parent.empty() ? OwnPath(own, "") : parent);
  RUNBOX_TRY(CheckParent(host.v2_parent));
  return host;
}

std::string CgroupHost::Describe() const {
  if (version == CgroupVersion::kV2) {
    return "cgroup v2 under " + v2_parent;
  }
  std::string s = "cgroup v1 under";
  for (const auto& [c, p] : v1_parents) {
    s += " " + p;
  }
  return s;
}

namespace {

// On v2 the box's group needs memory and pids enabled in the parent's subtree_control. A parent
// that holds processes cannot enable controllers (the "no internal processes" rule): when the only
// process there is runbox itself, runbox moves into a leaf "runbox-supervisor" first, the usual
// delegation pattern; otherwise the operator must give runbox a delegated parent.
Status EnableV2Controllers(const std::string& parent) {
  RUNBOX_ASSIGN_OR_RETURN(std::string enabled, ReadFile(parent + "/cgroup.subtree_control"));
  bool have_mem = enabled.find("memory") != std::string::npos;
  bool have_pids = enabled.find("pids") != std::string::npos;
  if (have_mem && have_pids) {
    return OkStatus();
  }
  RUNBOX_ASSIGN_OR_RETURN(std::string avail, ReadFile(parent + "/cgroup.controllers"));
  for (const char* c : {"memory", "pids"}) {
    if (avail.find(c) == std::string::npos) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("cgroup v2 controller '") + c + "' is not available in " +
                           parent + " (enable it in the parent's cgroup.subtree_control, or "
                           "run runbox under systemd with Delegate=yes)");
    }
  }
  const std::string want = "+memory +pids";
  Status enable = WriteFile(parent + "/cgroup.subtree_control", want);
  if (enable) {
    return OkStatus();
  }
  if (enable.error().sys_errno != EBUSY) {
    return std::move(enable).error();
  }
  auto procs = Procs(parent);
  bool only_us = !procs.empty();
  for (pid_t p : procs) {
    only_us = only_us && p == ::getpid();
  }
  if (!only_us) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "cannot enable cgroup v2 controllers in " + parent +
                         ": it holds other processes; start runbox in a cgroup of its own "
                         "(systemd-run --scope -p Delegate=yes runbox ...) or pass "
                         "--cgroup-parent with a delegated, empty cgroup");
  }
  std::string leaf = parent + "/runbox-supervisor";
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("create cgroup " + leaf);
  }
  RUNBOX_TRY(WriteFile(leaf + "/cgroup.procs", std::to_string(::getpid())));
  RUNBOX_TRY(WriteFile(parent + "/cgroup.subtree_control", want));
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Cgroup>> Cgroup::Create(const CgroupHost& host, const std::string& name) {
  if (host.version == CgroupVersion::kV2) {
    RUNBOX_TRY(EnableV2Controllers(host.v2_parent));
    std::string dir = JoinPath(host.v2_parent, name);
    struct stat st;
    bool has_kill = ::stat((host.v2_parent + "/cgroup.kill").c_str(), &st) == 0 ||
                    ::stat((dir + "/cgroup.kill").c_str(), &st) == 0;
    RUNBOX_TRY(RemoveTree(dir, has_kill));  // a stale group left by a killed runbox
    auto cg = std::make_unique<CgroupV2>(dir);
    RUNBOX_TRY(cg->Init());
    return std::unique_ptr<Cgroup>(std::move(cg));
  }
  for (const auto& [ctrl, parent] : host.v1_parents) {
    RUNBOX_TRY(RemoveTree(JoinPath(parent, name), false));
  }
  auto cg = std::make_unique<CgroupV1>(host, name);
  RUNBOX_TRY(cg->Init());
  return std::unique_ptr<Cgroup>(std::move(cg));
}

}  // namespace runbox::sandbox
