#include "sandbox/workdir_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

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
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoError("write " + name);
      }
      off += w;
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

// own: chown to uid/gid (copy in); otherwise keep the caller's ownership (copy out).
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
      if (::mkdirat(dst_dir, name.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + p);
      }
      UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd d(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s.valid() || !d.valid()) {
        return ErrnoError("open directory " + p);
      }
      RUNBOX_TRY(CopyTree(s.get(), d.get(), p, follow_links, own, uid, gid));
      ::fchmod(d.get(), mode | 0700);
      if (own && ::fchown(d.get(), uid, gid) != 0) {
        return ErrnoError("chown " + p);
      }
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!s.valid()) {
        return ErrnoError("open " + p);
      }
      UniqueFd d(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                          mode | 0600));
      if (!d.valid()) {
        return ErrnoError("create " + p);
      }
      RUNBOX_TRY(CopyFileData(s.get(), d.get(), p));
      ::fchmod(d.get(), mode | 0600);
      if (own && ::fchown(d.get(), uid, gid) != 0) {
        return ErrnoError("chown " + p);
      }
    } else if (S_ISLNK(st.st_mode) && follow_links) {
      char target[4096];
      ssize_t n = ::readlinkat(src_dir, name.c_str(), target, sizeof target - 1);
      if (n < 0) {
        return ErrnoError("readlink " + p);
      }
      target[n] = '\0';
      if (::symlinkat(target, dst_dir, name.c_str()) != 0 && errno != EEXIST) {
        return ErrnoError("symlink " + p);
      }
      if (own) {
        ::fchownat(dst_dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
      }
    }
    // Devices, fifos, sockets, and symlinks out of a box: skipped on purpose.
  }
  return OkStatus();
}

Status Copy(const std::string& from, const std::string& to, bool links, bool own, uint32_t uid,
            uint32_t gid) {
  UniqueFd s(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s.valid()) {
    return ErrnoError("open directory " + from);
  }
  UniqueFd d(::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid()) {
    return ErrnoError("open directory " + to);
  }
  return CopyTree(s.get(), d.get(), from, links, own, uid, gid);
}

}  // namespace

Status CopyIn(const std::string& from, const std::string& to, uint32_t uid, uint32_t gid) {
  return Copy(from, to, true, true, uid, gid);
}

Status CopyOut(const std::string& from, const std::string& to) {
  return Copy(from, to, false, false, 0, 0);
}

}  // namespace runbox::sandbox
