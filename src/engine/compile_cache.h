#pragma once
// CompileCache: content-addressed store of compile artifacts under one directory.
//
// An entry is `<dir>/<key>/` holding `box/` (the compile box's /box after a successful compile:
// what the run boxes get) and `stdout`, `stderr` (the compiler's output, for warnings). Entries
// are built in a private temporary directory and renamed into place, so readers never see a
// half-written entry and concurrent builders of one key (threads or processes) are safe: the
// first rename wins, the loser throws its copy away. Hits refresh the entry's mtime; Trim()
// removes the least recently used entries until the cache fits its byte budget.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::engine {

// Everything that decides a compile's result. Hashed with SHA-256 into the cache key.
struct CompileKeyInput {
  std::string language_id;
  std::string version;
  std::vector<std::string> argv;     // the expanded compile command (options included)
  std::vector<std::string> options;  // the job's compiler options
  std::vector<std::pair<std::string, std::string>> files;  // (name, content) as written
};

// Hex SHA-256 of an unambiguous encoding (every field length-prefixed) of the input.
std::string CompileCacheKey(const CompileKeyInput& input);
// Hex SHA-256 of bytes (nettle).
std::string Sha256Hex(std::string_view data);

struct CacheEntry {
  std::string box_dir;  // artifacts: the copy_in of run boxes
  std::string compile_stdout;
  std::string compile_stderr;
};

class CompileCache {
 public:
  CompileCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  // Creates the cache directory. Fails when it cannot be used (the engine then compiles
  // without a cache).
  Status Init();
  const std::string& dir() const { return dir_; }

  // The entry for key, or nullopt. A hit refreshes the entry's mtime (LRU).
  std::optional<CacheEntry> Lookup(const std::string& key) const;

  // A fresh private directory in the cache's file system, to build an entry in: the caller
  // fills `<tmp>/box` (created), then calls Commit().
  Result<std::string> NewTempEntry() const;
  // Writes the compiler output into tmp and renames it to the key's place. When the key
  // exists already (another builder won), tmp is removed and the existing entry returned.
  Result<CacheEntry> Commit(const std::string& key, const std::string& tmp,
                            const std::string& compile_stdout,
                            const std::string& compile_stderr);

  // Removes the oldest entries (by mtime) until the total size is at most max_bytes, and stale
  // temporary directories older than an hour. Returns the number of entries removed.
  int Trim() const;

 private:
  std::string dir_;
  uint64_t max_bytes_;
};

}  // namespace runbox::engine
