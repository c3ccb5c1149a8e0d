#pragma once
// Workspace: a job's private host directory whose `out/` receives the compile box's /box when
// there is no compile cache to hold it (the job's own files go into boxes from memory,
// sandbox::RunRequest::files). Removed with everything in it when the Workspace is destroyed.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/job.h"

namespace runbox::engine {

// A file name a job may use: a relative path of plain parts ("main.cpp", "lib/util.h"): not
// empty, not absolute, no "." / ".." / empty parts, no NUL or control characters, each part at
// most 255 bytes and the whole at most 1024. Errors are kInvalidArgument without the field
// name (the caller prefixes "files[i].name").
Status ValidateFileName(std::string_view name);

class Workspace {
 public:
  // Creates a fresh directory beneath `parent` (mode 0755, so the box's copy-in can read it).
  static Result<Workspace> Create(const std::string& parent);
  Workspace(Workspace&& other) noexcept;
  Workspace& operator=(Workspace&& other) noexcept;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace();

  const std::string& path() const { return path_; }
  std::string out_dir() const { return path_ + "/out"; }

 private:
  explicit Workspace(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Removes a directory tree (no symlinks followed); errors are ignored.
void RemoveTree(const std::string& path);

}  // namespace runbox::engine
