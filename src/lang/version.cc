#include "lang/version.h"

#include <cctype>
#include <limits>
#include <optional>

namespace runbox::lang {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// One version in a range: up to three parts, each a number or a wildcard ("x", "X", "*").
// Missing parts are wildcards too ("3.11" is "3.11.x").
struct Partial {
  std::array<uint64_t, 3> parts{};
  int known = 0;  // how many leading parts are numbers; the rest are wildcards
};

constexpr uint64_t kMaxPart = std::numeric_limits<uint64_t>::max() / 2;

// Parses "3", "3.11", "3.11.2", "3.x", "*", with an optional leading "v" or "=" already removed.
std::optional<Partial> ParsePartial(std::string_view s) {
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  Partial p;
  bool wildcard_seen = false;
  int index = 0;
  size_t i = 0;
  for (;;) {
    if (index == 3) {
      return std::nullopt;  // a fourth part
    }
    if (i < s.size() && (s[i] == 'x' || s[i] == 'X' || s[i] == '*')) {
      wildcard_seen = true;
      ++i;
    } else if (i < s.size() && IsDigit(s[i])) {
      uint64_t n = 0;
      while (i < s.size() && IsDigit(s[i])) {
        n = n * 10 + static_cast<uint64_t>(s[i] - '0');
        if (n > kMaxPart) {
          return std::nullopt;
        }
        ++i;
      }
      // After a wildcard a number says nothing: node-semver reads "3.*.2" as "3.x".
      if (!wildcard_seen) {
        p.parts[index] = n;
        p.known = index + 1;
      }
    } else {
      return std::nullopt;  // an empty part ("3..1", "3.") or another character
    }
    ++index;
    if (i == s.size()) {
      return p;
    }
    if (s[i] != '.') {
      return std::nullopt;
    }
    ++i;
  }
}

Semver Floor(const Partial& p) {
  Semver v;
  for (int k = 0; k < p.known; ++k) {
    v.parts[k] = p.parts[k];
  }
  return v;
}

// The first version above every version the partial names ("3.11" -> 3.12.0, "3" -> 4.0.0);
// only for partials with a wildcard part and at least one known one.
Semver Ceiling(const Partial& p) {
  Semver v = Floor(p);
  v.parts[p.known - 1] += 1;
  for (int k = p.known; k < 3; ++k) {
    v.parts[k] = 0;
  }
  return v;
}

using Op = VersionRange::Op;
using Comparator = VersionRange::Comparator;

// What an X-range means: any version the partial names.
void AddXRange(const Partial& p, std::vector<Comparator>* set) {
  if (p.known == 0) {
    return;  // "*": no constraint
  }
  if (p.known == 3) {
    set->push_back({Op::kEqual, Floor(p)});
    return;
  }
  set->push_back({Op::kGreaterEqual, Floor(p)});
  set->push_back({Op::kLess, Ceiling(p)});
}

// node-semver's tilde: patch-level changes if a minor is given, else minor-level changes.
void AddTilde(const Partial& p, std::vector<Comparator>* set) {
  if (p.known == 0) {
    return;
  }
  set->push_back({Op::kGreaterEqual, Floor(p)});
  Partial up = p;
  up.known = p.known == 1 ? 1 : 2;
  set->push_back({Op::kLess, Ceiling(up)});
}

// node-semver's caret: changes that do not modify the left-most non-zero part.
void AddCaret(const Partial& p, std::vector<Comparator>* set) {
  if (p.known == 0) {
    return;
  }
  set->push_back({Op::kGreaterEqual, Floor(p)});
  Partial up = p;
  if (p.parts[0] != 0 || p.known == 1) {
    up.known = 1;  // ^1.2.3, ^1.x, ^0 (-> <1.0.0)
  } else if (p.parts[1] != 0 || p.known == 2) {
    up.known = 2;  // ^0.2.3, ^0.0 (-> <0.1.0)
  } else {
    up.known = 3;  // ^0.0.3 -> <0.0.4
  }
  set->push_back({Op::kLess, Ceiling(up)});
}

// ">", ">=", "<", "<=" with a partial version, as node-semver desugars them.
void AddPrimitive(Op op, const Partial& p, std::vector<Comparator>* set) {
  if (p.known == 0) {
    if (op == Op::kLess || op == Op::kGreater) {
      set->push_back({Op::kLess, Semver{}});  // "<*" and ">*" match nothing
    }
    return;
  }
  if (p.known == 3) {
    set->push_back({op, Floor(p)});
    return;
  }
  switch (op) {
    case Op::kGreater:  // above every version the partial names
    case Op::kGreaterEqual:
      set->push_back({Op::kGreaterEqual, op == Op::kGreater ? Ceiling(p) : Floor(p)});
      return;
    case Op::kLess:
      set->push_back({Op::kLess, Floor(p)});
      return;
    case Op::kLessEqual:  // up to every version the partial names
      set->push_back({Op::kLess, Ceiling(p)});
      return;
    case Op::kEqual:
      AddXRange(p, set);
      return;
  }
}

std::vector<std::string_view> SplitOnSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') {
      ++i;
    }
    size_t start = i;
    while (i < s.size() && s[i] != ' ') {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

// One comparator set: "A - B" or space-separated comparators. Operators may stand apart from
// their version (">= 3.9"), as node-semver allows.
bool ParseSet(std::string_view text, std::vector<Comparator>* set) {
  std::vector<std::string_view> words = SplitOnSpaces(text);
  if (words.empty()) {
    return true;  // "" (or an empty side of "||") is any version
  }
  if (words.size() == 3 && words[1] == "-") {
    std::optional<Partial> from = ParsePartial(words[0]);
    std::optional<Partial> to = ParsePartial(words[2]);
    if (!from || !to) {
      return false;
    }
    if (from->known > 0) {
      set->push_back({Op::kGreaterEqual, Floor(*from)});
    }
    AddPrimitive(Op::kLessEqual, *to, set);
    return true;
  }
  for (size_t w = 0; w < words.size(); ++w) {
    std::string_view word = words[w];
    std::string_view op;
    for (std::string_view candidate : {">=", "<=", ">", "<", "=", "~>", "~", "^"}) {
      if (word.substr(0, candidate.size()) == candidate) {
        op = candidate;
        break;
      }
    }
    word.remove_prefix(op.size());
    if (word.empty() && !op.empty() && w + 1 < words.size()) {
      word = words[++w];
    }
    if (word == "latest" && op.empty()) {
      continue;
    }
    std::optional<Partial> p = ParsePartial(word);
    if (!p) {
      return false;
    }
    if (op.empty() || op == "=") {
      AddXRange(*p, set);
    } else if (op == "~" || op == "~>") {
      AddTilde(*p, set);
    } else if (op == "^") {
      AddCaret(*p, set);
    } else if (op == ">=") {
      AddPrimitive(Op::kGreaterEqual, *p, set);
    } else if (op == "<=") {
      AddPrimitive(Op::kLessEqual, *p, set);
    } else if (op == ">") {
      AddPrimitive(Op::kGreater, *p, set);
    } else {
      AddPrimitive(Op::kLess, *p, set);
    }
  }
  return true;
}

bool Holds(const Comparator& c, const Semver& v) {
  switch (c.op) {
    case Op::kLess: return v < c.version;
    case Op::kLessEqual: return v <= c.version;
    case Op::kGreater: return v > c.version;
    case Op::kGreaterEqual: return v >= c.version;
    case Op::kEqual: return v == c.version;
  }
  return false;
}

}  // namespace

