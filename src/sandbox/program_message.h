#pragma once
// The second go-ahead: the program the box's init is to run, as the message it reads from the
// sync pipe (init_protocol.h, ProgramHeader): argv, then the execve candidates for argv[0].

#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::sandbox {

// Where execve looks for cmd: cmd itself when it holds a '/', otherwise each directory of the
// PATH in env (default "/usr/bin:/bin"; an empty entry is "."), in order.
std::vector<std::string> ExecCandidates(const std::string& cmd,
                                        const std::vector<std::string>& env);

// The message for argv, with argv[0] looked up in env's PATH. Fails (kInvalidArgument) for a
// string with a NUL or past kMaxProgramBytes, a message past it, or more than
// kMaxProgramStrings strings.
Result<std::string> ProgramMessage(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env);

// A string for an error message: NUL and other control bytes escaped, at most 80 bytes shown.
std::string Printable(const std::string& s);

}  // namespace runbox::sandbox
