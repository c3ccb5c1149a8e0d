#include "lang/toml.h"

namespace runbox::lang {
namespace {

bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }

}  // namespace

Status CheckTomlText(std::string_view text, const std::string& source) {
  enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kNormal;
  size_t line = 1;
  auto refuse = [&](const char* what) {
    return MakeError(ErrorCode::kInvalidArgument, source + ":" + std::to_string(line) +
                                                      ": TOML syntax error: " + what);
  };
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  const size_t n = text.size();
  auto at = [&](size_t k, std::string_view s) { return text.substr(k, s.size()) == s; };
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      ++line;
    }
    switch (state) {
      case State::kNormal:
        if (c == '#') {
          state = State::kComment;
        } else if (at(i, "\"\"\"")) {
          state = State::kMultiBasic;
          i += 2;
        } else if (c == '"') {
          state = State::kBasic;
        } else if (at(i, "'''")) {
          state = State::kMultiLiteral;
          i += 2;
        } else if (c == '\'') {
          state = State::kLiteral;
        } else if (!IsAscii(c)) {
          return refuse("a non-ASCII character outside a string or comment");
        }
        break;
      case State::kComment:
        if (c == '\n') {
          state = State::kNormal;
        }
        break;
      case State::kBasic:
        if (c == '\\') {
          ++i;  // the escaped character, whatever it is
        } else if (c == '"' || c == '\n') {
          state = State::kNormal;  // a newline ends it too: toml++ reports that error itself
        }
        break;
      case State::kLiteral:
        if (c == '\'' || c == '\n') {
          state = State::kNormal;
        }
        break;
      case State::kMultiBasic:
        if (c == '\\') {
          size_t k = i + 1;
          while (k < n && (text[k] == ' ' || text[k] == '\t')) {
            ++k;
          }
          if (k < n && (text[k] == '\n' || text[k] == '\r')) {
            // A line-ending backslash: what follows is still string content (toml++ trims the
            // whitespace with the fixed is_whitespace(), see toml.h).
            while (k < n && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' ||
                             text[k] == '\r')) {
              line += text[k] == '\n' ? 1 : 0;
              ++k;
            }
            i = k;
            continue;
          }
          ++i;  // an escape sequence: skip the escaped character
        } else if (at(i, "\"\"\"")) {
          i += 2;
          while (i + 1 < n && text[i + 1] == '"') {
            ++i;  // up to two quotes may end the content before the closing three
          }
          state = State::kNormal;
        }
        break;
      case State::kMultiLiteral:
        if (at(i, "'''")) {
          i += 2;
          while (i + 1 < n && text[i + 1] == '\'') {
            ++i;
          }
          state = State::kNormal;
        }
        break;
    }
    ++i;
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
