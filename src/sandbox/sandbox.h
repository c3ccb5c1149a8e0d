#pragma once
// The sandbox's public entry point: run one command under a Policy and report its Outcome.
//
// Thread-safety: Run() may be called from several threads at once; each call takes its own slot
// (host uid, cgroup names, scratch directory) under a file lock, so concurrent runs, in this
// process or in other runbox processes, never share one.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "sandbox/outcome.h"
#include "sandbox/policy.h"

namespace runbox::sandbox {

// Where runbox keeps its per-slot state and cgroups. Defaults suit a root install. Every runbox
// on a host that shares uid_base and the cgroup parent must share state_dir too: the slot locks
// there are what keep two runs from using one uid and one cgroup name.
struct HostConfig {
  std::string state_dir = "/run/runbox";  // slot locks and scratch mounts
  // Parent cgroup, relative to each hierarchy's root ("/system.slice/runbox.service"). Empty:
  // the cgroup runbox itself runs in, read from /proc/self/cgroup.
  std::string cgroup_parent;
  uint32_t uid_base = 3000000;  // slot N runs as host uid/gid uid_base + N (unused by anyone)
  int slots = 64;               // slots 0..slots-1 exist
};

struct RunRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in the box's PATH when it has no '/'
  int stdin_fd = -1;              // copied to the program through a pipe; -1 is /dev/null
  int stdout_fd = -1;             // output is forwarded here as it arrives; -1 captures it
  int stderr_fd = -1;             //   into Outcome::stdout_data / stderr_data instead
  // Called with each chunk of output as it arrives (stream 1 or 2), in the running thread.
  std::function<void(int stream, std::string_view data)> on_output;
  int cancel_fd = -1;             // when readable, the run is ended (SE "cancelled")
  // Each byte read from it is a signal number delivered to the program (the box's pid 2, not
  // the processes it started), as a terminal's Ctrl-C would: e.g. Python raises
  // KeyboardInterrupt. SIGKILL is delivered like any other; ending the box is cancel_fd's job.
  int signal_fd = -1;
  std::optional<int> slot;        // a fixed slot; otherwise the first free one
  // Files written into the workdir after policy.copy_in, before the program starts: (relative
  // path, content), directories created as needed. Saves a host copy of sources that are in
  // memory anyway (a server's job).
  std::vector<std::pair<std::string, std::string>> files;
};

// A box built ahead of its program: slot, cgroups with their limits, namespaces, file system and
// the box's init, which waits. Run() then costs only the copy-in, the program and the verdict,
// and Close() (the teardown) can come after the caller has used the Outcome: a server keeps
// prepared boxes so that neither set-up nor teardown is on a request's path. Every box runs one
// program and is never reused. Not thread-safe; move it between threads freely, but the box
// dies with the thread that prepared it (its init has PR_SET_PDEATHSIG, which follows the
// creating thread), so prepare boxes on a thread that outlives them.
struct BoxOptions {
  std::optional<int> slot;  // a fixed slot; otherwise the first free one
  bool stdin_pipe = false;  // Run's request may carry stdin_fd; otherwise stdin is /dev/null
  // The box's init builds the file system and waits at this nice value (0..19): a box prepared
  // in the background yields the CPU to running programs. Run() resets it to 0 before the
  // program starts, so the program never inherits it.
  int nice = 0;
};

class Box {
 public:
  static Result<Box> Prepare(const Policy& policy, const HostConfig& host = HostConfig{},
                             const BoxOptions& options = BoxOptions{});
  Box(Box&&) noexcept;
  Box& operator=(Box&&) noexcept;
  ~Box();  // Close(), its error dropped

  // True when a run under `policy` may use this box (Policy::SameBox) and it has not run yet.
  bool Fits(const Policy& policy) const;
  // Runs request.argv once (request.slot is ignored: the box has its slot). policy must fit;
  // its copy_in and copy_out are applied. Fails like sandbox::Run.
  Result<Outcome> Run(const Policy& policy, const RunRequest& request);
  // Ends the init (and with it the namespaces and mounts), then removes the cgroups and frees
  // the slot. Idempotent.
  Status Close();

  struct State;

 private:
  explicit Box(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Runs argv under policy. Fails (an Error, exit 125 in the CLI) only when runbox could not set
// the box up or supervise it; the program's own fate is in the Outcome.
// Prepare, Run and Close in one.
Result<Outcome> Run(const Policy& policy, const RunRequest& request,
                    const HostConfig& host = HostConfig{});

}  // namespace runbox::sandbox
