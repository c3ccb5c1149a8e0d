// The engine's compile step copies the compile box's /box to the host (the compile cache): the
// compile runs the user's code (gcc's -wrapper here; compile-time code in many languages), so
// what it leaves there is hostile. The copy-out budgets apply: a deep directory chain or a
// gigabyte of sparse files is a compile that went over a limit (CE, the budget named), never a
// crash of the server or a full disk, and nothing of it stays in the cache or workspace.

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine_fixture.h"

namespace runbox::engine {
namespace {

using ::testing::HasSubstr;
using sandbox::RunStatus;

constexpr char kHello[] = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";

class EngineCopyOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RUNBOX_ENGINE_REQUIRE_ROOT();
    config_ = testing::TestEngineConfig("engine-copy-out");
    base_ = config_.cache_dir.substr(0, config_.cache_dir.rfind('/'));
    auto e = Engine::Create(config_);
    ASSERT_TRUE(e) << e.error().message;
    engine_ = std::move(*e);
  }
  void TearDown() override {
    engine_.reset();
    RemoveTree(base_);
  }
  // A C job whose compiler runs every subprocess through `sh -c SCRIPT` first (gcc -wrapper;
  // its argv is comma-separated, so the script has no commas).
  Job WrappedCompile(const std::string& script) {
    Job j = testing::SimpleJob("c", kHello);
    j.compiler_options = {"-wrapper", "/bin/sh,-c,[ -e /box/.done ] || { " + script +
                                          "; : > /box/.done; }; exec \"$0\" \"$@\""};
    return j;
  }
  // Names under dir, recursively.
  static size_t Entries(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  }
  EngineConfig config_;
  std::string base_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineCopyOutTest, TheWrapperRunsAndAnOrdinaryOutputComesOut) {
  auto r = engine_->Run(WrappedCompile("echo extra > /box/extra.txt"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->compile);
  EXPECT_EQ(r->compile->status, RunStatus::kOk) << r->compile->message << r->compile->stderr_data;
  ASSERT_EQ(r->cases.size(), 1u);
  EXPECT_EQ(r->cases[0].run.stdout_data, "hi\n");
}

TEST_F(EngineCopyOutTest, ADirectoryChainPastTheDepthBudgetIsACompileErrorNotACrash) {
  auto r = engine_->Run(WrappedCompile(
      "cd /box && i=0 && while [ $i -lt 100 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->compile);
  EXPECT_TRUE(r->compile_error);
  EXPECT_EQ(r->compile->status, RunStatus::kOutputLimit) << r->compile->message;
  EXPECT_THAT(r->compile->message, HasSubstr("nest deeper than 64 levels"));
  EXPECT_TRUE(r->cases.empty());
  EXPECT_LE(Entries(base_), 4u) << "the refused copy left files in the cache or workspace";
}

TEST_F(EngineCopyOutTest, GigabytesOfSparseFilesFromTheCompilerAreRefused) {
  auto r = engine_->Run(WrappedCompile(
      "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24; do "
      "truncate -s 64M /box/sparse-$i || exit 1; done"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->compile);
  EXPECT_TRUE(r->compile_error);
  EXPECT_EQ(r->compile->status, RunStatus::kOutputLimit) << r->compile->message;
  EXPECT_THAT(r->compile->message, HasSubstr("exceed the copy-out budget"));
  EXPECT_LE(Entries(base_), 4u);
}

}  // namespace
}  // namespace runbox::engine
