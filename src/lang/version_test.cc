#include "lang/version.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbox::lang {
namespace {

TEST(SemverOfTest, TakesTheFirstDottedNumberOfAVersionCommandsText) {
  struct Case {
    const char* text;
    const char* semver;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"gcc (Debian 12.2.0-14) 12.2.0", "12.2.0"},
           {"g++ 12.2.0", "12.2.0"},
           {"Python 3.11.2", "3.11.2"},
           {"go version go1.19.8 linux/amd64", "1.19.8"},
           {"rustc 1.63.0 (4b91a6ea7 2022-08-08)", "1.63.0"},
           {"Lua 5.4", "5.4.0"},
           {"v18.19.0", "18.19.0"},
           {"1.2.3.4", "1.2.3"},
           {"Welcome to Racket v8.7 [cs].", "8.7.0"},
           {"version 7 of something", "7.0.0"},
           {"no digits", "0.0.0"},
           {"", "0.0.0"},
       }) {
    EXPECT_EQ(SemverOf(c.text).ToString(), c.semver) << c.text;
  }
}

TEST(SemverOfTest, ANumberTooLargeForAPartIsNotAVersion) {
  EXPECT_EQ(SemverOf("99999999999999999999999.1 then 2.3").ToString(), "2.3.0");
}

// node-semver's satisfies(), which Piston calls with the client's version: each row is what
// `npx semver -r RANGE VERSION` answers.
TEST(VersionRangeTest, MatchesAsNodeSemverDoes) {
  struct Case {
    const char* range;
    const char* version;
    bool match;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "3.11.2", true},
           {"*", "3.11.2", true},
           {"x", "3.11.2", true},
           {"latest", "3.11.2", true},
           {"3", "3.11.2", true},
           {"3.11", "3.11.2", true},
           {"3.11.x", "3.11.2", true},
           {"3.x", "3.11.2", true},
           {"3.*", "3.11.2", true},
           {"3.*.2", "3.11.2", true},
           {"v3.11.2", "3.11.2", true},
           {"=3.11.2", "3.11.2", true},
           {"3.11.2", "3.11.2", true},
           {"3.11.1", "3.11.2", false},
           {"3.10", "3.11.2", false},
           {"2", "3.11.2", false},
           {"14", "12.2.0", false},  // gcc's Debian revision is not its version
           {"12", "12.2.0", true},
           {"9.9", "3.11.2", false},
           {">=3.9", "3.11.2", true},
           {">=3.9 <3.11", "3.11.2", false},
           {">= 3.9 < 4", "3.11.2", true},
           {">3.11", "3.11.2", false},
           {">3.10", "3.11.2", true},
           {">3", "3.11.2", false},
           {"<3.11", "3.11.2", false},
           {"<=3.11", "3.11.2", true},
           {"<=3", "3.11.2", true},
           {"<3.11.3", "3.11.2", true},
           {"~3.11.1", "3.11.2", true},
           {"~3.11.3", "3.11.2", false},
           {"~3.10", "3.11.2", false},
           {"~3", "3.11.2", true},
           {"^3.1", "3.11.2", true},
           {"^3.12", "3.11.2", false},
           {"^2", "3.11.2", false},
           {"^0.2.3", "0.2.9", true},
           {"^0.2.3", "0.3.0", false},
           {"^0.0.3", "0.0.3", true},
           {"^0.0.3", "0.0.4", false},
           {"^0.0", "0.0.9", true},
           {"^0.0", "0.1.0", false},
           {"^0.x", "0.9.0", true},
           {"3.9 - 3.12", "3.11.2", true},
           {"3.9 - 3.10", "3.11.2", false},
           {"3.11.3 - 4", "3.11.2", false},
           {"2 || 3", "3.11.2", true},
           {"2 || 4", "3.11.2", false},
           {">*", "3.11.2", false},
           {"<*", "3.11.2", false},
       }) {
    Result<VersionRange> r = VersionRange::Parse(c.range);
    ASSERT_TRUE(r) << c.range << ": " << r.error().message;
    EXPECT_EQ(r->Matches(SemverOf(c.version)), c.match) << c.range << " vs " << c.version;
  }
}

TEST(VersionRangeTest, RefusesWhatIsNotARangeAndSaysWhatWasWrong) {
  for (const char* bad : {"3..1", "3.", ".3", "1.2.3.4", "abc", "3.11-rc1", ">=", "=",
                          "3 - ", "3\n", "99999999999999999999999", "3.11\x01"}) {
    Result<VersionRange> r = VersionRange::Parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, ::testing::HasSubstr("is not a version range")) << bad;
  }
  EXPECT_FALSE(VersionSatisfies("Python 3.11.2", "3..1"));
  EXPECT_FALSE(VersionRange::Parse(std::string(300, '3')));
}

TEST(VersionSatisfiesTest, ReadsTheVersionCommandsText) {
  EXPECT_TRUE(VersionSatisfies("gcc (Debian 12.2.0-14) 12.2.0", "12.2"));
  EXPECT_FALSE(VersionSatisfies("gcc (Debian 12.2.0-14) 12.2.0", "14"));
  EXPECT_FALSE(VersionSatisfies("Python 3.11.2", "9.9"));
  EXPECT_TRUE(VersionSatisfies("Python 3.11.2", "3"));
}

}  // namespace
}  // namespace runbox::lang
