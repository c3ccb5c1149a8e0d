#pragma once
// Policy: plain data that says how one command runs in a box. Every field has a safe default, so
// a default-constructed Policy is a fully isolated box; every weakening is a named field that a
// search finds (network, extra binds, writable binds).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::sandbox {

using std::chrono::milliseconds;

struct Limits {
  // CPU time of the whole process tree, from cgroup accounting. Judge0's default is 5 s.
  milliseconds cpu_time{5000};
  // Wall-clock time from start to end; a sleeping or blocked program is ended by this.
  milliseconds wall_time{10000};
  // Memory of the whole tree (cgroup), swap counted and off. 256 MiB fits every interpreter's
  // hello world; language catalogs raise it for JVMs and compilers (kotlinc peaks ~351 MiB).
  uint64_t memory_bytes = 256ull << 20;
  // Processes and threads of the tree (cgroup pids, plus RLIMIT_NPROC). JVMs, go build and
  // Erlang need 20-30 on two cores, so 64 leaves headroom while a fork bomb stops at once.
  uint32_t pids = 64;
  // stdout + stderr bytes captured by the supervisor; past this the run ends as OLE.
  uint64_t output_bytes = 16ull << 20;
  // Largest file the program may write (RLIMIT_FSIZE); past it SIGXFSZ, reported as OLE.
  uint64_t file_size_bytes = 64ull << 20;
  // Size of the writable workdir (/box) and of /tmp, each a tmpfs of this size.
  uint64_t disk_bytes = 64ull << 20;
  // RLIMIT_NOFILE. The JVM opens ~100 files; 256 is ample.
  uint32_t open_files = 256;
  // RLIMIT_STACK. Deep recursion is common in judged programs; glibc's default is 8 MiB.
  uint64_t stack_bytes = 64ull << 20;

  friend bool operator==(const Limits&, const Limits&) = default;
};

enum class Network {
  kNone,      // an empty network namespace: not even loopback is up
  kLoopback,  // a private network namespace with only lo up
};

struct Bind {
  std::string source;     // host path (file or directory)
  std::string target;     // path inside the box
  bool writable = false;  // DANGER: a writable host path; runbox audit warns about it
  bool optional = false;  // skip silently when the source does not exist (default system binds)

  friend bool operator==(const Bind&, const Bind&) = default;
};

struct Policy {
  Limits limits;
  Network network = Network::kNone;

  // Host paths bound read-only (nosuid, nodev) into the box. Empty means DefaultSystemBinds().
  std::vector<Bind> binds;
  // Extra tmpfs mounts (path inside the box), each capped at limits.disk_bytes.
  std::vector<std::string> tmpfs;

  // Host directory whose contents are copied into /box before the run (regular files,
  // directories and symlinks; nothing else), or empty.
  std::string copy_in;
  // Host directory that receives /box's regular files and directories after the run, or empty.
  std::string copy_out;

  // Working directory inside the box; it is a private tmpfs of limits.disk_bytes.
  std::string workdir = "/box";
  // Environment of the program. Empty means DefaultEnvironment(); nothing is inherited.
  std::vector<std::string> env;

  // Identity inside the box. uid/gid are mapped to host uid/gid uid_base + slot.
  uint32_t uid = 1000;
  uint32_t gid = 1000;
  std::string hostname = "runbox";

  // Checks every field: sizes, times, paths (absolute, no ".."), bind sources that exist.
  Status Validate() const;
  // True when both policies build the same box: every field but copy_in and copy_out (which
  // the supervisor applies per run) is equal. A prepared Box fits the policies it equals.
  bool SameBox(const Policy& other) const;
};

// The read-only system directories that runtimes need: /usr, /bin, /lib*, /etc pieces
// (ld.so.cache, alternatives, ssl certs, locale, timezone, passwd/group of the box user).
std::vector<Bind> DefaultSystemBinds();
// PATH, HOME, LANG, TMPDIR: set explicitly, nothing taken from the caller.
std::vector<std::string> DefaultEnvironment();

}  // namespace runbox::sandbox
