#pragma once
// Shared set-up for integration tests that run real boxes: root is required (in CI, CI=true, a
// missing privilege is a failure, never a skip), the probe binary is bound read-only at
// /opt/probe, and the cgroup parent comes from RUNBOX_CGROUP_PARENT (set by the v2 VM run).

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/sandbox.h"

namespace runbox::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Skips loudly on a developer machine without root; fails in CI.
#define RUNBOX_REQUIRE_ROOT()                                                   \
  do {                                                                          \
    if (::geteuid() != 0) {                                                     \
      if (::runbox::testing::InCi()) {                                          \
        FAIL() << "integration tests need root, and CI runs as root";          \
      }                                                                         \
      GTEST_SKIP() << "integration tests run real boxes and need root";        \
    }                                                                           \
  } while (0)

inline sandbox::HostConfig TestHost() {
  // The default state dir: slots are coordinated with any other runbox on this host through its
  // locks, so a test never reclaims (kills) a box that someone else is running.
  sandbox::HostConfig host;
  if (const char* p = std::getenv("RUNBOX_CGROUP_PARENT")) {
    host.cgroup_parent = p;
  }
  return host;
}

// A world-traversable copy of the probe, bound read-only into each box at /opt/probe.
inline const std::string& ProbeDir() {
  static std::string dir = [] {
    std::string d = "/tmp/runbox-probe-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    std::filesystem::copy_file(RUNBOX_PROBE_BIN, d + "/probe",
                               std::filesystem::copy_options::overwrite_existing);
    ::chmod(d.c_str(), 0755);
    ::chmod((d + "/probe").c_str(), 0755);
    return d;
  }();
  return dir;
}

inline void RemoveProbeDir() { std::filesystem::remove_all(ProbeDir()); }

inline sandbox::Policy ProbePolicy() {
  sandbox::Policy p;
  p.binds = sandbox::DefaultSystemBinds();
  p.binds.push_back({ProbeDir(), "/opt/probe"});
  return p;
}

struct ProbeRun {
  sandbox::Outcome outcome;
  std::string out;  // trimmed stdout
};

inline ProbeRun RunProbe(const sandbox::Policy& policy, std::vector<std::string> args,
                         std::optional<int> slot = std::nullopt) {
  sandbox::RunRequest req;
  req.argv = {"/opt/probe/probe"};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.slot = slot;
  auto r = sandbox::Run(policy, req, TestHost());
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) {
    return {};
  }
  std::string out = r->stdout_data;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return {std::move(*r), out};
}

// Whether another run (another test binary, a server on this machine) holds slot n right now:
// what belongs to a busy slot is that run's, not a leftover.
bool SlotBusy(int n);
// Host processes whose real uid is in [lo, hi].
std::vector<int> ProcessesWithUid(uint32_t lo, uint32_t hi);
// The same, leaving out those of busy slots: what a finished run might have left behind.
std::vector<int> LeftoverProcesses(uint32_t lo, uint32_t hi);
// Number of mounts in this process's mount namespace.
size_t MountCount();
// Cgroup directories runbox-<slot> beneath the test host's parent(s), of slots nobody holds.
std::vector<std::string> LeftoverCgroups();

}  // namespace runbox::testing
