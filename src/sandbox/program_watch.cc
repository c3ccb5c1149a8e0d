#include "sandbox/program_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "base/files.h"

namespace runbox::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;

constexpr size_t kNone = SIZE_MAX;

void SetNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Delivers sig to the box's program: the child of the box's init (host pid init_pid) that is
// pid 2 in the box's pid namespace. The pidfd pins the process, and it is checked again after
// the pidfd is open, so a pid reused in between is never signalled. False when the program is
// gone (nothing to do then).
bool SignalProgram(pid_t init_pid, int sig) {
  std::string init = std::to_string(init_pid);
  auto children = ReadFile("/proc/" + init + "/task/" + init + "/children");
  if (!children) {
    return false;
  }
  auto is_program = [&](const std::string& pid) {
    auto status = ReadFile("/proc/" + pid + "/status");
    if (!status) {
      return false;
    }
    // "NSpid:\t<host pid>\t2" (one field per pid namespace, innermost last); "PPid:\t<init>".
    bool nspid_2 = false, child_of_init = false;
    for (const auto& line : Split(*status, '\n')) {
      if (line.rfind("NSpid:", 0) == 0) {
        nspid_2 = line.size() >= 2 && line.compare(line.size() - 2, 2, "\t2") == 0;
      } else if (line.rfind("PPid:", 0) == 0) {
        child_of_init = Trim(line.substr(5)) == init;
      }
    }
    return nspid_2 && child_of_init;
  };
  for (const auto& pid : Split(Trim(*children), ' ')) {
    if (pid.empty() || !is_program(pid)) {
      continue;
    }
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(pid), 0)));
    if (!fd.valid() || !is_program(pid)) {
      return false;
    }
    return ::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) == 0;
  }
  return false;
}

// The descriptors of one poll(2): at most one of each kind the watch waits on.
class PollSet {
 public:
  size_t Add(int fd, short events) {
    fds_[count_] = pollfd{fd, events, 0};
    return count_++;
  }
  bool Ready(size_t i) const { return i != kNone && fds_[i].revents != 0; }
  int Poll(int timeout_ms) { return ::poll(fds_, count_, timeout_ms); }

 private:
  pollfd fds_[9];
  nfds_t count_ = 0;
};

class Watch {
 public:
  Watch(const WatchedBox& box, const RunRequest& request, const Limits& limits,
        Clock::time_point start, uint64_t cpu_baseline_ns)
      : box_(box),
        request_(request),
        limits_(limits),
        start_(start),
        cpu_baseline_ns_(cpu_baseline_ns),
        cpu_limit_ns_(static_cast<uint64_t>(limits.cpu_time.count()) * 1000000ull),
        wall_deadline_(start + limits.wall_time),
        next_cpu_check_(start),
        stdin_eof_(request.stdin_fd < 0),
        signal_open_(request.signal_fd >= 0) {}

  Result<WatchReport> Run();

 private:
  bool ProgramEnded() const { return *box_.init_gone || report_.program_status.has_value(); }
  uint64_t ElapsedMs() const {
    return static_cast<uint64_t>(
        duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count());
  }
  void Kill(KillReason why);
  int TimeoutMs() const;
  Status PollOnce();
  void PumpOutput(int fd, int stream, bool* open);
  void Deliver(int stream, std::string_view chunk);
  void ReadChildError();
  void ReadStatus();
  void ReadStdinSource();
  void FeedStdin();
  void RelaySignals();
  void Reap();
  void CheckTime();
  void ReadLateRecords();

  const WatchedBox& box_;
  const RunRequest& request_;
  const Limits& limits_;
  const Clock::time_point start_;
  const uint64_t cpu_baseline_ns_;
  const uint64_t cpu_limit_ns_;
  const Clock::time_point wall_deadline_;
  Clock::time_point next_cpu_check_;
  std::string stdin_buf_;  // read from the caller, not yet written to the box
  bool stdin_eof_;
  bool signal_open_;
  bool out_open_ = true, err_open_ = true;
  uint64_t output_total_ = 0;
  WatchReport report_;
  char buf_[65536];
};

void Watch::Kill(KillReason why) {
  if (report_.kill_reason == KillReason::kNone) {
    report_.kill_reason = why;
  }
  ::syscall(SYS_pidfd_send_signal, box_.pid_fd, SIGKILL, nullptr, 0);
}

