#pragma once
// The one way runbox parses TOML (language files, the server's config file): toml++ behind a
// scan that keeps it away from its undefined behaviour.
//
// toml++ 3.3.0 (Debian 12's libtomlplusplus-dev) decides whether a non-ASCII character is
// whitespace with a generated switch whose default is __builtin_unreachable(): a character such
// as "é" or U+FEBF where whitespace may stand (outside strings and comments) is undefined
// behaviour (found by tests/fuzz/fuzz_lang; a release build may jump anywhere). TOML allows
// non-ASCII only in strings and comments, so ParseToml refuses it elsewhere, with the line, before
// toml++ sees the text; and every TOML_UNREACHABLE becomes a trap, so a path the scan missed is a
// clean crash rather than a wild jump. Include this header, never <toml++/toml.h> directly.

// toml++'s headers are #pragma once: defining TOML_UNREACHABLE after its preprocessor header
// and before the rest makes every later use the trap.
#include <toml++/impl/preprocessor.h>
#undef TOML_UNREACHABLE
#define TOML_UNREACHABLE __builtin_trap()
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "base/result.h"

namespace runbox::lang {

// Parses `text`; `source` names it in messages. Errors are kInvalidArgument in
// "SOURCE:LINE:COLUMN: TOML syntax error: ..." form.
Result<toml::table> ParseToml(std::string_view text, const std::string& source);

// The scan alone: kInvalidArgument for a non-ASCII byte outside strings and comments (a UTF-8
// byte-order mark at the start excepted), or right after a line-ending backslash in a multi-line
// basic string (toml++ trims whitespace there with the same faulty test).
Status CheckTomlText(std::string_view text, const std::string& source);

}  // namespace runbox::lang
