#include "lang/language.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbox::lang {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

LanguageSpec ValidCompiledSpec() {
  LanguageSpec spec;
  spec.id = "cpp";
  spec.name = "C++";
  spec.aliases = {"c++"};
  spec.extensions = {"cpp"};
  spec.main_file = "main.cpp";
  spec.packages = {"g++"};
  spec.version_command = {"/usr/bin/g++", "--version"};
  spec.compile = {"/usr/bin/g++", "-o", "main", "{options}", "{main}"};
  spec.run = {"./main", "{args}"};
  spec.template_code = "int main() {}";
  spec.test.program = "int main() {}";
  spec.test.expected_output = "42\n";
  spec.test.compile_error_program = "int main() { return x; }";
  spec.test.runtime_error_program = "int main() { return 1; }";
  return spec;
}

TEST(ExpandArgvTest, SplicesOptionsAndArgsAndReplacesMain) {
  EXPECT_THAT(
      ExpandArgv({"/usr/bin/g++", "-O2", "{options}", "{main}"}, "main.cpp", {"-Wall", "-g"}, {}),
      ElementsAre("/usr/bin/g++", "-O2", "-Wall", "-g", "main.cpp"));
  EXPECT_THAT(ExpandArgv({"./main", "{args}"}, "main.cpp", {}, {"a b", ""}),
              ElementsAre("./main", "a b", ""));
}

TEST(ExpandArgvTest, EmptyOptionsAndArgsVanish) {
  EXPECT_THAT(ExpandArgv({"/usr/bin/python3", "{options}", "{main}", "{args}"}, "main.py", {}, {}),
              ElementsAre("/usr/bin/python3", "main.py"));
}

TEST(ExpandArgvTest, MainIsReplacedInsideWordsButNotRecursively) {
  EXPECT_THAT(
      ExpandArgv({"/usr/bin/sqlite3", ".read {main}", "{main}{main}"}, "{main}.sql", {}, {}),
      ElementsAre("/usr/bin/sqlite3", ".read {main}.sql", "{main}.sql{main}.sql"));
}

TEST(ExpandArgvTest, PlaceholderTextInArgsIsNotExpanded) {
  EXPECT_THAT(ExpandArgv({"./main", "{args}"}, "main.c", {"{main}"}, {"{main}", "{options}"}),
              ElementsAre("./main", "{main}", "{options}"));
}

TEST(LanguageSpecTest, ValidSpecPasses) { EXPECT_TRUE(ValidCompiledSpec().Validate()); }

struct BadSpecCase {
  const char* what;
  void (*mutate)(LanguageSpec&);
  const char* message;
};

class LanguageSpecBadTest : public ::testing::TestWithParam<BadSpecCase> {};

