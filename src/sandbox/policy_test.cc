#include "sandbox/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbox::sandbox {
namespace {

using ::testing::HasSubstr;

TEST(Policy, DefaultIsValid) { EXPECT_TRUE(Policy{}.Validate()); }

TEST(Policy, RejectsBadLimitsNamingTheFlag) {
  struct Case {
    void (*mutate)(Policy&);
    const char* expect;
  } cases[] = {
      {[](Policy& p) { p.limits.cpu_time = milliseconds(0); }, "--cpu-time"},
      {[](Policy& p) { p.limits.wall_time = milliseconds(-5); }, "--wall-time"},
      {[](Policy& p) { p.limits.memory_bytes = 1024; }, "--memory"},
      {[](Policy& p) { p.limits.pids = 0; }, "--pids"},
      {[](Policy& p) { p.limits.output_bytes = 0; }, "--output"},
      {[](Policy& p) { p.limits.open_files = 2; }, "--open-files"},
      {[](Policy& p) { p.uid = 0; }, "root"},
      {[](Policy& p) { p.workdir = "box"; }, "absolute"},
      {[](Policy& p) { p.tmpfs = {"/a/../etc"}; }, ".."},
      {[](Policy& p) { p.env = {"NOEQUALS"}; }, "NAME=VALUE"},
      {[](Policy& p) { p.binds = {{"/definitely/not/here", "/x"}}; }, "does not exist"},
      {[](Policy& p) { p.binds = {{"/usr", "/proc"}}; }, "provided by runbox"},
      // A NUL would cut every path and entry short at the syscall: refused wherever it is.
      {[](Policy& p) { p.env = {std::string("A=1\0PATH=/x", 12)}; }, "environment entry 0"},
      {[](Policy& p) { p.binds = {{std::string("/usr\0/etc", 9), "/usr"}}; }, "NUL"},
      {[](Policy& p) { p.binds = {{"/usr", std::string("/usr\0x", 6)}}; }, "NUL"},
      {[](Policy& p) { p.tmpfs = {std::string("/t\0mp", 5)}; }, "NUL"},
      {[](Policy& p) { p.workdir = std::string("/box\0/etc", 9); }, "NUL"},
      {[](Policy& p) { p.hostname = std::string("a\0b", 3); }, "NUL"},
      {[](Policy& p) { p.copy_out = std::string("/tmp\0/x", 7); }, "NUL"},
  };
  for (const auto& c : cases) {
    Policy p;
    c.mutate(p);
    auto s = p.Validate();
    ASSERT_FALSE(s) << c.expect;
    EXPECT_THAT(s.error().message, HasSubstr(c.expect));
  }
}

TEST(Policy, DefaultBindsAreReadOnlyAndNeverAllOfEtc) {
  for (const auto& b : DefaultSystemBinds()) {
    EXPECT_FALSE(b.writable) << b.source;
    EXPECT_NE(b.source, "/etc");
    EXPECT_NE(b.source, "/");
    EXPECT_EQ(b.source.rfind("/home", 0), std::string::npos);
  }
}

TEST(Policy, DefaultEnvironmentIsExplicit) {
  auto env = DefaultEnvironment();
  EXPECT_THAT(env, ::testing::Contains(HasSubstr("PATH=")));
  EXPECT_THAT(env, ::testing::Contains("HOME=/box"));
  EXPECT_THAT(env, ::testing::Contains(HasSubstr("LANG=")));
}

}  // namespace
}  // namespace runbox::sandbox
