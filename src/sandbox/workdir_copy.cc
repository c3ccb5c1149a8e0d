#include "sandbox/workdir_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "base/files.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "base/units.h"

namespace runbox::sandbox {
namespace {

constexpr uint64_t kBlock = 4096;

uint64_t RoundUp(uint64_t n) { return n / kBlock * kBlock + (n % kBlock != 0 ? kBlock : 0); }

// While alive, files this thread creates belong to uid/gid (when own is set). Raw syscalls:
// setfsuid is per thread, and must stay so in a multi-threaded server.
class AsCreator {
 public:
  AsCreator(bool own, uint32_t uid, uint32_t gid) : own_(own) {
    if (own_) {
      ::syscall(SYS_setfsgid, gid);
      ::syscall(SYS_setfsuid, uid);
    }
  }
  ~AsCreator() {
    if (own_) {
      ::syscall(SYS_setfsuid, 0);
      ::syscall(SYS_setfsgid, 0);
    }
  }
  AsCreator(const AsCreator&) = delete;
  AsCreator& operator=(const AsCreator&) = delete;

 private:
  bool own_;
};

// An open directory stream; its descriptor (dirfd) is also the base for openat and fstatat.
class DirStream {
 public:
  DirStream() = default;
  explicit DirStream(DIR* d) : d_(d) {}
  DirStream(DirStream&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  DirStream& operator=(DirStream&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~DirStream() {
    if (d_ != nullptr) {
      ::closedir(d_);
    }
  }
  // Takes a duplicate of fd, so that the caller's descriptor and its offset stay its own.
  static Result<DirStream> Open(int fd, const std::string& what) {
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
      return ErrnoError("open directory " + what);
    }
    DIR* d = ::fdopendir(dup);
    if (d == nullptr) {
      int err = errno;
      ::close(dup);
      return ErrnoError("open directory " + what, err);
    }
    ::rewinddir(d);
    return DirStream(d);
  }
  DIR* get() const { return d_; }
  int fd() const { return ::dirfd(d_); }

 private:
  DIR* d_ = nullptr;
};

struct CopyOptions {
  bool symlinks = false;  // recreate symlinks (a trusted source); otherwise leave them behind
  bool own = false;       // create as uid/gid (into a box); otherwise as the caller
  uint32_t uid = 0, gid = 0;
  bool one_fs = false;                    // skip entries on another file system than the root
  const CopyOutBudget* budget = nullptr;  // nullptr: unbounded (a trusted source)
  std::string root_name;                  // how messages name the source root
};

// Walks a source tree with an explicit stack of open directories (depth-first, one readdir
// stream per level) and rebuilds it under a destination directory.
class TreeCopier {
 public:
  explicit TreeCopier(CopyOptions o) : o_(std::move(o)), buf_(1 << 16) {}

  // An Error is a failure of the copy itself; a budget overrun leaves refused() set instead.
  Status Run(int src_root, int dst_root);
  const std::string& refused() const { return report_.refused; }
  const CopyOutReport& report() const { return report_; }

 private:
  struct Frame {
    DirStream src;
    UniqueFd dst;
    std::string path;  // relative to the roots; "" for the roots themselves
    mode_t mode = 0;   // applied to dst when the directory is done (0700 at least)
  };

  Status Entry(const Frame& f, const char* name, std::optional<Frame>* child);
  Status CopyRegular(const Frame& f, const char* name, const struct stat& st,
                     const std::string& rel);
  Status CopyData(int in, int out, uint64_t size, const std::string& rel);
  std::string Show(const std::string& rel) const {
    // A name chain thousands of levels deep makes no useful message: its start is enough.
    std::string p = o_.root_name + "/" + rel;
    return p.size() > 160 ? p.substr(0, 160) + "..." : p;
  }
  bool Charge(uint64_t bytes, const std::string& rel);

