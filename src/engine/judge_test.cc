#include "engine/judge.h"

#include <gtest/gtest.h>

namespace runbox::engine {
namespace {

TEST(JudgeExact, EqualIsAccepted) {
  EXPECT_TRUE(Judge(CompareMode::kExact, 0, "a\nb\n", "a\nb\n").accepted);
  EXPECT_TRUE(Judge(CompareMode::kExact, 0, "", "").accepted);
}

TEST(JudgeExact, TrailingSpaceMatters) {
  auto r = Judge(CompareMode::kExact, 0, "5\n", "5 \n");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.difference, "line 1: expected '5', got '5 '");
}

TEST(JudgeExact, MissingFinalNewline) {
  auto r = Judge(CompareMode::kExact, 0, "5\n", "5");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.difference, "end of output: expected a final newline, got none");
}

TEST(JudgeExact, NamesTheFirstDifferentLine) {
  auto r = Judge(CompareMode::kExact, 0, "1\n2\n5\n", "1\n2\n6\n");
  EXPECT_EQ(r.difference, "line 3: expected '5', got '6'");
}

TEST(JudgeExact, ShortAndLongOutput) {
  EXPECT_EQ(Judge(CompareMode::kExact, 0, "1\n2\n", "1\n").difference,
            "line 2: expected '2', got end of output");
  EXPECT_EQ(Judge(CompareMode::kExact, 0, "1\n", "1\nx\n").difference,
            "line 2: expected end of output, got 'x'");
}

TEST(JudgeTrailing, IgnoresTrailingSpacesAndBlankLines) {
  EXPECT_TRUE(Judge(CompareMode::kTrailingWhitespace, 0, "a b\nc\n", "a b  \nc\t\n\n\n").accepted);
  EXPECT_TRUE(Judge(CompareMode::kTrailingWhitespace, 0, "a\n", "a").accepted);
  EXPECT_TRUE(Judge(CompareMode::kTrailingWhitespace, 0, "a\r\nb\r\n", "a\nb\n").accepted);
  EXPECT_TRUE(Judge(CompareMode::kTrailingWhitespace, 0, "", "\n\n").accepted);
}

TEST(JudgeTrailing, LeadingAndInnerSpacesMatter) {
  auto r = Judge(CompareMode::kTrailingWhitespace, 0, "a b\n", "a  b\n");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.difference, "line 1: expected 'a b', got 'a  b'");
  EXPECT_FALSE(Judge(CompareMode::kTrailingWhitespace, 0, "x\n", " x\n").accepted);
  // An inner blank line is not trailing.
  EXPECT_FALSE(Judge(CompareMode::kTrailingWhitespace, 0, "a\nb\n", "a\n\nb\n").accepted);
}

TEST(JudgeTrailing, EmptyOutput) {
  EXPECT_EQ(Judge(CompareMode::kTrailingWhitespace, 0, "42\n", "").difference,
            "line 1: expected '42', got end of output");
}

TEST(JudgeTokens, WhitespaceIsFree) {
  EXPECT_TRUE(Judge(CompareMode::kTokens, 0, "1 2 3\n", "1\n2\t 3").accepted);
  EXPECT_TRUE(Judge(CompareMode::kTokens, 0, "", "  \n").accepted);
  auto r = Judge(CompareMode::kTokens, 0, "1 2 3", "1 2 4");
  EXPECT_EQ(r.difference, "token 3: expected '3', got '4'");
  EXPECT_EQ(Judge(CompareMode::kTokens, 0, "1 2", "1").difference,
            "token 2: expected '2', got end of output");
  // Tokens mode is not numeric.
  EXPECT_FALSE(Judge(CompareMode::kTokens, 1, "1.0", "1").accepted);
}

TEST(JudgeFloat, AbsoluteAndRelativeTolerance) {
  EXPECT_TRUE(Judge(CompareMode::kFloat, 1e-6, "0.333333", "0.3333334").accepted);
  EXPECT_TRUE(Judge(CompareMode::kFloat, 1e-6, "1.0", "1").accepted);
  EXPECT_TRUE(Judge(CompareMode::kFloat, 1e-6, "1e9", "1000000000.5").accepted);  // relative
  EXPECT_FALSE(Judge(CompareMode::kFloat, 1e-6, "1.5", "1.49").accepted);
  EXPECT_EQ(Judge(CompareMode::kFloat, 1e-6, "2 1.5", "2 1.49").difference,
            "token 2: expected '1.5', got '1.49'");
}

TEST(JudgeFloat, NonNumbersMustMatchExactly) {
  EXPECT_TRUE(Judge(CompareMode::kFloat, 1e-3, "Case 1: 0.5", "Case 1: 0.5001").accepted);
  EXPECT_FALSE(Judge(CompareMode::kFloat, 1e-3, "yes", "YES").accepted);
  EXPECT_FALSE(Judge(CompareMode::kFloat, 1e-3, "nan", "nan1").accepted);
  EXPECT_FALSE(Judge(CompareMode::kFloat, 1e9, "inf", "5").accepted);  // inf is not finite
  EXPECT_FALSE(Judge(CompareMode::kFloat, 1e-3, "1.0", "1.0x").accepted);
}

TEST(JudgeDifference, QuotesControlCharactersAndCutsLongLines) {
  auto r = Judge(CompareMode::kExact, 0, "a\tb\n", "a\x01" "b\n");
  EXPECT_EQ(r.difference, "line 1: expected 'a\\tb', got 'a\\x01b'");
  std::string longline(200, 'x');
  r = Judge(CompareMode::kExact, 0, "y\n", longline + "\n");
  EXPECT_LT(r.difference.size(), 120u);
  EXPECT_NE(r.difference.find("..."), std::string::npos);
}

TEST(JudgeModeName, Names) {
  EXPECT_STREQ(CompareModeName(CompareMode::kExact), "exact");
  EXPECT_STREQ(CompareModeName(CompareMode::kTrailingWhitespace), "trailing_whitespace");
  EXPECT_STREQ(CompareModeName(CompareMode::kTokens), "tokens");
  EXPECT_STREQ(CompareModeName(CompareMode::kFloat), "float");
}

}  // namespace
}  // namespace runbox::engine
