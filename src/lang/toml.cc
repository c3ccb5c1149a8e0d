#include "lang/toml.h"

namespace runbox::lang {
namespace {

// A scan of TOML text that knows just enough of its lexical states to tell where a string or a
// comment starts and ends.
class TomlScan {
 public:
  explicit TomlScan(std::string_view text) : text_(text) {}

  // True when the text has a non-ASCII byte outside strings and comments; line() is its line.
  bool FindNonAsciiOutsideStrings() {
    size_t i = text_.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a byte-order mark
    while (i < text_.size()) {
      if (text_[i] == '\n') {
        ++line_;
      }
      switch (state_) {
        case State::kNormal:
          if (!Opens(&i) && !IsAscii(text_[i])) {
            return true;
          }
          break;
        case State::kComment:
          state_ = text_[i] == '\n' ? State::kNormal : state_;
          break;
        case State::kBasic:
          if (text_[i] == '\\') {
            ++i;  // the escaped character, whatever it is
          } else if (text_[i] == '"' || text_[i] == '\n') {
            state_ = State::kNormal;  // a newline ends it too: toml++ reports that error itself
          }
          break;
        case State::kLiteral:
          state_ = text_[i] == '\'' || text_[i] == '\n' ? State::kNormal : state_;
          break;
        case State::kMultiBasic:
          if (text_[i] == '\\') {
            i = AfterBackslash(i);
            continue;
          }
          CloseMulti(&i, "\"\"\"");
          break;
        case State::kMultiLiteral:
          CloseMulti(&i, "'''");
          break;
      }
      ++i;
    }
    return false;
  }
  size_t line() const { return line_; }

 private:
  enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

  static bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }
  bool At(size_t k, std::string_view s) const { return text_.substr(k, s.size()) == s; }

  // In the normal state: a comment or string starting at *i (then the state is its and *i its
  // last opening character); false when none starts there.
  bool Opens(size_t* i) {
    if (text_[*i] == '#') {
      state_ = State::kComment;
    } else if (At(*i, "\"\"\"")) {
      state_ = State::kMultiBasic;
      *i += 2;
    } else if (text_[*i] == '"') {
      state_ = State::kBasic;
    } else if (At(*i, "'''")) {
      state_ = State::kMultiLiteral;
      *i += 2;
    } else if (text_[*i] == '\'') {
      state_ = State::kLiteral;
    } else {
      return false;
    }
    return true;
  }

  // The position after the escape that starts with the backslash at i in a multi-line basic
  // string: one escaped character, or for a line-ending backslash all the whitespace after it
  // (still string content; toml++ trims it with the fixed is_whitespace(), see toml.h).
  size_t AfterBackslash(size_t i) {
    size_t k = i + 1;
    while (k < text_.size() && (text_[k] == ' ' || text_[k] == '\t')) {
      ++k;
    }
    if (k >= text_.size() || (text_[k] != '\n' && text_[k] != '\r')) {
      return i + 2;
    }
    while (k < text_.size() &&
           (text_[k] == ' ' || text_[k] == '\t' || text_[k] == '\n' || text_[k] == '\r')) {
      line_ += text_[k] == '\n' ? 1 : 0;
      ++k;
    }
    return k;
  }

  // A multi-line string closes at three quotes; up to two more belong to its content.
  void CloseMulti(size_t* i, std::string_view quotes) {
    if (!At(*i, quotes)) {
      return;
    }
    *i += 2;
    while (*i + 1 < text_.size() && text_[*i + 1] == quotes[0]) {
      ++*i;
    }
    state_ = State::kNormal;
  }

  std::string_view text_;
  State state_ = State::kNormal;
  size_t line_ = 1;
};

}  // namespace

Status CheckTomlText(std::string_view text, const std::string& source) {
  TomlScan scan(text);
  if (scan.FindNonAsciiOutsideStrings()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     source + ":" + std::to_string(scan.line()) +
                         ": TOML syntax error: a non-ASCII character outside a string or comment");
  }
  return OkStatus();
}

Result<toml::table> ParseToml(std::string_view text, const std::string& source) {
  RUNBOX_TRY(CheckTomlText(text, source));
  // toml++ is built without exceptions (runbox::dep::toml): errors come back in the result.
  toml::parse_result parsed = toml::parse(text, source);
  if (!parsed) {
    // toml++ reports the position of the syntax error; keep it in "file:line:column" form.
    const toml::parse_error& e = parsed.error();
    const toml::source_position& where = e.source().begin;
    return MakeError(ErrorCode::kInvalidArgument,
                     source + ":" + std::to_string(where.line) + ":" +
                         std::to_string(where.column) +
                         ": TOML syntax error: " + std::string(e.description()));
  }
  return std::move(parsed).table();
}

}  // namespace runbox::lang
