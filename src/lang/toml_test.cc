#include "lang/toml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace runbox::lang {
namespace {

using ::testing::HasSubstr;

// Inputs that reached toml++ 3.3.0's __builtin_unreachable (tests/fuzz/corpus/*/regress-tomlpp-*):
// a non-ASCII character where whitespace may stand. Each must be a clear error, not UB.
TEST(TomlTest, NonAsciiWhereWhitespaceMayStandIsAnErrorBeforeTomlppSeesIt) {
  for (const char* text : {"\xEF\xBA\xBF=", "\xC3\xA9=1", "a = 1\n\xC3\xA9 = 2\n", "a = \xC3\xA9\n",
                           "[t]\n  \xE3\x80\x81x = 1", "a = [1, \xC2\xA1 2]"}) {
    Result<toml::table> r = ParseToml(text, "x.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("x.toml:")) << text;
    EXPECT_THAT(r.error().message, HasSubstr("non-ASCII")) << text;
  }
  Result<toml::table> r = ParseToml("a = 1\nb = 2\n\xC3\xA9 = 3\n", "x.toml");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("x.toml:3:"));
}

// The fuzz_config crash of CI run 19: a quote inside a bare value, so the scan reads a string
// where toml++ tests each character as a value terminator. toml++ itself must now answer with a
// syntax error (no trap, no UB) for every character of the faulty ranges, wherever it stands.
TEST(TomlTest, TomlppGivesAnErrorForNonAsciiWhereverItStands) {
  for (char32_t c : {U'\u00A1', U'\u00A4', U'\u00E9', U'\u0499', U'\u3001', U'\u2FFF', U'\uFEBF'}) {
    std::string utf8;
    if (c < 0x800) {
      utf8 = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    } else {
      utf8 = {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
              static_cast<char>(0x80 | (c & 0x3F))};
    }
    for (const std::string& text :
         {"listen = 1\"2" + utf8 + "::1]\n", utf8 + "=1", "a = 1 " + utf8 + "\n", "a = [1," + utf8 + "]",
          "a = tru" + utf8}) {
      toml::parse_result direct = toml::parse(std::string_view(text), std::string_view("direct.toml"));
      EXPECT_FALSE(direct) << text;
      Result<toml::table> r = ParseToml(text, "x.toml");
      ASSERT_FALSE(r) << text;
      EXPECT_THAT(r.error().message, HasSubstr("x.toml:")) << text;
    }
    // After a line-ending backslash it is string content: valid TOML, and toml++ trims the
    // whitespace before it with the fixed test.
    Result<toml::table> r = ParseToml("s = \"\"\"x\\\n  " + utf8 + "\"\"\"", "x.toml");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->get("s")->value_or(std::string()), "x" + utf8);
  }
}

TEST(TomlTest, NonAsciiInStringsAndCommentsIsFine) {
  Result<toml::table> r = ParseToml(
      "\xEF\xBB\xBF# caf\xC3\xA9\n"
      "a = \"caf\xC3\xA9 \\\"\xE2\x80\x83\\\" \xF0\x9F\x98\x80\"  # \xC3\xA9\n"
      "b = 'caf\xC3\xA9'\n"
      "c = \"\"\"\nline \xC3\xA9\n\"\"\"\"\n"
      "d = '''\n\xC3\xA9 '' \n'''\n"
      "e = \"\"\"x\\\n  y\xC3\xA9\"\"\"\n"
      "\"k\xC3\xA9y\" = 1\n",
      "ok.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->get("a")->value_or(std::string()), "caf\xC3\xA9 \"\xE2\x80\x83\" \xF0\x9F\x98\x80");
  EXPECT_EQ(r->get("b")->value_or(std::string()), "caf\xC3\xA9");
  EXPECT_EQ(r->get("c")->value_or(std::string()), "line \xC3\xA9\n\"");
  EXPECT_EQ(r->get("e")->value_or(std::string()), "xy\xC3\xA9");
  EXPECT_TRUE(r->contains("k\xC3\xA9y"));
}

TEST(TomlTest, SyntaxErrorsNameFileLineAndColumn) {
  Result<toml::table> r = ParseToml("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("bad.toml:2:"));
  EXPECT_THAT(r.error().message, HasSubstr("TOML syntax error"));
}

// lang/toml.h turns toml++'s TOML_UNREACHABLE into a trap; a unit that included toml++ directly
// would compile its inline functions the other way (an ODR violation, as the TOML_EXCEPTIONS
// mismatch once was). So nothing else includes it.
TEST(TomlTest, OnlyLangTomlHIncludesTomlpp) {
  namespace fs = std::filesystem;
  const std::string needle = std::string("#include <") + "toml++/";  // not this file's own text
  std::vector<std::string> offenders;
  for (const char* dir : {"src", "tests"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(RUNBOX_SOURCE_DIR) / dir)) {
      std::string ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cc" && ext != ".h")) {
        continue;
      }
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find(needle) != std::string::npos &&
          e.path().filename() != "toml.h") {
        offenders.push_back(e.path().string());
      }
    }
  }
  EXPECT_THAT(offenders, ::testing::IsEmpty());
}

}  // namespace
}  // namespace runbox::lang
