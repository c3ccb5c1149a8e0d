#include "sandbox/workdir_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "base/files.h"
#include "base/unique_fd.h"

namespace runbox::sandbox {
namespace {

Status CopyFileData(int in, int out, const std::string& name) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("read " + name);
    }
    if (n == 0) {
      return OkStatus();
    }
    if (!WriteAll(out, buf, static_cast<size_t>(n))) {
      return ErrnoError("write " + name);
    }
  }
}

std::vector<std::string> Entries(int dirfd) {
  std::vector<std::string> names;
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return names;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      names.push_back(n);
    }
  }
  ::closedir(d);
  return names;
}

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

// own: create as uid/gid (copy in); otherwise as the caller (copy out).
Status CopyTree(int src_dir, int dst_dir, const std::string& path, bool follow_links, bool own,
                uint32_t uid, uint32_t gid) {
  for (const auto& name : Entries(src_dir)) {
    std::string p = path + "/" + name;
    struct stat st;
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("stat " + p);
    }
    mode_t mode = st.st_mode & 0777;  // never setuid/setgid/sticky
    if (S_ISDIR(st.st_mode)) {
      int rc;
      {
        AsCreator as(own, uid, gid);
        rc = ::mkdirat(dst_dir, name.c_str(), 0700);
      }
      if (rc != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + p);
      }
      UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd d(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s.valid() || !d.valid()) {
        return ErrnoError("open directory " + p);
      }
      RUNBOX_TRY(CopyTree(s.get(), d.get(), p, follow_links, own, uid, gid));
      ::fchmod(d.get(), mode | 0700);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!s.valid()) {
        return ErrnoError("open " + p);
      }
      UniqueFd d;
      {
        AsCreator as(own, uid, gid);
        d.reset(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                         mode | 0600));
      }
      if (!d.valid()) {
        return ErrnoError("create " + p);
      }
      RUNBOX_TRY(CopyFileData(s.get(), d.get(), p));
      ::fchmod(d.get(), mode | 0600);
    } else if (S_ISLNK(st.st_mode) && follow_links) {
      char target[4096];
      ssize_t n = ::readlinkat(src_dir, name.c_str(), target, sizeof target - 1);
      if (n < 0) {
        return ErrnoError("readlink " + p);
      }
      target[n] = '\0';
      int rc;
      {
        AsCreator as(own, uid, gid);
        rc = ::symlinkat(target, dst_dir, name.c_str());
      }
      if (rc != 0 && errno != EEXIST) {
        return ErrnoError("symlink " + p);
      }
    }
    // Devices, fifos, sockets, and symlinks out of a box: skipped on purpose.
  }
  return OkStatus();
}

}  // namespace

Status CopyIn(const std::string& from, int to_dir, uint32_t uid, uint32_t gid) {
  UniqueFd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.valid()) {
    return ErrnoError("open directory " + from);
  }
  return CopyTree(src.get(), to_dir, from, true, true, uid, gid);
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

Status CopyOut(int from_dir, const std::string& to) {
  UniqueFd dst(::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.valid()) {
    return ErrnoError("open directory " + to);
  }
  return CopyTree(from_dir, dst.get(), "the workdir", false, false, 0, 0);
}

}  // namespace runbox::sandbox