// Wakes for the wall deadline and for CPU polling: every 10 ms, often enough that a tight loop
// overruns a CPU limit by about one poll interval per core.
int Watch::TimeoutMs() const {
  if (ProgramEnded()) {
    return 1000;
  }
  auto wake = std::min(wall_deadline_, next_cpu_check_);
  return static_cast<int>(std::max<int64_t>(
      0, duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count() + 1));
}

Result<WatchReport> Watch::Run() {
  SetNonBlocking(box_.out_read);
  SetNonBlocking(box_.errout_read);
  if (box_.in_write->valid()) {
    SetNonBlocking(box_.in_write->get());
  }
  // Until the program has ended (init reports it, or init itself is gone) and its output is
  // drained.
  while (!ProgramEnded() || out_open_ || err_open_) {
    RUNBOX_TRY(PollOnce());
  }
  ReadLateRecords();
  return std::move(report_);
}

Status Watch::PollOnce() {
  PollSet set;
  UniqueFd& in_write = *box_.in_write;
  size_t i_pid = ProgramEnded() ? kNone : set.Add(box_.pid_fd, POLLIN);
  size_t i_out = out_open_ ? set.Add(box_.out_read, POLLIN) : kNone;
  size_t i_err = err_open_ ? set.Add(box_.errout_read, POLLIN) : kNone;
  size_t i_ce = box_.err_read->valid() ? set.Add(box_.err_read->get(), POLLIN) : kNone;
  size_t i_st = box_.status_read->valid() ? set.Add(box_.status_read->get(), POLLIN) : kNone;
  size_t i_src = (!stdin_eof_ && stdin_buf_.size() < sizeof buf_ && in_write.valid())
                     ? set.Add(request_.stdin_fd, POLLIN)
                     : kNone;
  if (!stdin_buf_.empty() && in_write.valid()) {
    set.Add(in_write.get(), POLLOUT);  // a wake-up only: FeedStdin tries whenever data waits
  }
  size_t i_cancel = (request_.cancel_fd >= 0 && report_.kill_reason == KillReason::kNone)
                        ? set.Add(request_.cancel_fd, POLLIN)
                        : kNone;
  size_t i_signal =
      (signal_open_ && !report_.program_status && report_.kill_reason == KillReason::kNone)
          ? set.Add(request_.signal_fd, POLLIN)
          : kNone;
  if (set.Poll(TimeoutMs()) < 0 && errno != EINTR) {
    return ErrnoError("poll");
  }
  if (set.Ready(i_out)) {
    PumpOutput(box_.out_read, 1, &out_open_);
  }
  if (set.Ready(i_err)) {
    PumpOutput(box_.errout_read, 2, &err_open_);
  }
  if (set.Ready(i_ce)) {
    ReadChildError();
  }
  if (set.Ready(i_st)) {
    ReadStatus();
  }
  if (set.Ready(i_src)) {
    ReadStdinSource();
  }
  FeedStdin();
  if (set.Ready(i_cancel)) {
    Kill(KillReason::kCancelled);
  }
  if (set.Ready(i_signal)) {
    RelaySignals();
  }
  if (set.Ready(i_pid)) {
    Reap();
  }
  CheckTime();
  return OkStatus();
}

// Reads what the stream has, hands on what fits in the output limit, and kills the box at the
// first byte past it.
void Watch::PumpOutput(int fd, int stream, bool* open) {
  for (;;) {
    ssize_t n = ::read(fd, buf_, sizeof buf_);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN) {
        *open = false;
      }
      return;
    }
    if (n == 0) {
      *open = false;
      return;
    }
    size_t take = static_cast<size_t>(n);
    bool over = false;
    if (output_total_ + take > limits_.output_bytes) {
      take = static_cast<size_t>(limits_.output_bytes - output_total_);
      over = true;
    }
    output_total_ += take;
    if (take > 0) {
      Deliver(stream, std::string_view(buf_, take));
    }
    if (over) {
      (stream == 1 ? report_.stdout_truncated : report_.stderr_truncated) = true;
      Kill(KillReason::kOutput);
      *open = false;  // stop reading: the box is being killed
      return;
    }
  }
}

