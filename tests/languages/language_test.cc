// Every language of the catalog, proven on this host with real boxes: its test_program
// (compiles and) prints test_expected for test_stdin, its compile_error_program gives CE
// (compiled languages), and its runtime_error_program gives RE. Not installed is a failure.

#include <algorithm>
#include <cctype>
#include <memory>
#include <ostream>

#include <gtest/gtest.h>

#include "engine/engine_fixture.h"
#include "lang/catalog.h"

namespace runbox::lang {
// gtest prints the parameter of a failing test: the id, not 736 bytes of hex.
void PrintTo(const LanguageSpec& spec, std::ostream* os) { *os << spec.id; }
}  // namespace runbox::lang

namespace runbox::sandbox {
void PrintTo(RunStatus status, std::ostream* os) { *os << StatusCode(status); }
}  // namespace runbox::sandbox

namespace runbox::engine {
namespace {

std::vector<lang::LanguageSpec> CatalogLanguages() {
  auto c = lang::LoadCatalog(RUNBOX_LANGUAGES_DIR);
  if (!c) {
    return {};
  }
  return c->languages();
}

std::string Describe(const sandbox::Outcome& o) {
  std::string s = std::string(sandbox::StatusCode(o.status)) + " (" + o.message + ")";
  s += "\n--- stdout ---\n" + o.stdout_data.substr(0, 4000);
  s += "\n--- stderr ---\n" + o.stderr_data.substr(0, 4000);
  return s;
}

class LanguageTest : public ::testing::TestWithParam<lang::LanguageSpec> {
 protected:
  static void SetUpTestSuite() {
    config_ = new EngineConfig(testing::TestEngineConfig("lang-test"));
    // ctest runs each language in its own process: a cache shared between them keeps the
    // version commands (Languages()) to one box per language per host. Compile cache keys
    // include the toolchain's version, so a hit still proves this toolchain's artifact runs.
    config_->cache_dir = "/tmp/runbox-lang-test-cache";
  }
  static void TearDownTestSuite() {
    RemoveTree(config_->work_dir.substr(0, config_->work_dir.rfind('/')));
    delete config_;
  }
  void SetUp() override {
    RUNBOX_ENGINE_REQUIRE_ROOT();
    auto e = Engine::Create(*config_);
    ASSERT_TRUE(e) << e.error().message;
    engine_ = std::move(*e);
  }
  static EngineConfig* config_;
  std::unique_ptr<Engine> engine_;
};
EngineConfig* LanguageTest::config_ = nullptr;

TEST_P(LanguageTest, Works) {
  const lang::LanguageSpec& spec = GetParam();
  bool installed = false;
  std::string version;
  for (const auto& info : engine_->Languages()) {
    if (info.id == spec.id) {
      installed = info.installed;
      version = info.version;
    }
  }
  ASSERT_TRUE(installed) << spec.id << " is not installed (or its version command fails); "
                         << "packages: " << ::testing::PrintToString(spec.packages);
  RecordProperty("version", version);

  // 1. The test program prints the expected answer.
  {
    Job j = testing::SimpleJob(spec.id, spec.test.program, spec.test.stdin_data);
    j.tests[0].expected_output = spec.test.expected_output;
    j.compare = CompareMode::kExact;
    auto r = engine_->Run(j);
    ASSERT_TRUE(r) << r.error().message;
    if (spec.compiled()) {
      ASSERT_TRUE(r->compile);
      ASSERT_FALSE(r->compile_error) << "test_program does not compile: " << Describe(*r->compile);
    }
    ASSERT_EQ(r->cases.size(), 1u);
    const CaseResult& c = r->cases[0];
    EXPECT_EQ(c.run.status, sandbox::RunStatus::kOk) << Describe(c.run);
    EXPECT_EQ(c.verdict, Verdict::kAccepted) << c.difference << "\n" << Describe(c.run);
  }
  // 2. The compile error program is CE, with a message from the compiler.
  if (spec.compiled()) {
    auto r = engine_->Run(testing::SimpleJob(spec.id, spec.test.compile_error_program));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->compile_error) << "compile_error_program compiled";
    if (r->compile) {
      EXPECT_EQ(r->compile->status, sandbox::RunStatus::kRuntimeError)
          << "a compile error should be the compiler's non-zero exit, not a limit: "
          << Describe(*r->compile);
      EXPECT_FALSE(r->compile->stdout_data.empty() && r->compile->stderr_data.empty())
          << "the compiler said nothing";
    }
  }
  // 3. The runtime error program is RE. It gets test_stdin too: filters (jq, sed, awk) run
  // their program only for input they read.
  {
    auto r = engine_->Run(
        testing::SimpleJob(spec.id, spec.test.runtime_error_program, spec.test.stdin_data));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_FALSE(r->compile_error) << "runtime_error_program does not compile: "
                                   << Describe(*r->compile);
    ASSERT_EQ(r->cases.size(), 1u);
    EXPECT_EQ(r->cases[0].run.status, sandbox::RunStatus::kRuntimeError)
        << Describe(r->cases[0].run);
  }
}

std::string IdName(const ::testing::TestParamInfo<lang::LanguageSpec>& info) {
  std::string name = info.param.id;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Catalog, LanguageTest, ::testing::ValuesIn(CatalogLanguages()), IdName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LanguageTest);

TEST(LanguageCatalog, Loads) {
  auto c = lang::LoadCatalog(RUNBOX_LANGUAGES_DIR);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_GT(c->size(), 0u);
}

}  // namespace
}  // namespace runbox::engine
