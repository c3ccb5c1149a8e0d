#include "sandbox/policy.h"

#include <sys/stat.h>

#include "base/units.h"

namespace runbox::sandbox {
namespace {

Status CheckBoxPath(const std::string& what, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " '" + path + "' must be an absolute path inside the box");
  }
  if (path.find("/../") != std::string::npos || path.ends_with("/..") ||
      path.find("/./") != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " '" + path + "' must not contain '.' or '..' components");
  }
  return OkStatus();
}

// A NUL ends a string for every syscall that takes it: "/usr\0/../etc" would bind /usr, and an
// environment entry would lose its tail. Refused wherever a Policy holds text.
Status CheckNoNul(const std::string& what, const std::string& value) {
  size_t nul = value.find('\0');
  if (nul == std::string::npos) {
    return OkStatus();
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   what + " '" + value.substr(0, nul) + "\\0...' holds a NUL byte");
}

Status CheckPositive(const char* flag, uint64_t v) {
  if (v == 0) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(flag) + " must be greater than 0");
  }
  return OkStatus();
}

// No string of the policy may hold a NUL: the child passes them to the kernel as C strings.
Status CheckNoNuls(const Policy& p) {
  for (size_t i = 0; i < p.env.size(); ++i) {
    RUNBOX_TRY(CheckNoNul("environment entry " + std::to_string(i), p.env[i]));
  }
  for (const auto& b : p.binds) {
    RUNBOX_TRY(CheckNoNul("bind source", b.source));
    RUNBOX_TRY(CheckNoNul("bind target", b.target));
  }
  for (const auto& t : p.tmpfs) {
    RUNBOX_TRY(CheckNoNul("tmpfs", t));
  }
  RUNBOX_TRY(CheckNoNul("copy_in", p.copy_in));
  RUNBOX_TRY(CheckNoNul("copy_out", p.copy_out));
  RUNBOX_TRY(CheckNoNul("workdir", p.workdir));
  RUNBOX_TRY(CheckNoNul("hostname", p.hostname));
  return OkStatus();
}

Status CheckLimits(const Limits& l) {
  if (l.cpu_time.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "--cpu-time must be greater than 0");
  }
  if (l.wall_time.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "--wall-time must be greater than 0");
  }
  RUNBOX_TRY(CheckPositive("--pids", l.pids));
  RUNBOX_TRY(CheckPositive("--output", l.output_bytes));
  RUNBOX_TRY(CheckPositive("--file-size", l.file_size_bytes));
  RUNBOX_TRY(CheckPositive("--open-files", l.open_files));
  RUNBOX_TRY(CheckPositive("--stack", l.stack_bytes));
  // Below ~4 MiB not even the dynamic loader and libc fit; a tiny value is a typo, not a policy.
  if (l.memory_bytes < (4ull << 20)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--memory " + FormatSize(l.memory_bytes) + " is too small: at least 4 MiB");
  }
  if (l.disk_bytes < 4096) {
    return MakeError(ErrorCode::kInvalidArgument, "--disk must be at least 4K");
  }
  if (l.open_files < 8) {
    return MakeError(ErrorCode::kInvalidArgument, "--open-files must be at least 8");
  }
  return OkStatus();
}

Status CheckBinds(const std::vector<Bind>& binds) {
  for (const auto& b : binds) {
    RUNBOX_TRY(CheckBoxPath("bind target", b.target));
    if (b.source.empty() || b.source[0] != '/') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bind source '" + b.source + "' must be an absolute host path");
    }
    struct stat st;
    if (!b.optional && ::stat(b.source.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kNotFound,
                       "bind source '" + b.source + "' does not exist on the host");
    }
    for (const char* reserved : {"/proc", "/dev"}) {
      if (b.target == reserved) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("bind target '") + reserved + "' is provided by runbox");
      }
    }
  }
  return OkStatus();
}

}  // namespace

Status Policy::Validate() const {
  RUNBOX_TRY(CheckNoNuls(*this));
  RUNBOX_TRY(CheckLimits(limits));
  RUNBOX_TRY(CheckBoxPath("workdir", workdir));
  if (workdir == "/") {
    return MakeError(ErrorCode::kInvalidArgument, "workdir must not be '/'");
  }
  for (const auto& t : tmpfs) {
    RUNBOX_TRY(CheckBoxPath("tmpfs", t));
  }
  RUNBOX_TRY(CheckBinds(binds));
  for (const auto& e : env) {
    if (e.find('=') == std::string::npos || e[0] == '=') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "environment entry '" + e + "' must look like NAME=VALUE");
    }
  }
  if (uid == 0 || gid == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "the box user must not be root (uid/gid 0)");
  }
  if (hostname.empty() || hostname.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "hostname must be 1 to 64 characters");
  }
  for (const auto* dir : {&copy_in, &copy_out}) {
    if (!dir->empty()) {
      struct stat st;
      if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return MakeError(ErrorCode::kNotFound, "directory '" + *dir + "' does not exist");
      }
    }
  }
  return OkStatus();
}

std::vector<Bind> DefaultSystemBinds() {
  // Debian 12 is merged-/usr: /bin, /lib* are symlinks into /usr, and are recreated as symlinks
  // by the mount plan when they are links on the host. Only the /etc pieces that runtimes read
  // are bound, never /etc itself (it holds host secrets: shadow, ssh keys, machine-id).
  std::vector<Bind> b;
  for (const char* p : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    b.push_back({p, p, false, true});
  }
  // What any dynamically linked program may read: the loader's cache, alternatives symlinks,
  // TLS roots, time zone, locale aliases, NSS. A runtime's own /etc directory (java, mono,
  // php, ...) is bound by its language file (`binds`): every bind is a mount to make at the
  // start of a box and to tear down at its end, and 30 of them cost ~1.5 ms per box.
  for (const char* p : {
           "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
           "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/timezone",
           "/etc/locale.alias", "/etc/nsswitch.conf",
       }) {
    b.push_back({p, p, false, true});
  }
  return b;
}

std::vector<std::string> DefaultEnvironment() {
  return {
      "PATH=/usr/bin:/bin",  // Debian's binaries; not the host image's /usr/local
      "HOME=/box",
      "LANG=C.UTF-8",
      "LC_ALL=C.UTF-8",
      "TMPDIR=/tmp",
      "TERM=dumb",
      "USER=runner",
      "LOGNAME=runner",
  };
}

bool Policy::SameBox(const Policy& other) const {
  // The bindings name every field of Policy, so a field added to it stops this from compiling
  // until it is compared here or, like copy_in and copy_out, left to the run. A prepared box
  // handed to a policy that differs in an unnoticed field would run under the wrong rules.
  const auto& [limits_a, network_a, binds_a, tmpfs_a, copy_in_a, copy_out_a, workdir_a, env_a,
               uid_a, gid_a, hostname_a] = *this;
  const auto& [limits_b, network_b, binds_b, tmpfs_b, copy_in_b, copy_out_b, workdir_b, env_b,
               uid_b, gid_b, hostname_b] = other;
  return limits_a == limits_b && network_a == network_b && binds_a == binds_b &&
         tmpfs_a == tmpfs_b && workdir_a == workdir_b && env_a == env_b && uid_a == uid_b &&
         gid_a == gid_b && hostname_a == hostname_b;
}

}  // namespace runbox::sandbox