void Watch::Deliver(int stream, std::string_view chunk) {
  if (request_.on_output) {
    request_.on_output(stream, chunk);
  }
  int dest = stream == 1 ? request_.stdout_fd : request_.stderr_fd;
  if (dest >= 0) {
    WriteAll(dest, chunk.data(), chunk.size());
  } else if (!request_.on_output) {
    (stream == 1 ? report_.stdout_data : report_.stderr_data).append(chunk);
  }
}

void Watch::ReadChildError() {
  ChildError e{};
  ssize_t n = ::read(box_.err_read->get(), &e, sizeof e);
  if (n == static_cast<ssize_t>(sizeof e)) {
    report_.child_error = e;
  }
  if (n <= 0 || report_.child_error) {
    box_.err_read->reset();
  }
}

void Watch::ReadStatus() {
  int32_t status = 0;
  ssize_t n = ::read(box_.status_read->get(), &status, sizeof status);
  box_.status_read->reset();
  if (n == static_cast<ssize_t>(sizeof status)) {
    report_.program_status = status;
    report_.wall_time_ms = ElapsedMs();
  }
}

void Watch::ReadStdinSource() {
  ssize_t n = ::read(request_.stdin_fd, buf_, sizeof buf_);
  if (n > 0) {
    stdin_buf_.append(buf_, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    stdin_eof_ = true;
  }
}

// Writes what the caller sent so far; at the caller's EOF, the program's.
void Watch::FeedStdin() {
  UniqueFd& in_write = *box_.in_write;
  if (!stdin_buf_.empty() && in_write.valid()) {
    ssize_t n = ::write(in_write.get(), stdin_buf_.data(), stdin_buf_.size());
    if (n > 0) {
      stdin_buf_.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      in_write.reset();  // EPIPE: the program closed its stdin; the rest is dropped
      stdin_buf_.clear();
    }
  }
  if (stdin_eof_ && stdin_buf_.empty() && in_write.valid()) {
    in_write.reset();  // EOF for the program
  }
}

void Watch::RelaySignals() {
  unsigned char sigs[16];
  ssize_t n = ::read(request_.signal_fd, sigs, sizeof sigs);
  if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
    signal_open_ = false;  // the sender is gone; nothing more will come
  }
  for (ssize_t k = 0; k < n; ++k) {
    if (sigs[k] > 0 && sigs[k] < NSIG) {
      (void)SignalProgram(static_cast<pid_t>(box_.init_pid), sigs[k]);
    }
  }
}

void Watch::Reap() {
  siginfo_t info = {};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(box_.pid_fd), &info,
               WEXITED | WNOHANG) == 0 &&
      info.si_pid != 0) {
    *box_.init_gone = true;
    report_.init_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    report_.wall_time_ms = ElapsedMs();
    // The init is gone, so the kernel has killed the whole pid namespace: the pipes reach EOF
    // once their buffered data is read.
  }
}

void Watch::CheckTime() {
  if (ProgramEnded()) {
    return;
  }
  auto now = Clock::now();
  if (now >= wall_deadline_) {
    Kill(KillReason::kWallTime);
  }
  if (now >= next_cpu_check_) {
    auto cpu = box_.cgroup->CpuNs();
    if (cpu && *cpu - cpu_baseline_ns_ >= cpu_limit_ns_) {
      Kill(KillReason::kCpuTime);
    }
    next_cpu_check_ = now + std::chrono::milliseconds(10);
  }
}

// A late status record (written just before init exited) may still sit in the pipe.
void Watch::ReadLateRecords() {
  if (box_.status_read->valid()) {
    int32_t status = 0;
    if (::read(box_.status_read->get(), &status, sizeof status) == sizeof status) {
      report_.program_status = status;
    } else {
      report_.program_status.reset();
    }
  }
  if (box_.err_read->valid() && !report_.child_error) {
    ChildError e{};
    if (::read(box_.err_read->get(), &e, sizeof e) == static_cast<ssize_t>(sizeof e)) {
      report_.child_error = e;
    }
  }
}

}  // namespace

Result<WatchReport> WatchProgram(const WatchedBox& box, const RunRequest& request,
                                 const Limits& limits, Clock::time_point start,
                                 uint64_t cpu_baseline_ns) {
  Watch watch(box, request, limits, start, cpu_baseline_ns);
  return watch.Run();
}

}  // namespace runbox::sandbox
