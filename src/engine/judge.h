#pragma once
// Judging: compares a program's output with the expected output of a test case.

#include <string>
#include <string_view>

#include "engine/job.h"

namespace runbox::engine {

struct JudgeResult {
  bool accepted = false;
  // For a wrong answer, the first difference, for a human:
  //   "line 3: expected '5', got '6'", "token 4: expected '1.5', got '1.49'",
  //   "line 2: expected '7', got end of output", "line 4: expected end of output, got 'x'".
  std::string difference;
};

// kExact: byte for byte. kTrailingWhitespace: trailing spaces/tabs/CR on each line and trailing
// blank lines are ignored. kTokens: whitespace-separated tokens equal. kFloat: tokens, where two
// tokens that both parse fully as finite numbers may differ by at most `tolerance`, absolute or
// relative (|a-b| <= tol or |a-b| <= tol*|expected|); other tokens must be equal.
JudgeResult Judge(CompareMode mode, double tolerance, std::string_view expected,
                  std::string_view actual);

// "exact", "trailing_whitespace", "tokens", "float".
const char* CompareModeName(CompareMode mode);

}  // namespace runbox::engine
