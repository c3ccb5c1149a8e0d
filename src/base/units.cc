#include "base/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace runbox {
namespace {

// Splits "1.5G" into 1.5 and "G". Returns false when the number part is not a plain decimal.
bool SplitNumber(const std::string& text, double* number, std::string* suffix) {
  size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                             (text[i] == '.' && !dot))) {
    if (text[i] == '.') {
      dot = true;
    } else {
      digits = true;
    }
    ++i;
  }
  if (!digits) {
    return false;
  }
  *number = std::strtod(text.substr(0, i).c_str(), nullptr);
  *suffix = text.substr(i);
  return true;
}

std::string Lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  double number = 0;
  std::string suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid size '" + text + "': expected a non-negative number with an "
                     "optional K, M, G or T suffix, like 256M");
  }
  std::string s = Lower(suffix);
  double mult = 0;
  if (s.empty() || s == "b") {
    mult = 1;
  } else if (s == "k" || s == "kb" || s == "kib") {
    mult = 1024.0;
  } else if (s == "m" || s == "mb" || s == "mib") {
    mult = 1024.0 * 1024;
  } else if (s == "g" || s == "gb" || s == "gib") {
    mult = 1024.0 * 1024 * 1024;
  } else if (s == "t" || s == "tb" || s == "tib") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid size '" + text + "': unknown suffix '" + suffix +
                         "' (use K, M, G or T)");
  }
  double bytes = std::floor(number * mult);
  if (bytes >= 18446744073709551615.0) {
    return MakeError(ErrorCode::kInvalidArgument, "invalid size '" + text + "': too large");
  }
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  double number = 0;
  std::string suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid time '" + text + "': expected non-negative seconds, like 2 or 0.5");
  }
  std::string s = Lower(suffix);
  double ms = 0;
  if (s.empty() || s == "s") {
    ms = number * 1000;
  } else if (s == "ms") {
    ms = number;
  } else if (s == "m" || s == "min") {
    ms = number * 60000;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid time '" + text + "': unknown suffix '" + suffix + "' (use ms, s or m)");
  }
  if (ms > 1e12) {
    return MakeError(ErrorCode::kInvalidArgument, "invalid time '" + text + "': too large");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (std::fabs(v - std::round(v)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  char buf[64];
  auto ms = d.count();
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  } else if (ms % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms) / 1000.0);
  }
  return buf;
}

}  // namespace runbox
