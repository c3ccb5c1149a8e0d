#include "base/units.h"

#include <gtest/gtest.h>

namespace runbox {
namespace {

TEST(ParseSize, AcceptsBinarySuffixes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("1024"), 1024u);
  EXPECT_EQ(*ParseSize("512K"), 512u * 1024);
  EXPECT_EQ(*ParseSize("256M"), 256ull << 20);
  EXPECT_EQ(*ParseSize("256MiB"), 256ull << 20);
  EXPECT_EQ(*ParseSize("1g"), 1ull << 30);
  EXPECT_EQ(*ParseSize("1.5G"), 3ull << 29);
}

TEST(ParseSize, RejectsBadInputWithTheText) {
  for (const char* bad : {"", "-1", "-5M", "M", "12Q", "1.2.3", "abc", "99999999999T"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << r.error().message;
  }
}

TEST(ParseDuration, SecondsWithFractionsAndSuffixes) {
  EXPECT_EQ(ParseDuration("2")->count(), 2000);
  EXPECT_EQ(ParseDuration("0.5")->count(), 500);
  EXPECT_EQ(ParseDuration("1.5s")->count(), 1500);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000);
}

TEST(ParseDuration, RejectsNegativeAndGarbage) {
  for (const char* bad : {"-1", "", "x", "1h", "1e3"}) {
    auto r = ParseDuration(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Format, HumanReadable) {
  EXPECT_EQ(FormatSize(256ull << 20), "256 MiB");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(12), "12 B");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(2000)), "2 s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1.5 s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(250)), "250 ms");
}

}  // namespace
}  // namespace runbox
