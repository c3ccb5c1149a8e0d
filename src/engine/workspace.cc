#include "engine/workspace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/files.h"
#include "base/unique_fd.h"

namespace runbox::engine {

Status ValidateFileName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + std::string(name) + "': " + why);
  };
  if (name.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "must not be empty");
  }
  if (name.size() > 1024) {
    return bad("longer than 1024 bytes");
  }
  if (name.front() == '/') {
    return bad("must be a relative path");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument, "must not contain control characters");
    }
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : slash - start);
    if (part.empty()) {
      return bad("must not have empty parts");
    }
    if (part == "." || part == "..") {
      return bad("must not contain '.' or '..' parts");
    }
    if (part.size() > 255) {
      return bad("a part is longer than 255 bytes");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return OkStatus();
}

Result<Workspace> Workspace::Create(const std::string& parent) {
  RUNBOX_TRY(MakeDirs(parent, 0755));
  std::string templ = parent + "/job-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return ErrnoError("mkdtemp " + templ);
  }
  Workspace ws(templ);
  if (::chmod(templ.c_str(), 0755) != 0) {
    return ErrnoError("chmod " + templ);
  }
  for (const std::string& d : {ws.src_dir(), ws.out_dir()}) {
    if (::mkdir(d.c_str(), 0755) != 0) {
      return ErrnoError("mkdir " + d);
    }
  }
  return ws;
}

Workspace::Workspace(Workspace&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

Workspace& Workspace::operator=(Workspace&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) {
      RemoveTree(path_);
    }
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

Workspace::~Workspace() {
  if (!path_.empty()) {
    RemoveTree(path_);
  }
}

Status Workspace::WriteFile(const std::string& name, std::string_view content) {
  std::string full = src_dir() + "/" + name;
  auto slash = full.rfind('/');
  RUNBOX_TRY(MakeDirs(full.substr(0, slash), 0755));
  UniqueFd fd(::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return ErrnoError("create " + full);
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("write " + full);
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace runbox::engine
