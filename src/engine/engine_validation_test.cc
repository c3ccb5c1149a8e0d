// Validation of jobs: every error here happens before any box starts, so no root is needed.

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/workspace.h"

namespace runbox::engine {
namespace {

using ::testing::HasSubstr;

class EngineValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig c;
    c.languages_dir = RUNBOX_LANGUAGES_DIR;
    c.cache_dir = ::testing::TempDir() + "/ev-cache-" + std::to_string(::getpid());
    c.work_dir = ::testing::TempDir() + "/ev-work-" + std::to_string(::getpid());
    auto e = Engine::Create(c);
    ASSERT_TRUE(e) << e.error().message;
    engine_ = std::move(*e);
    cache_ = c.cache_dir;
  }
  void TearDown() override { RemoveTree(cache_); }

  Job PythonJob() {
    Job j;
    j.language = "python3";
    j.files = {{"main.py", "print(1)"}};
    j.tests = {{}};
    return j;
  }
  Error Fails(const Job& j) {
    auto r = engine_->Run(j);
    EXPECT_FALSE(r);
    return r ? Error{} : r.error();
  }
  std::unique_ptr<Engine> engine_;
  std::string cache_;
};

TEST_F(EngineValidation, UnknownLanguageIsNotFoundAndNamed) {
  Job j = PythonJob();
  j.language = "cobolx";
  Error e = Fails(j);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_THAT(e.message, HasSubstr("cobolx"));
  EXPECT_THAT(e.message, HasSubstr("language"));
}

TEST_F(EngineValidation, BadFileNamesNameTheField) {
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "a//b"}) {
    Job j = PythonJob();
    j.files.push_back({bad, "x"});
    Error e = Fails(j);
    EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_THAT(e.message, HasSubstr("files[1].name")) << bad;
  }
}

TEST_F(EngineValidation, DuplicateFileNames) {
  Job j = PythonJob();
  j.files.push_back({"main.py", "x"});
  EXPECT_THAT(Fails(j).message, HasSubstr("files[1].name"));
}

TEST_F(EngineValidation, NoFiles) {
  Job j = PythonJob();
  j.files.clear();
  EXPECT_THAT(Fails(j).message, HasSubstr("files"));
}

TEST_F(EngineValidation, MainFileMustBeAFile) {
  Job j = PythonJob();
  j.files.push_back({"util.py", "x"});
  j.main_file = "nope.py";
  EXPECT_THAT(Fails(j).message, HasSubstr("main_file"));
}

TEST_F(EngineValidation, LimitsAboveTheMaximumNameTheField) {
  Job j = PythonJob();
  j.run_limits = sandbox::Limits{};
  j.run_limits->memory_bytes = 64ull << 30;
  Error e = Fails(j);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(e.message, HasSubstr("limits.memory_kib"));

  j = PythonJob();
  j.compile_limits = sandbox::Limits{};
  j.compile_limits->cpu_time = std::chrono::hours(1);
  EXPECT_THAT(Fails(j).message, HasSubstr("compile_limits.cpu_time_ms"));

  j = PythonJob();
  j.run_limits = sandbox::Limits{};
  j.run_limits->pids = 100000;
  EXPECT_THAT(Fails(j).message, HasSubstr("limits.pids"));

  j = PythonJob();
  j.run_limits = sandbox::Limits{};
  j.run_limits->wall_time = std::chrono::milliseconds(0);
  EXPECT_THAT(Fails(j).message, HasSubstr("limits.wall_time_ms"));
}

TEST_F(EngineValidation, NegativeTolerance) {
  Job j = PythonJob();
  j.float_tolerance = -1;
  EXPECT_THAT(Fails(j).message, HasSubstr("float_tolerance"));
}

TEST_F(EngineValidation, SlotsDefaultToCores) {
  EXPECT_GE(engine_->slots(), 1);
  EXPECT_EQ(engine_->busy_slots(), 0);
}

TEST(EngineCreate, MissingCatalogFails) {
  EngineConfig c;
  c.languages_dir = "/nonexistent/languages";
  EXPECT_FALSE(Engine::Create(c));
}

}  // namespace
}  // namespace runbox::engine
