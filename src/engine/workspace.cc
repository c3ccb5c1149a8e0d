#include "engine/workspace.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/files.h"

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
  if (::mkdir(ws.out_dir().c_str(), 0755) != 0) {
    return ErrnoError("mkdir " + ws.out_dir());
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

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace runbox::engine
