#pragma once
// Versions of installed toolchains, and the ranges API clients ask for.
//
// A language's version is whatever its version command prints ("gcc (Debian 12.2.0-14) 12.2.0",
// "Python 3.11.2", "go version go1.19.8 linux/amd64"). Every API names versions the way Piston
// does: a semver range, matched as node-semver's satisfies() matches it (Piston calls exactly
// that). One parser and one matcher serve the native API, Piston and the engine, so that "14"
// cannot match gcc 12.2.0's Debian revision in one place and not in another.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace runbox::lang {

// major.minor.patch. Pre-release and build tags are not kept: Debian's toolchains have none
// that a client could ask for.
struct Semver {
  std::array<uint64_t, 3> parts{};
  std::string ToString() const;
  auto operator<=>(const Semver&) const = default;
};

// The version a version command's text names: its first dotted number, padded to three parts
// ("go1.19.8" -> 1.19.8, "gcc (Debian 12.2.0-14) 12.2.0" -> 12.2.0, "Lua 5.4" -> 5.4.0); a bare
// number only when no dotted one appears ("v18" -> 18.0.0); 0.0.0 when the text has no digit.
Semver SemverOf(std::string_view version_text);

// A parsed node-semver range: comparator sets joined by "||", each a list of comparators that
// must all hold. Supported: "", "*", "x", "latest" (any version); partial versions and X-ranges
// ("3", "3.11", "3.11.x", "3.*"); "=", "<", "<=", ">", ">=" with partial versions; tilde
// ("~3.11"), caret ("^3.11.2"), and hyphen ranges ("3.9 - 3.12"). A leading "v" is allowed.
class VersionRange {
 public:
  // kInvalidArgument naming what is wrong: "version: '3..1' is not a version range".
  static Result<VersionRange> Parse(std::string_view text);

  bool Matches(const Semver& v) const;
  // For messages: the range as the client wrote it.
  const std::string& text() const { return text_; }

  enum class Op : uint8_t { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual };
  struct Comparator {
    Op op;
    Semver version;
  };

 private:
  std::string text_;
  std::vector<std::vector<Comparator>> sets_;  // OR of ANDs; empty means any version
};

// True when the version text's semver satisfies the range text; false for a malformed range
// (callers that must tell the two apart parse the range themselves).
bool VersionSatisfies(std::string_view version_text, std::string_view range);

}  // namespace runbox::lang
