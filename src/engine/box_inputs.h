#pragma once
// What a job's boxes are given, apart from its limits: a language's environment and read-only
// binds over the sandbox defaults, whether it is installed on this host, the first line of its
// version output, and a test's stdin as a memfd.

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "lang/language.h"
#include "sandbox/sandbox.h"

namespace runbox::engine {

// sandbox::DefaultEnvironment() with the language's NAME=VALUE entries replacing or adding.
std::vector<std::string> LanguageEnv(const lang::LanguageSpec& spec);
// sandbox::DefaultSystemBinds() and the language's own paths (read-only; absent ones skipped).
std::vector<sandbox::Bind> LanguageBinds(const lang::LanguageSpec& spec);
// True when every absolute program the language names (version, compile, run) is executable.
bool Installed(const lang::LanguageSpec& spec);
// The first line of `text` that is not blank, trimmed; "" when there is none.
std::string FirstLine(const std::string& text);
// A memfd holding `data` at offset 0: a test case's stdin.
Result<UniqueFd> DataFd(const std::string& data);
// True when `fd` (>= 0) is readable now: the cancel pipe has been written.
bool Readable(int fd);

}  // namespace runbox::engine