  CopyOptions o_;
  std::vector<char> buf_;
  dev_t dev_ = 0;
  int dst_root_ = -1;
  size_t depth_ = 0;  // of the directory whose entries are being read
  uint64_t entries_ = 0;
  // Inodes with several names, by (device, inode): where the first name was copied to.
  std::map<std::pair<dev_t, ino_t>, std::string> copied_;
  CopyOutReport report_;
};

bool TreeCopier::Charge(uint64_t bytes, const std::string& rel) {
  if (o_.budget == nullptr) {
    return true;
  }
  if (bytes > o_.budget->bytes || report_.bytes > o_.budget->bytes - bytes) {
    report_.refused = "the box's files exceed the copy-out budget of " +
                      FormatSize(o_.budget->bytes) +
                      " (the box's disk limit; a file counts with its full size, holes "
                      "included): stopped at " + Show(rel);
    return false;
  }
  report_.bytes += bytes;
  return true;
}

Status TreeCopier::Run(int src_root, int dst_root) {
  struct stat root;
  if (::fstat(src_root, &root) != 0) {
    return ErrnoError("stat " + o_.root_name);
  }
  dev_ = root.st_dev;
  dst_root_ = dst_root;
  std::vector<Frame> stack;
  {
    Frame top;
    RUNBOX_ASSIGN_OR_RETURN(top.src, DirStream::Open(src_root, o_.root_name));
    top.dst.reset(::fcntl(dst_root, F_DUPFD_CLOEXEC, 0));
    if (!top.dst.valid()) {
      return ErrnoError("dup the destination directory");
    }
    stack.push_back(std::move(top));
  }
  while (!stack.empty()) {
    Frame& top = stack.back();
    depth_ = stack.size() - 1;
    errno = 0;
    dirent* e = ::readdir(top.src.get());
    if (e == nullptr) {
      if (errno != 0) {
        return ErrnoError("read directory " + Show(top.path));
      }
      if (!top.path.empty()) {
        ::fchmod(top.dst.get(), top.mode | 0700);
      }
      stack.pop_back();
      continue;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    std::optional<Frame> child;
    RUNBOX_TRY(Entry(top, e->d_name, &child));
    if (!report_.refused.empty()) {
      return OkStatus();
    }
    if (child) {
      stack.push_back(std::move(*child));  // top is invalid from here
    }
  }
  return OkStatus();
}

Status TreeCopier::Entry(const Frame& f, const char* name, std::optional<Frame>* child) {
  const std::string rel = f.path.empty() ? std::string(name) : f.path + "/" + name;
  if (o_.budget != nullptr && ++entries_ > o_.budget->entries) {
    report_.refused = "the box holds more than " + std::to_string(o_.budget->entries) +
                      " files and directories, the copy-out budget: stopped at " + Show(rel);
    return OkStatus();
  }
  struct stat st;
  if (::fstatat(f.src.fd(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("stat " + Show(rel));
  }
  if (o_.one_fs && st.st_dev != dev_) {
    return OkStatus();  // a mount beneath the root: not part of the tree being copied
  }
  const mode_t mode = st.st_mode & 0777;  // never setuid/setgid/sticky
  if (S_ISDIR(st.st_mode)) {
    if (o_.budget != nullptr && depth_ + 1 > o_.budget->depth) {
      report_.refused = "the box's directories nest deeper than " +
                        std::to_string(o_.budget->depth) +
                        " levels, the copy-out budget: stopped at " + Show(rel);
      return OkStatus();
    }
    if (!Charge(kBlock, rel)) {
      return OkStatus();
    }
    int rc;
    {
      AsCreator as(o_.own, o_.uid, o_.gid);
      rc = ::mkdirat(f.dst.get(), name, 0700);
    }
    if (rc != 0 && errno != EEXIST) {
      return ErrnoError("mkdir " + Show(rel));
    }
    UniqueFd s(::openat(f.src.fd(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s.valid()) {
      return ErrnoError("open directory " + Show(rel));
    }
    Frame next;
    next.dst.reset(::openat(f.dst.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.dst.valid()) {
      return ErrnoError("open directory " + Show(rel));
    }
    RUNBOX_ASSIGN_OR_RETURN(next.src, DirStream::Open(s.get(), Show(rel)));
    next.path = rel;
    next.mode = mode;
    ++report_.dirs;
    *child = std::move(next);
    return OkStatus();
  }
  if (S_ISREG(st.st_mode)) {
    return CopyRegular(f, name, st, rel);
  }
  if (S_ISLNK(st.st_mode) && o_.symlinks) {
    char target[4096];
    ssize_t n = ::readlinkat(f.src.fd(), name, target, sizeof target - 1);
    if (n < 0) {
      return ErrnoError("readlink " + Show(rel));
    }
    target[n] = '\0';
    int rc;
    {
      AsCreator as(o_.own, o_.uid, o_.gid);
      rc = ::symlinkat(target, f.dst.get(), name);
    }
    if (rc != 0 && errno != EEXIST) {
      return ErrnoError("symlink " + Show(rel));
    }
    return OkStatus();
  }
  // FIFOs, devices, sockets, and symlinks out of a box: skipped on purpose, never opened (an
  // open of a FIFO would block on a writer that never comes).
  return OkStatus();
}

Status TreeCopier::CopyRegular(const Frame& f, const char* name, const struct stat& st,
                               const std::string& rel) {
  const mode_t mode = st.st_mode & 0777;
  const auto inode = std::make_pair(st.st_dev, st.st_ino);
  if (st.st_nlink > 1) {
    auto it = copied_.find(inode);
    if (it != copied_.end()) {
      // Another name of an inode copied already: a link to that copy, so that 256 names of one
      // file cost the host one file, as they cost the box.
      int rc;
      {
        AsCreator as(o_.own, o_.uid, o_.gid);
        rc = ::linkat(dst_root_, it->second.c_str(), f.dst.get(), name, 0);
      }
      if (rc == 0) {
        ++report_.links;
        return OkStatus();
      }
      // The host's file system takes fewer links per inode than tmpfs (ext4: 65000): the
      // names past that get a copy of their own (charged as one), which takes the next names.
      if (errno != EMLINK) {
        return ErrnoError("link " + Show(rel) + " to " + Show(it->second));
      }
      copied_.erase(it);
    }
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!Charge(RoundUp(size), rel)) {
    return OkStatus();
  }
  // O_NONBLOCK and O_NOCTTY: should the name be something else by now, opening it neither
  // blocks nor takes a terminal; the fstat below then tells and the entry is skipped.
  UniqueFd s(::openat(f.src.fd(), name,
                      O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!s.valid()) {
    return ErrnoError("open " + Show(rel));
  }
  struct stat now;
  if (::fstat(s.get(), &now) != 0) {
    return ErrnoError("stat " + Show(rel));
  }
  if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
    return OkStatus();
  }
  UniqueFd d;
  {
    AsCreator as(o_.own, o_.uid, o_.gid);
    d.reset(::openat(f.dst.get(), name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                     mode | 0600));
  }
  if (!d.valid()) {
    return ErrnoError("create " + Show(rel));
  }
  RUNBOX_TRY(CopyData(s.get(), d.get(), size, rel));
  ::fchmod(d.get(), mode | 0600);
  ++report_.files;
  if (st.st_nlink > 1) {
    copied_.emplace(inode, rel);
  }
  return OkStatus();
}

// Copies the data of the first `size` bytes (what was charged: a file that grew is cut there)
// and recreates the holes: SEEK_DATA/SEEK_HOLE find the data, ftruncate sets the size.
Status TreeCopier::CopyData(int in, int out, uint64_t size, const std::string& rel) {
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(in, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) {
        break;  // only a hole from here to the end
      }
      if (errno != EINVAL && errno != EOPNOTSUPP) {
        return ErrnoError("seek " + Show(rel));
      }
      data = static_cast<off_t>(pos);  // a file system without SEEK_DATA: all data
    }
    if (static_cast<uint64_t>(data) >= size) {
      break;
    }
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    uint64_t end = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (end <= static_cast<uint64_t>(data)) {
      end = size;
    }
    uint64_t off = static_cast<uint64_t>(data);
    while (off < end) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), end - off));
      ssize_t n = ::pread(in, buf_.data(), want, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return ErrnoError("read " + Show(rel));
      }
      if (n == 0) {
        end = off;  // the file is shorter than it was: the rest stays a hole
        break;
      }
      size_t done = 0;
      while (done < static_cast<size_t>(n)) {
        ssize_t w = ::pwrite(out, buf_.data() + done, static_cast<size_t>(n) - done,
                             static_cast<off_t>(off + done));
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w <= 0) {
          return ErrnoError("write " + Show(rel));
        }
        done += static_cast<size_t>(w);
      }
      off += static_cast<uint64_t>(n);
    }
    pos = std::max(end, pos + 1);
  }
  if (::ftruncate(out, static_cast<off_t>(size)) != 0) {
    return ErrnoError("set the size of " + Show(rel));
  }
  return OkStatus();
}

// Removes the staging directory and everything in it. The tree is runbox's own (built by this
// copy, within the depth budget), so std::filesystem's walk is safe here.
void RemoveStaging(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace

CopyOutBudget CopyOutBudget::For(const Limits& limits) {
  CopyOutBudget b;
  b.bytes = limits.disk_bytes;
  return b;
}

Status CopyIn(const std::string& from, int to_dir, uint32_t uid, uint32_t gid) {
  UniqueFd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.valid()) {
    return ErrnoError("open directory " + from);
  }
  CopyOptions o;
  o.symlinks = true;
  o.own = true;
  o.uid = uid;
  o.gid = gid;
  o.root_name = from;
  TreeCopier copier(std::move(o));
  return copier.Run(src.get(), to_dir);
}

Status WriteFilesIn(int to_dir, const std::vector<std::pair<std::string, std::string>>& files,
                    uint32_t uid, uint32_t gid) {
  for (const auto& [name, content] : files) {
    std::vector<std::string> parts = Split(name, '/');
    bool bad = name.empty() || name.front() == '/' || name.back() == '/';
    for (const auto& part : parts) {
      bad = bad || part.empty() || part == "." || part == "..";
    }
    if (bad) {
      return MakeError(ErrorCode::kInvalidArgument, "file name '" + name + "' is not a plain "
                                                    "relative path");
    }
    UniqueFd dir(::fcntl(to_dir, F_DUPFD_CLOEXEC, 0));
    if (!dir.valid()) {
      return ErrnoError("dup the workdir");
    }
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      int rc;
      {
        AsCreator as(true, uid, gid);
        rc = ::mkdirat(dir.get(), parts[i].c_str(), 0755);
      }
      if (rc != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + parts[i] + " for " + name);
      }
      dir.reset(::openat(dir.get(), parts[i].c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir.valid()) {
        return ErrnoError("open directory " + parts[i] + " for " + name);
      }
    }
    UniqueFd f;
    {
      AsCreator as(true, uid, gid);
      f.reset(::openat(dir.get(), parts.back().c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    }
    if (!f.valid()) {
      return ErrnoError("create " + name);
    }
    if (!WriteAll(f.get(), content.data(), content.size())) {
      return ErrnoError("write " + name);
    }
  }
  return OkStatus();
}

Result<CopyOutReport> CopyOut(int from_dir, const std::string& to, const CopyOutBudget& budget) {
  UniqueFd dst(::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.valid()) {
    return ErrnoError("open directory " + to);
  }
  // All or nothing: build the copy in a private directory of `to` (same file system, so the
  // entries can be renamed into place) and move it there only when it is complete.
  std::string staging = to + "/.runbox-copy-out-XXXXXX";
  if (::mkdtemp(staging.data()) == nullptr) {
    return ErrnoError("create a staging directory in " + to);
  }
  ScopeExit remove_staging([&] { RemoveStaging(staging); });
  const std::string staging_name = staging.substr(staging.rfind('/') + 1);
  UniqueFd stage(
      ::openat(dst.get(), staging_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!stage.valid()) {
    return ErrnoError("open " + staging);
  }
  CopyOptions o;
  o.one_fs = true;
  o.budget = &budget;
  o.root_name = "/box";
  TreeCopier copier(std::move(o));
  RUNBOX_TRY(copier.Run(from_dir, stage.get()));
  if (!copier.refused().empty()) {
    return copier.report();
  }
  RUNBOX_ASSIGN_OR_RETURN(DirStream entries, DirStream::Open(stage.get(), staging));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(entries.get())) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.push_back(e->d_name);
    }
  }
  for (const auto& name : names) {
    if (::renameat2(stage.get(), name.c_str(), dst.get(), name.c_str(), RENAME_NOREPLACE) == 0) {
      continue;
    }
    // A name `to` has already (a second run into one directory): the box's entry replaces it,
    // and the old one, swapped into the staging directory, goes with it.
    if (errno != EEXIST ||
        ::renameat2(stage.get(), name.c_str(), dst.get(), name.c_str(), RENAME_EXCHANGE) != 0) {
      return ErrnoError("move " + name + " into " + to);
    }
  }
  return copier.report();
}

}  // namespace runbox::sandbox
