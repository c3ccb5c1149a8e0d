#include "engine/compile_cache.h"

#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <system_error>

#include "base/files.h"
#include "engine/workspace.h"

namespace runbox::engine {
namespace fs = std::filesystem;

namespace {

constexpr char kTempPrefix[] = ".tmp-";

void AppendField(std::string* out, std::string_view field) {
  *out += std::to_string(field.size());
  *out += ':';
  out->append(field);
  *out += ',';
}

bool IsHexKey(const std::string& key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

uint64_t TreeBytes(const fs::path& p) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      total += it->file_size(ec);
    }
  }
  return total;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  // nettle, not OpenSSL: OpenSSL 3's first digest loads its provider and method store, 1.1 to
  // 2 ms of every `runbox run` even without reading openssl.cnf, for one small hash.
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  constexpr unsigned len = SHA256_DIGEST_SIZE;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

std::string CompileCacheKey(const CompileKeyInput& in) {
  std::string enc = "runbox-compile-v1,";
  AppendField(&enc, in.language_id);
  AppendField(&enc, in.version);
  enc += "argv" + std::to_string(in.argv.size()) + ",";
  for (const auto& a : in.argv) {
    AppendField(&enc, a);
  }
  enc += "options" + std::to_string(in.options.size()) + ",";
  for (const auto& o : in.options) {
    AppendField(&enc, o);
  }
  auto files = in.files;
  std::sort(files.begin(), files.end());
  enc += "files" + std::to_string(files.size()) + ",";
  for (const auto& [name, content] : files) {
    AppendField(&enc, name);
    AppendField(&enc, content);
  }
  return Sha256Hex(enc);
}

Status CompileCache::Init() {
  RUNBOX_TRY(MakeDirs(dir_, 0755));
  if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
    return ErrnoError("compile cache " + dir_);
  }
  return OkStatus();
}

std::optional<CacheEntry> CompileCache::Lookup(const std::string& key) const {
  if (!IsHexKey(key)) {
    return std::nullopt;
  }
  std::string entry = dir_ + "/" + key;
  struct stat st;
  if (::stat((entry + "/box").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return std::nullopt;
  }
  ::utimensat(AT_FDCWD, entry.c_str(), nullptr, 0);  // LRU: now
  CacheEntry e;
  e.box_dir = entry + "/box";
  if (auto out = ReadFile(entry + "/stdout")) {
    e.compile_stdout = *out;
  }
  if (auto err = ReadFile(entry + "/stderr")) {
    e.compile_stderr = *err;
  }
  return e;
}

Result<std::string> CompileCache::NewTempEntry() const {
  std::string templ = dir_ + "/" + kTempPrefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return ErrnoError("mkdtemp " + templ);
  }
  ::chmod(templ.c_str(), 0755);
  std::string box = templ + "/box";
  if (::mkdir(box.c_str(), 0755) != 0) {
    RemoveTree(templ);
    return ErrnoError("mkdir " + box);
  }
  return templ;
}

Result<CacheEntry> CompileCache::Commit(const std::string& key, const std::string& tmp,
                                        const std::string& compile_stdout,
                                        const std::string& compile_stderr) {
  RUNBOX_CHECK(IsHexKey(key));
  Status s = WriteFile(tmp + "/stdout", compile_stdout, true);
  if (s) {
    s = WriteFile(tmp + "/stderr", compile_stderr, true);
  }
  if (!s) {
    RemoveTree(tmp);
    return std::move(s).error();
  }
  std::string entry = dir_ + "/" + key;
  // renameat2(RENAME_NOREPLACE) semantics through rename(2) on directories: renaming onto an
  // existing non-empty directory fails with ENOTEMPTY/EEXIST, so the first committer wins.
  if (::rename(tmp.c_str(), entry.c_str()) != 0) {
    int err = errno;
    RemoveTree(tmp);
    if (err != ENOTEMPTY && err != EEXIST) {
      return ErrnoError("rename " + tmp + " to " + entry, err);
    }
  }
  if (auto e = Lookup(key)) {
    return *e;
  }
  return MakeError(ErrorCode::kInternal, "compile cache entry " + entry + " vanished");
}

int CompileCache::Trim() const {
  struct Item {
    fs::path path;
    fs::file_time_type mtime;
    uint64_t bytes;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::end(it); it.increment(ec)) {
    std::string name = it->path().filename().string();
    auto mtime = it->last_write_time(ec);
    if (ec) {
      ec.clear();
      continue;
    }
    if (name.rfind(kTempPrefix, 0) == 0) {
      if (now - mtime > std::chrono::hours(1)) {
        RemoveTree(it->path().string());
      }
      continue;
    }
    if (!IsHexKey(name)) {
      continue;
    }
    // An entry used in the last minutes may be in a run box's copy-in right now: keep it.
    if (now - mtime < std::chrono::minutes(5)) {
      total += TreeBytes(it->path());
      continue;
    }
    uint64_t bytes = TreeBytes(it->path());
    total += bytes;
    items.push_back({it->path(), mtime, bytes});
  }
  if (total <= max_bytes_) {
    return 0;
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.mtime < b.mtime; });
  int removed = 0;
  for (const auto& item : items) {
    if (total <= max_bytes_) {
      break;
    }
    // Rename away first, so a concurrent Lookup never sees a half-deleted entry.
    std::string doomed = dir_ + "/" + kTempPrefix + "rm-" + item.path.filename().string() + "-" +
                         std::to_string(::getpid());
    if (::rename(item.path.c_str(), doomed.c_str()) == 0) {
      RemoveTree(doomed);
      total -= item.bytes;
      ++removed;
    }
  }
  return removed;
}

}  // namespace runbox::engine
