// What a job's boxes are given: see box_inputs.h.

#include "engine/box_inputs.h"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/files.h"

namespace runbox::engine {

std::vector<std::string> LanguageEnv(const lang::LanguageSpec& spec) {
  std::vector<std::string> env = sandbox::DefaultEnvironment();
  for (const auto& e : spec.env) {
    std::string name = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.rfind(name + "=", 0) == 0; });
    env.push_back(e);
  }
  return env;
}

std::vector<sandbox::Bind> LanguageBinds(const lang::LanguageSpec& spec) {
  std::vector<sandbox::Bind> binds = sandbox::DefaultSystemBinds();
  for (const auto& path : spec.binds) {
    binds.push_back({path, path, /*writable=*/false, /*optional=*/true});
  }
  return binds;
}

namespace {

bool IsExecutable(const std::string& path) {
  return !path.empty() && path[0] == '/' && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

// Installed when every absolute program the language names exists on the host.
bool Installed(const lang::LanguageSpec& spec) {
  for (const auto* argv : {&spec.version_command, &spec.compile, &spec.run}) {
    if (!argv->empty() && (*argv)[0].starts_with("/") && !IsExecutable((*argv)[0])) {
      return false;
    }
  }
  return true;
}

std::string FirstLine(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = Trim(text.substr(start, nl == std::string::npos ? nl : nl - start));
    if (!line.empty()) {
      return line;
    }
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return "";
}

// A memfd holding data at offset 0: a test case's stdin.
Result<UniqueFd> DataFd(const std::string& data) {
  UniqueFd fd(::memfd_create("runbox-stdin", MFD_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError("memfd_create");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("write stdin memfd");
    }
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return ErrnoError("lseek stdin memfd");
  }
  return fd;
}

bool Readable(int fd) {
  if (fd < 0) {
    return false;
  }
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace runbox::engine
