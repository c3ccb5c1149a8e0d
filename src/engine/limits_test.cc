// The limit rule (limits.h): an explicit field is the limit, a language raises only defaults.

#include "engine/limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbox::engine {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Racket's catalog entry: run_limits = { memory = "512M", cpu_time = 10, wall_time = 20 }.
lang::LimitAdjustments Racket() {
  lang::LimitAdjustments a;
  a.memory_bytes = 512ull << 20;
  a.cpu_time = std::chrono::seconds(10);
  a.wall_time = std::chrono::seconds(20);
  return a;
}

sandbox::Limits Max() {
  sandbox::Limits m;
  m.cpu_time = std::chrono::seconds(60);
  m.wall_time = std::chrono::seconds(120);
  m.memory_bytes = 2ull << 30;
  return m;
}

// A request that names only cpu_time_ms, the way the API decoder fills it (rest: defaults).
std::optional<sandbox::Limits> CpuOnly(milliseconds cpu, LimitFields* given) {
  sandbox::Limits l;
  l.cpu_time = cpu;
  *given = LimitFields::None();
  given->Add(LimitField::kCpuTime);
  return l;
}

TEST(ResolveLimits, NothingAskedIsTheDefaultRaisedByTheLanguage) {
  auto l = ResolveLimits(std::nullopt, LimitFields::All(), Racket(), sandbox::Limits{}, Max(),
                         "limits");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->cpu_time, std::chrono::seconds(10));
  EXPECT_EQ(l->wall_time, std::chrono::seconds(20));
  EXPECT_EQ(l->memory_bytes, 512ull << 20);
  EXPECT_EQ(l->pids, sandbox::Limits{}.pids);
}

TEST(ResolveLimits, AnExplicitFieldIsTheLimitEvenBelowTheLanguagesAdjustment) {
  LimitFields given;
  auto asked = CpuOnly(milliseconds(1000), &given);
  auto l = ResolveLimits(asked, given, Racket(), sandbox::Limits{}, Max(), "limits");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->cpu_time, milliseconds(1000));
  // The fields not given still get the language's adjustments.
  EXPECT_EQ(l->wall_time, std::chrono::seconds(20));
  EXPECT_EQ(l->memory_bytes, 512ull << 20);
}

TEST(ResolveLimits, AWholeLimitsStructIsExplicitInEveryField) {
  sandbox::Limits asked;
  asked.memory_bytes = 128ull << 20;
  auto l = ResolveLimits(asked, LimitFields(), Racket(), sandbox::Limits{}, Max(), "limits");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(*l, asked);
}

TEST(ResolveLimits, AnExplicitFieldAboveTheMaximumIsAnErrorNamingFieldAndMaximum) {
  LimitFields given;
  auto asked = CpuOnly(std::chrono::seconds(90), &given);
  auto l = ResolveLimits(asked, given, Racket(), sandbox::Limits{}, Max(), "compile_limits");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(l.error().message, HasSubstr("compile_limits.cpu_time_ms"));
  EXPECT_THAT(l.error().message, HasSubstr("above the maximum 60 s"));
}

TEST(ResolveLimits, AFieldNotGivenIsNeverCheckedNorUsed) {
  sandbox::Limits asked;
  asked.pids = 100000;  // above the maximum, but the client did not set it
  LimitFields given = LimitFields::None();
  given.Add(LimitField::kMemory);
  auto l = ResolveLimits(asked, given, {}, sandbox::Limits{}, Max(), "limits");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->pids, sandbox::Limits{}.pids);
}

TEST(ResolveLimits, AGivenZeroIsAnError) {
  sandbox::Limits asked;
  asked.wall_time = milliseconds(0);
  auto l = ResolveLimits(asked, LimitFields::All(), {}, sandbox::Limits{}, Max(), "limits");
  ASSERT_FALSE(l);
  EXPECT_THAT(l.error().message, HasSubstr("limits.wall_time_ms: must be at least 1"));
}

TEST(AdjustedDefaults, TheMaximumCapsALanguagesAdjustment) {
  sandbox::Limits max = Max();
  max.cpu_time = std::chrono::seconds(2);
  sandbox::Limits l = AdjustedDefaults(sandbox::Limits{}, Racket(), max);
  EXPECT_EQ(l.cpu_time, std::chrono::seconds(2));
  EXPECT_EQ(l.memory_bytes, 512ull << 20);
}

TEST(LimitFields, AddByApiName) {
  LimitFields f = LimitFields::None();
  EXPECT_TRUE(f.Add(std::string_view("memory_kib")));
  EXPECT_TRUE(f.Has(LimitField::kMemory));
  EXPECT_FALSE(f.Has(LimitField::kCpuTime));
  EXPECT_FALSE(f.Add(std::string_view("memory_bytes")));
}

}  // namespace
}  // namespace runbox::engine
