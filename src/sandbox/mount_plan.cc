#include "sandbox/mount_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/units.h"

namespace runbox::sandbox {
namespace {

constexpr uint64_t kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

bool Covers(const std::string& dir, const std::string& path) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

}  // namespace

const char* MountPlan::Keep(std::string s) {
  strings_.push_back(std::move(s));
  return strings_.back().c_str();
}

void MountPlan::Add(MountOp op, std::string description) {
  ops_.push_back(op);
  descriptions_.push_back(std::move(description));
}

void MountPlan::Mkdirs(const std::string& box_path, unsigned mode) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = box_path.find('/', pos + 1);
    std::string part = box_path.substr(0, pos);
    if (part.empty() || std::find(made_dirs_.begin(), made_dirs_.end(), part) != made_dirs_.end()) {
      continue;
    }
    made_dirs_.push_back(part);
    MountOp op{MountOp::Kind::kMkdir};
    op.target = Keep(root_ + part);
    op.mode = pos == std::string::npos ? mode : 0755;
    Add(op, "mkdir " + part);
  }
}

Result<MountPlan> MountPlan::Build(const Policy& policy, const std::string& new_root) {
  MountPlan p;
  p.root_ = new_root;
  const uint64_t disk = policy.limits.disk_bytes;

  MountOp root{MountOp::Kind::kTmpfs};
  root.target = p.Keep(new_root);
  root.data = p.Keep("size=1m,nr_inodes=4096,mode=0755");
  root.flags = MS_NOSUID | MS_NODEV;
  p.Add(root, "tmpfs on /");

  std::vector<Bind> binds = policy.binds.empty() ? DefaultSystemBinds() : policy.binds;
  for (const auto& b : binds) {
    struct stat st;
    if (::lstat(b.source.c_str(), &st) != 0) {
      if (b.optional) {
        continue;
      }
      return MakeError(ErrorCode::kNotFound,
                       "bind source '" + b.source + "' does not exist on the host");
    }
    std::string parent = b.target.substr(0, b.target.rfind('/'));
    if (!parent.empty()) {
      p.Mkdirs(parent);
    }
    if (S_ISLNK(st.st_mode) && b.target == b.source) {
      // Merged /usr: /bin -> usr/bin. Recreate the link instead of binding what it points to,
      // so paths stay what programs expect.
      char target[4096];
      ssize_t n = ::readlink(b.source.c_str(), target, sizeof target - 1);
      if (n < 0) {
        return ErrnoError("readlink " + b.source);
      }
      MountOp op{MountOp::Kind::kSymlink};
      op.source = p.Keep(std::string(target, static_cast<size_t>(n)));
      op.target = p.Keep(new_root + b.target);
      p.Add(op, "symlink " + b.target);
      continue;
    }
    if (::stat(b.source.c_str(), &st) != 0) {
      if (b.optional) {
        continue;  // a dangling link
      }
      return ErrnoError("bind source " + b.source);
    }
    if (S_ISDIR(st.st_mode)) {
      p.Mkdirs(b.target);
    } else {
      MountOp touch{MountOp::Kind::kTouch};
      touch.target = p.Keep(new_root + b.target);
      p.Add(touch, "create mount point " + b.target);
    }
    MountOp op{MountOp::Kind::kBind};
    op.source = p.Keep(b.source);
    op.target = p.Keep(new_root + b.target);
    op.attr_set = b.writable ? (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : kReadOnly;
    p.Add(op, std::string(b.writable ? "bind " : "read-only bind ") + b.source + " on " + b.target);
  }

  // /proc of the box's own pid namespace: runtimes read /proc/self (JVM, rustc, mono, ghc...).
  p.Mkdirs("/proc");
  MountOp proc{MountOp::Kind::kProc};
  proc.target = p.Keep(new_root + "/proc");
  proc.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  p.Add(proc, "proc on /proc");

  // A minimal /dev: device nodes cannot be created in a user namespace, so the host's harmless
  // ones are bound onto empty files, and the rest are links into /proc/self/fd.
  p.Mkdirs("/dev");
  MountOp dev{MountOp::Kind::kTmpfs};
  dev.target = p.Keep(new_root + "/dev");
  dev.data = p.Keep("size=64k,nr_inodes=64,mode=0755");
  dev.flags = MS_NOSUID | MS_NOEXEC;
  p.Add(dev, "tmpfs on /dev");
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    std::string host = std::string("/dev/") + node;
    MountOp touch{MountOp::Kind::kTouch};
    touch.target = p.Keep(new_root + host);
    p.Add(touch, "create " + host);
    MountOp op{MountOp::Kind::kBind};
    op.source = p.Keep(host);
    op.target = p.Keep(new_root + host);
    op.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    p.Add(op, "bind " + host);
  }
  for (auto [link, target] : {std::pair{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                              {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}) {
    MountOp op{MountOp::Kind::kSymlink};
    op.source = target;
    op.target = p.Keep(new_root + "/dev/" + link);
    p.Add(op, std::string("symlink /dev/") + link);
  }
  MountOp shm_dir{MountOp::Kind::kMkdir};
  shm_dir.target = p.Keep(new_root + "/dev/shm");
  shm_dir.mode = 01777;
  p.Add(shm_dir, "mkdir /dev/shm");
  MountOp shm{MountOp::Kind::kTmpfs};
  shm.target = shm_dir.target;
  shm.data = p.Keep("size=" + std::to_string(disk) + ",nr_inodes=1024,mode=1777");
  shm.flags = MS_NOSUID | MS_NODEV;
  p.Add(shm, "tmpfs on /dev/shm");
  MountOp dev_ro{MountOp::Kind::kSetattr};
  dev_ro.target = dev.target;
  dev_ro.attr_set = MOUNT_ATTR_RDONLY;
  p.Add(dev_ro, "make /dev read-only");

  // The workdir: a tmpfs of the box's own, owned by the box user. It lives only in the box's mount
  // namespace (a host-side mount would cost an RCU grace period to unmount on every run); the
  // parent fills it and empties it through /proc/<pid>/root while the box's init is parked.
  p.Mkdirs(policy.workdir);
  MountOp work{MountOp::Kind::kTmpfs};
  work.target = p.Keep(new_root + policy.workdir);
  work.data = p.Keep("size=" + std::to_string(disk) + ",nr_inodes=65536,mode=0755,uid=" +
                     std::to_string(policy.uid) + ",gid=" + std::to_string(policy.gid));
  work.flags = MS_NOSUID | MS_NODEV;
  p.Add(work, "tmpfs of " + FormatSize(disk) + " on the workdir " + policy.workdir);

  std::vector<std::string> tmpfs = policy.tmpfs;
  if (std::find(tmpfs.begin(), tmpfs.end(), "/tmp") == tmpfs.end()) {
    tmpfs.insert(tmpfs.begin(), "/tmp");
  }
  for (const auto& t : tmpfs) {
    p.Mkdirs(t, 01777);
    MountOp op{MountOp::Kind::kTmpfs};
    op.target = p.Keep(new_root + t);
    op.data = p.Keep("size=" + std::to_string(disk) + ",nr_inodes=65536,mode=1777");
    op.flags = MS_NOSUID | MS_NODEV;
    p.Add(op, "tmpfs of " + FormatSize(disk) + " on " + t);
  }

  // Generated identity files, unless the policy binds something over them.
  const std::string& host = policy.hostname;
  std::string uid = std::to_string(policy.uid);
  std::string gid = std::to_string(policy.gid);
  const std::pair<const char*, std::string> files[] = {
      {"/etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\nrunner:x:" + uid + ":" + gid +
                          ":runbox:" + policy.workdir + ":/bin/sh\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
      {"/etc/group", "root:x:0:\nrunner:x:" + gid + ":\nnogroup:x:65534:\n"},
      {"/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t" + host + "\n::1\tlocalhost\n"},
      {"/etc/hostname", host + "\n"},
  };
  for (const auto& [path, content] : files) {
    bool covered = false;
    for (const auto& b : binds) {
      covered = covered || Covers(b.target, path);
    }
    if (covered) {
      continue;
    }
    p.Mkdirs("/etc");
    MountOp op{MountOp::Kind::kWriteFile};
    op.target = p.Keep(new_root + path);
    op.data = p.Keep(content);
    op.len = content.size();
    op.mode = 0644;
    p.Add(op, std::string("write ") + path);
  }
  return p;
}

}  // namespace runbox::sandbox
