#pragma once
// Shared set-up for engine tests that run real boxes: root required (a failure in CI, CI=true),
// the real catalog, a private compile cache and workspace directory per test process.

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/workspace.h"

namespace runbox::testing {

inline bool EngineInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

#define RUNBOX_ENGINE_REQUIRE_ROOT()                                            \
  do {                                                                          \
    if (::geteuid() != 0) {                                                     \
      if (::runbox::testing::EngineInCi()) {                                    \
        FAIL() << "engine integration tests need root, and CI runs as root";   \
      }                                                                         \
      GTEST_SKIP() << "engine integration tests run real boxes and need root"; \
    }                                                                           \
  } while (0)

inline engine::EngineConfig TestEngineConfig(const std::string& tag) {
  engine::EngineConfig c;
  c.languages_dir = RUNBOX_LANGUAGES_DIR;
  std::string base = "/tmp/runbox-" + tag + "-" + std::to_string(::getpid());
  c.cache_dir = base + "/cache";
  c.work_dir = base + "/work";
  if (const char* p = std::getenv("RUNBOX_CGROUP_PARENT")) {
    c.host.cgroup_parent = p;
  }
  return c;
}

inline engine::Job SimpleJob(const std::string& language, const std::string& code,
                             const std::string& stdin_data = "") {
  engine::Job j;
  j.language = language;
  j.files = {{"", code}};
  j.tests = {{stdin_data, std::nullopt}};
  return j;
}

}  // namespace runbox::testing