std::string Semver::ToString() const {
  return std::to_string(parts[0]) + "." + std::to_string(parts[1]) + "." +
         std::to_string(parts[2]);
}

Semver SemverOf(std::string_view text) {
  std::optional<Semver> bare;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    Semver v;
    int count = 0;
    size_t j = i;
    bool overflow = false;
    while (count < 3) {
      uint64_t n = 0;
      size_t start = j;
      while (j < text.size() && IsDigit(text[j])) {
        n = n * 10 + static_cast<uint64_t>(text[j] - '0');
        overflow = overflow || n > kMaxPart;
        ++j;
      }
      if (j == start) {
        break;
      }
      v.parts[count++] = n;
      if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1]) && count < 3) {
        ++j;
      } else {
        break;
      }
    }
    if (!overflow && count >= 2) {
      return v;
    }
    if (!overflow && !bare) {
      bare = v;
    }
    i = j + 1;
  }
  return bare.value_or(Semver{});
}

Result<VersionRange> VersionRange::Parse(std::string_view text) {
  VersionRange range;
  range.text_ = std::string(text);
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "version: '" + range.text_ +
                         "' is not a version range (examples: \"3.11\", \"3.x\", \">=3.9 <4\", "
                         "\"^1.2\", \"*\")");
  };
  if (text.size() > 256) {
    return bad();
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad();
    }
  }
  size_t start = 0;
  for (;;) {
    size_t bar = text.find("||", start);
    std::string_view part =
        text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    std::vector<Comparator> set;
    if (!ParseSet(part, &set)) {
      return bad();
    }
    if (set.empty()) {
      range.sets_.clear();  // one side matches anything: so does the whole range
      return range;
    }
    range.sets_.push_back(std::move(set));
    if (bar == std::string_view::npos) {
      return range;
    }
    start = bar + 2;
  }
}

bool VersionRange::Matches(const Semver& v) const {
  if (sets_.empty()) {
    return true;
  }
  for (const auto& set : sets_) {
    bool all = true;
    for (const auto& c : set) {
      all = all && Holds(c, v);
    }
    if (all) {
      return true;
    }
  }
  return false;
}

bool VersionSatisfies(std::string_view version_text, std::string_view range) {
  Result<VersionRange> r = VersionRange::Parse(range);
  return r && r->Matches(SemverOf(version_text));
}

}  // namespace runbox::lang