TEST_P(LanguageSpecBadTest, IsRejectedNamingTheKey) {
  LanguageSpec spec = ValidCompiledSpec();
  GetParam().mutate(spec);
  Status status = spec.Validate();
  ASSERT_FALSE(status) << GetParam().what;
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LanguageSpecBadTest,
    ::testing::Values(
        BadSpecCase{"uppercase id", [](LanguageSpec& s) { s.id = "Cpp"; }, "id: 'Cpp'"},
        BadSpecCase{"empty name", [](LanguageSpec& s) { s.name = ""; }, "name:"},
        BadSpecCase{"alias with space", [](LanguageSpec& s) { s.aliases = {"c plus"}; },
                    "aliases: 'c plus'"},
        BadSpecCase{"alias equal to id", [](LanguageSpec& s) { s.aliases = {"cpp"}; },
                    "is the id itself"},
        BadSpecCase{"extension with dot", [](LanguageSpec& s) { s.extensions = {".cpp"}; },
                    "extensions: '.cpp'"},
        BadSpecCase{"duplicate extension",
                    [](LanguageSpec& s) {
                      s.extensions = {"cc", "cc"};
                    },
                    "extensions: 'cc' is listed twice"},
        BadSpecCase{"main file in a directory",
                    [](LanguageSpec& s) { s.main_file = "src/main.cpp"; }, "main_file:"},
        BadSpecCase{"main file ..", [](LanguageSpec& s) { s.main_file = ".."; }, "main_file:"},
        BadSpecCase{"no packages", [](LanguageSpec& s) { s.packages = {}; }, "packages:"},
        BadSpecCase{"bad package", [](LanguageSpec& s) { s.packages = {"G++"}; },
                    "packages: 'G++'"},
        BadSpecCase{"relative compiler", [](LanguageSpec& s) { s.compile[0] = "g++"; },
                    "compile: the program 'g++' must be an absolute path"},
        BadSpecCase{"dotdot compiler",
                    [](LanguageSpec& s) { s.compile[0] = "/usr/bin/../bin/g++"; },
                    "compile: the program"},
        BadSpecCase{"empty run", [](LanguageSpec& s) { s.run = {}; }, "run: must be a non-empty"},
        BadSpecCase{"run from a subdirectory", [](LanguageSpec& s) { s.run[0] = "./bin/main"; },
                    "run: the program './bin/main'"},
        BadSpecCase{"misspelt placeholder", [](LanguageSpec& s) { s.compile.push_back("{mian}"); },
                    "compile: unknown placeholder '{mian}'"},
        BadSpecCase{"args in compile", [](LanguageSpec& s) { s.compile.push_back("{args}"); },
                    "compile: {args} is allowed only in run"},
        BadSpecCase{"options in run of a compiled language",
                    [](LanguageSpec& s) { s.run.push_back("{options}"); },
                    "run: {options} is not allowed here"},
        BadSpecCase{"options inside a word",
                    [](LanguageSpec& s) { s.compile.push_back("-x{options}"); },
                    "{options} must be a whole word"},
        BadSpecCase{"args twice", [](LanguageSpec& s) { s.run.push_back("{args}"); },
                    "run: {args} appears more than once"},
        BadSpecCase{"version relative",
                    [](LanguageSpec& s) {
                      s.version_command = {"gcc", "--version"};
                    },
                    "version_command: the program 'gcc'"},
        BadSpecCase{"env without =", [](LanguageSpec& s) { s.env = {"GOCACHE"}; },
                    "env: 'GOCACHE' must be NAME=VALUE"},
        BadSpecCase{"env twice",
                    [](LanguageSpec& s) {
                      s.env = {"A=1", "A=2"};
                    },
                    "env: A is set twice"},
        BadSpecCase{"bind relative", [](LanguageSpec& s) { s.binds = {"var/lib/ghc"}; },
                    "binds: 'var/lib/ghc'"},
        BadSpecCase{"bind root", [](LanguageSpec& s) { s.binds = {"/"}; }, "binds: '/'"},
        BadSpecCase{"zero pids", [](LanguageSpec& s) { s.run_limits.pids = 0; },
                    "run_limits.pids: must be between 1 and 4096"},
        BadSpecCase{"huge memory",
                    [](LanguageSpec& s) { s.compile_limits.memory_bytes = 512ull << 30; },
                    "compile_limits.memory: must be between 1M and 64G"},
        BadSpecCase{"zero cpu time",
                    [](LanguageSpec& s) { s.run_limits.cpu_time = std::chrono::milliseconds(0); },
                    "run_limits.cpu_time"},
        BadSpecCase{"no template", [](LanguageSpec& s) { s.template_code = ""; }, "template:"},
        BadSpecCase{"no test program", [](LanguageSpec& s) { s.test.program = ""; },
                    "test_program:"},
        BadSpecCase{"no expected output", [](LanguageSpec& s) { s.test.expected_output = ""; },
                    "test_expected:"},
        BadSpecCase{"compiled without a compile error program",
                    [](LanguageSpec& s) { s.test.compile_error_program = ""; },
                    "compile_error_program: required"},
        BadSpecCase{"interpreted with a compile error program",
                    [](LanguageSpec& s) { s.compile.clear(); },
                    "compile_error_program: set, but there is no compile step"},
        BadSpecCase{"interpreted with compile limits",
                    [](LanguageSpec& s) {
                      s.compile.clear();
                      s.test.compile_error_program.clear();
                      s.compile_limits.pids = 128;
                    },
                    "compile_limits: set, but there is no compile step"},
        BadSpecCase{"no runtime error program",
                    [](LanguageSpec& s) { s.test.runtime_error_program = ""; },
                    "runtime_error_program:"}));

TEST(LanguageSpecTest, InterpretedLanguageMayTakeOptionsInRun) {
  LanguageSpec spec = ValidCompiledSpec();
  spec.compile.clear();
  spec.test.compile_error_program.clear();
  spec.run = {"/usr/bin/python3", "{options}", "{main}", "{args}"};
  EXPECT_TRUE(spec.Validate());
  EXPECT_FALSE(spec.compiled());
}

}  // namespace
}  // namespace runbox::lang
