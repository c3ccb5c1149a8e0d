#include "engine/judge.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace runbox::engine {
namespace {

constexpr size_t kQuoteMax = 60;

// A piece of output quoted for a message: control characters escaped, long text cut.
std::string Quote(std::string_view s) {
  std::string out = "'";
  size_t n = 0;
  for (char c : s) {
    if (++n > kQuoteMax) {
      out += "...";
      break;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\'': out += "\\'"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "'";
}

std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string_view RightTrim(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\f' || s.back() == '\v')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string_view> SplitTokens(std::string_view s) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) {
      ++i;
    }
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) {
      ++i;
    }
    if (i > start) {
      tokens.push_back(s.substr(start, i - start));
    }
  }
  return tokens;
}

// "line N: expected 'x', got 'y'" for the first differing line, or nothing when all are equal.
std::optional<std::string> FirstLineDifference(const std::vector<std::string_view>& e,
                                               const std::vector<std::string_view>& a) {
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    std::string where = "line " + std::to_string(i + 1) + ": ";
    if (i >= a.size()) {
      return where + "expected " + Quote(e[i]) + ", got end of output";
    }
    if (i >= e.size()) {
      return where + "expected end of output, got " + Quote(a[i]);
    }
    if (e[i] != a[i]) {
      return where + "expected " + Quote(e[i]) + ", got " + Quote(a[i]);
    }
  }
  return std::nullopt;
}

// The first line on which exact texts differ, with a 1-based line number.
JudgeResult CompareExact(std::string_view expected, std::string_view actual) {
  if (expected == actual) {
    return {true, ""};
  }
  auto e = SplitLines(expected);
  auto a = SplitLines(actual);
  if (auto diff = FirstLineDifference(e, a)) {
    return {false, *diff};
  }
  // Same lines: the difference is in the final newline.
  bool e_nl = !expected.empty() && expected.back() == '\n';
  return {false, std::string("end of output: expected ") +
                     (e_nl ? "a final newline, got none" : "no final newline, got one")};
}

JudgeResult CompareTrailing(std::string_view expected, std::string_view actual) {
  auto normalize = [](std::string_view s) {
    std::vector<std::string_view> lines = SplitLines(s);
    for (auto& l : lines) {
      l = RightTrim(l);
    }
    while (!lines.empty() && lines.back().empty()) {
      lines.pop_back();
    }
    return lines;
  };
  auto e = normalize(expected);
  auto a = normalize(actual);
  if (auto diff = FirstLineDifference(e, a)) {
    return {false, *diff};
  }
  return {true, ""};
}

// Parses the whole token as a finite number.
bool ParseNumber(std::string_view token, double* out) {
  std::string s(token);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

JudgeResult CompareTokens(std::string_view expected, std::string_view actual, bool as_float,
                          double tolerance) {
  auto e = SplitTokens(expected);
  auto a = SplitTokens(actual);
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    std::string where = "token " + std::to_string(i + 1) + ": ";
    if (i >= a.size()) {
      return {false, where + "expected " + Quote(e[i]) + ", got end of output"};
    }
    if (i >= e.size()) {
      return {false, where + "expected end of output, got " + Quote(a[i])};
    }
    if (e[i] == a[i]) {
      continue;
    }
    double ev, av;
    if (as_float && ParseNumber(e[i], &ev) && ParseNumber(a[i], &av)) {
      double diff = std::fabs(ev - av);
      if (diff <= tolerance || diff <= tolerance * std::fabs(ev)) {
        continue;
      }
    }
    return {false, where + "expected " + Quote(e[i]) + ", got " + Quote(a[i])};
  }
  return {true, ""};
}

}  // namespace

JudgeResult Judge(CompareMode mode, double tolerance, std::string_view expected,
                  std::string_view actual) {
  switch (mode) {
    case CompareMode::kExact:
      return CompareExact(expected, actual);
    case CompareMode::kTrailingWhitespace:
      return CompareTrailing(expected, actual);
    case CompareMode::kTokens:
      return CompareTokens(expected, actual, false, 0);
    case CompareMode::kFloat:
      return CompareTokens(expected, actual, true, tolerance);
  }
  return {false, "unknown compare mode"};
}

const char* CompareModeName(CompareMode mode) {
  switch (mode) {
    case CompareMode::kExact: return "exact";
    case CompareMode::kTrailingWhitespace: return "trailing_whitespace";
    case CompareMode::kTokens: return "tokens";
    case CompareMode::kFloat: return "float";
  }
  return "?";
}

}  // namespace runbox::engine
