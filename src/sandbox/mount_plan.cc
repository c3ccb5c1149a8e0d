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
  MountOp root{MountOp::Kind::kTmpfs};
  root.target = p.Keep(new_root);
  root.data = p.Keep("size=1m,nr_inodes=4096,mode=0755");
  root.flags = MS_NOSUID | MS_NODEV;
  p.Add(root, "tmpfs on /");
  const std::vector<Bind> binds = policy.binds.empty() ? DefaultSystemBinds() : policy.binds;
  for (const auto& b : binds) {
    RUNBOX_TRY(p.AddBind(b));
  }
  p.AddProcAndDev(policy.limits.disk_bytes);
  p.AddWorkdirAndTmpfs(policy);
  p.AddIdentityFiles(policy, binds);
  return p;
}

Status MountPlan::AddBind(const Bind& b) {
  struct stat st;
  if (::lstat(b.source.c_str(), &st) != 0) {
    if (b.optional) {
      return OkStatus();
    }
    return MakeError(ErrorCode::kNotFound,
                     "bind source '" + b.source + "' does not exist on the host");
  }
  std::string parent = b.target.substr(0, b.target.rfind('/'));
  if (!parent.empty()) {
    Mkdirs(parent);
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
    op.source = Keep(std::string(target, static_cast<size_t>(n)));
    op.target = Keep(root_ + b.target);
    Add(op, "symlink " + b.target);
    return OkStatus();
  }
  if (::stat(b.source.c_str(), &st) != 0) {
    if (b.optional) {
      return OkStatus();  // a dangling link
    }
    return ErrnoError("bind source " + b.source);
  }
  if (S_ISDIR(st.st_mode)) {
    Mkdirs(b.target);
  } else {
    MountOp touch{MountOp::Kind::kTouch};
    touch.target = Keep(root_ + b.target);
    Add(touch, "create mount point " + b.target);
  }
  MountOp op{MountOp::Kind::kBind};
  op.source = Keep(b.source);
  op.target = Keep(root_ + b.target);
  op.attr_set = b.writable ? (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : kReadOnly;
  Add(op, std::string(b.writable ? "bind " : "read-only bind ") + b.source + " on " + b.target);
  return OkStatus();
}

void MountPlan::AddProcAndDev(uint64_t disk) {
  // /proc of the box's own pid namespace: runtimes read /proc/self (JVM, rustc, mono, ghc...).
  Mkdirs("/proc");
  MountOp proc{MountOp::Kind::kProc};
  proc.target = Keep(root_ + "/proc");
  proc.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  Add(proc, "proc on /proc");

  // A minimal /dev: device nodes cannot be created in a user namespace, so the host's harmless
  // ones are bound onto empty files, and the rest are links into /proc/self/fd.
  Mkdirs("/dev");
  MountOp dev{MountOp::Kind::kTmpfs};
  dev.target = Keep(root_ + "/dev");
  dev.data = Keep("size=64k,nr_inodes=64,mode=0755");
  dev.flags = MS_NOSUID | MS_NOEXEC;
  Add(dev, "tmpfs on /dev");
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    std::string host = std::string("/dev/") + node;
    MountOp touch{MountOp::Kind::kTouch};
    touch.target = Keep(root_ + host);
    Add(touch, "create " + host);
    MountOp op{MountOp::Kind::kBind};
    op.source = Keep(host);
    op.target = Keep(root_ + host);
    op.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    Add(op, "bind " + host);
  }
  for (auto [link, target] : {std::pair{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                              {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}) {
    MountOp op{MountOp::Kind::kSymlink};
    op.source = target;
    op.target = Keep(root_ + "/dev/" + link);
    Add(op, std::string("symlink /dev/") + link);
  }
  MountOp shm_dir{MountOp::Kind::kMkdir};
  shm_dir.target = Keep(root_ + "/dev/shm");
  shm_dir.mode = 01777;
  Add(shm_dir, "mkdir /dev/shm");
  MountOp shm{MountOp::Kind::kTmpfs};
  shm.target = shm_dir.target;
  shm.data = Keep("size=" + std::to_string(disk) + ",nr_inodes=1024,mode=1777");
  shm.flags = MS_NOSUID | MS_NODEV;
  Add(shm, "tmpfs on /dev/shm");
  MountOp dev_ro{MountOp::Kind::kSetattr};
  dev_ro.target = dev.target;
  dev_ro.attr_set = MOUNT_ATTR_RDONLY;
  Add(dev_ro, "make /dev read-only");
}

void MountPlan::AddWorkdirAndTmpfs(const Policy& policy) {
  const uint64_t disk = policy.limits.disk_bytes;
  // The workdir: a tmpfs of the box's own, owned by the box user. It lives only in the box's mount
  // namespace (a host-side mount would cost an RCU grace period to unmount on every run); the
  // parent fills it and empties it through /proc/<pid>/root while the box's init is parked.
  Mkdirs(policy.workdir);
  MountOp work{MountOp::Kind::kTmpfs};
  work.target = Keep(root_ + policy.workdir);
  work.data = Keep("size=" + std::to_string(disk) + ",nr_inodes=65536,mode=0755,uid=" +
                   std::to_string(policy.uid) + ",gid=" + std::to_string(policy.gid));
  work.flags = MS_NOSUID | MS_NODEV;
  Add(work, "tmpfs of " + FormatSize(disk) + " on the workdir " + policy.workdir);

  std::vector<std::string> tmpfs = policy.tmpfs;
  if (std::find(tmpfs.begin(), tmpfs.end(), "/tmp") == tmpfs.end()) {
    tmpfs.insert(tmpfs.begin(), "/tmp");
  }
  for (const auto& t : tmpfs) {
    Mkdirs(t, 01777);
    MountOp op{MountOp::Kind::kTmpfs};
    op.target = Keep(root_ + t);
    op.data = Keep("size=" + std::to_string(disk) + ",nr_inodes=65536,mode=1777");
    op.flags = MS_NOSUID | MS_NODEV;
    Add(op, "tmpfs of " + FormatSize(disk) + " on " + t);
  }
}

// Generated identity files, unless the policy binds something over them.
void MountPlan::AddIdentityFiles(const Policy& policy, const std::vector<Bind>& binds) {
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
    Mkdirs("/etc");
    MountOp op{MountOp::Kind::kWriteFile};
    op.target = Keep(root_ + path);
    op.data = Keep(content);
    op.len = content.size();
    op.mode = 0644;
    Add(op, std::string("write ") + path);
  }
}

}  // namespace runbox::sandbox
