#include "sandbox/program_message.h"

#include <cstdio>
#include <cstring>

#include "sandbox/init_protocol.h"

namespace runbox::sandbox {

std::string Printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\0') {
      out += "\\0";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return s.size() > 80 ? out + "..." : out;
}

std::vector<std::string> ExecCandidates(const std::string& cmd,
                                        const std::vector<std::string>& env) {
  if (cmd.find('/') != std::string::npos) {
    return {cmd};
  }
  std::string path = "/usr/bin:/bin";
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) {
      path = e.substr(5);
    }
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string dir = path.substr(start, end - start);
    out.push_back((dir.empty() ? "." : dir) + "/" + cmd);
    start = end + 1;
  }
  return out;
}

// Each string length-prefixed (ProgramHeader): CheckRequest refused NULs in argv before the box
// was touched; this is the last check, on the candidates too.
Result<std::string> ProgramMessage(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env) {
  std::vector<std::string> strings = argv;
  std::vector<std::string> exec = ExecCandidates(argv[0], env);
  strings.insert(strings.end(), exec.begin(), exec.end());
  std::string message(sizeof(ProgramHeader), '\0');
  for (const auto& str : strings) {
    if (str.size() > kMaxProgramBytes || str.find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "execve candidate '" + Printable(str) + "' is too long or holds a NUL");
    }
    const uint32_t len = static_cast<uint32_t>(str.size());
    message.append(reinterpret_cast<const char*>(&len), sizeof len);
    message.append(str);
    if (message.size() - sizeof(ProgramHeader) > kMaxProgramBytes) {
      return MakeError(ErrorCode::kInvalidArgument, "the command line is too long");
    }
  }
  if (strings.size() > kMaxProgramStrings) {
    return MakeError(ErrorCode::kInvalidArgument, "the command line has too many arguments");
  }
  ProgramHeader header{static_cast<uint32_t>(message.size() - sizeof(ProgramHeader)),
                       static_cast<uint32_t>(argv.size()), static_cast<uint32_t>(exec.size())};
  std::memcpy(message.data(), &header, sizeof header);
  return message;
}

}  // namespace runbox::sandbox
