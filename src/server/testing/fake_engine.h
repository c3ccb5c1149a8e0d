#pragma once
// FakeEngine: an Engine for unit tests of the queue and the server's handlers. It never starts a
// sandbox (integration tests in tests/server use the real engine). Languages:
//   "echo"  (aliases "cat")   interpreted: stdout = stdin; args appended to stdout, one per line
//   "cc"                      compiled: compile is OK unless a file contains "syntax error" (CE)
//   "slow"                    waits on Gate() before finishing (tests queue depth and shutdown)
//   "boom"                    Run returns an Error (kInternal)
// A file content "exit N" makes the run exit with code N (RE); "segv" makes it SG; "tle" TLE;
// "mle" MLE; "ole" OLE. With hooks.stdin_fd set it echoes stdin as it arrives through on_output
// until EOF or cancel_fd becomes readable (then SE "cancelled"), or for the content "flood"
// prints 64 KiB chunks without reading stdin until cancelled (at most 256 MiB); each signal number arriving on
// hooks.signal_fd is reported on stderr as "signal N\n", as a program handling it would.

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "engine/engine.h"

namespace runbox::engine::testing {

class FakeEngine : public Engine {
 public:
  explicit FakeEngine(int slots = 2) : slots_(slots) {}

  Result<JobResult> Run(const Job& job, const RunHooks& hooks) override {
    ++runs_;
    busy_++;
    struct Dec {
      std::atomic<int>& n;
      ~Dec() { n--; }
    } dec{busy_};
    std::string lang = job.language;
    if (lang == "cat") {
      lang = "echo";
    }
    if (lang == "boom") {
      return MakeError(ErrorCode::kInternal, "boom: engine failure");
    }
    if (lang != "echo" && lang != "cc" && lang != "slow") {
      return MakeError(ErrorCode::kNotFound, "language: unknown language '" + job.language + "'");
    }
    if (lang == "slow") {
      std::unique_lock<std::mutex> lock(mu_);
      ++slow_waiting_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return gate_open_; });
      --slow_waiting_;
    }
    JobResult r;
    r.language = lang;
    r.version = lang == "cc" ? "fakecc 1.2.3" : "echo 1.0";
    std::string code = job.files.empty() ? "" : job.files[0].content;
    if (lang == "cc") {
      sandbox::Outcome c;
      c.status = sandbox::RunStatus::kOk;
      c.exit_code = 0;
      c.message = "exited with code 0";
      if (code.find("syntax error") != std::string::npos) {
        c.status = sandbox::RunStatus::kRuntimeError;
        c.exit_code = 1;
        c.stderr_data = "main.c:1: syntax error\n";
        c.message = "exited with code 1";
        r.compile = c;
        r.compile_error = true;
        return r;
      }
      r.compile = c;
    }
    if (hooks.on_compiled) {
      hooks.on_compiled();
    }
    for (const auto& t : job.tests) {
      CaseResult cr;
      sandbox::Outcome& o = cr.run;
      o.status = sandbox::RunStatus::kOk;
      o.exit_code = 0;
      o.cpu_time_ms = 3;
      o.wall_time_ms = 5;
      o.memory_kib = 1024;
      o.message = "exited with code 0";
      if (hooks.stdin_fd >= 0) {
        if (!(code == "flood" ? Flood(hooks, &o) : Interactive(hooks, &o))) {
          r.cases.push_back(cr);
          return r;
        }
      } else {
        o.stdout_data = t.stdin_data;
        for (const auto& a : job.args) {
          o.stdout_data += a + "\n";
        }
      }
      if (code.rfind("exit ", 0) == 0) {
        o.status = sandbox::RunStatus::kRuntimeError;
        o.exit_code = std::stoi(code.substr(5));
        o.message = "exited with code " + std::to_string(o.exit_code);
      } else if (code == "segv") {
        o.status = sandbox::RunStatus::kSignaled;
        o.exit_code = -1;
        o.signal = 11;
        o.message = "killed by signal 11 (SIGSEGV)";
      } else if (code == "tle") {
        o.status = sandbox::RunStatus::kTimeLimit;
        o.exit_code = -1;
        o.signal = 9;
        o.cpu_time_ms = 2000;
        o.message = "CPU time limit of 2 s exceeded";
      } else if (code == "mle") {
        o.status = sandbox::RunStatus::kMemoryLimit;
        o.exit_code = -1;
        o.signal = 9;
        o.message = "memory limit of 256 MiB exceeded";
      } else if (code == "ole") {
        o.status = sandbox::RunStatus::kOutputLimit;
        o.stdout_truncated = true;
        o.exit_code = -1;
        o.signal = 9;
        o.message = "output limit exceeded";
      }
      if (t.expected_output) {
        if (o.status == sandbox::RunStatus::kOk) {
          cr.verdict = o.stdout_data == *t.expected_output ? Verdict::kAccepted
                                                           : Verdict::kWrongAnswer;
          if (cr.verdict == Verdict::kWrongAnswer) {
            cr.difference = "line 1: differs";
          }
        }
      }
      r.cases.push_back(cr);
    }
    return r;
  }

  std::vector<LanguageInfo> Languages() const override {
    LanguageInfo echo{"echo", "Echo", "echo 1.0", {"cat"}, {"txt"}, "main.txt", "", false, true};
    LanguageInfo cc{"cc", "Fake C", "fakecc 1.2.3", {"c"}, {"c"}, "main.c", "int main(){}",
                    true, true};
    LanguageInfo slow{"slow", "Slow", "slow 0.1", {}, {"slow"}, "main.slow", "", false, true};
    LanguageInfo gone{"gone", "Not installed", "", {}, {"x"}, "main.x", "", false, false};
    return {echo, cc, slow, gone};
  }
  int slots() const override { return slots_; }
  int busy_slots() const override { return busy_; }

  // Releases every "slow" run (now and later).
  void OpenGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  // Blocks until n "slow" runs are waiting on the gate.
  void WaitForSlow(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return slow_waiting_ >= n; });
  }
  int runs() const { return runs_; }

 private:
  // Echoes stdin to on_output until EOF; false when cancelled.
  // A program that prints as fast as it can and reads nothing: a client that never reads its
  // output must not make the server hold all of it.
  static bool Flood(const RunHooks& hooks, sandbox::Outcome* o) {
    const std::string chunk(64 << 10, 'f');
    for (int i = 0; i < 4096; ++i) {
      pollfd cancel = {hooks.cancel_fd, POLLIN, 0};
      if (hooks.cancel_fd >= 0 && ::poll(&cancel, 1, 0) > 0) {
        o->status = sandbox::RunStatus::kSystemError;
        o->exit_code = -1;
        o->message = "cancelled";
        return false;
      }
      if (hooks.on_output) {
        hooks.on_output(1, chunk);
      }
    }
    return true;
  }

  static bool Interactive(const RunHooks& hooks, sandbox::Outcome* o) {
    char buf[4096];
    for (;;) {
      // poll skips entries with a negative fd.
      pollfd fds[3] = {{hooks.stdin_fd, POLLIN, 0},
                       {hooks.cancel_fd, POLLIN, 0},
                       {hooks.signal_fd, POLLIN, 0}};
      int n = ::poll(fds, 3, 10000);
      if (n <= 0) {
        o->status = sandbox::RunStatus::kTimeLimit;
        o->message = "wall time limit exceeded";
        return false;
      }
      if (hooks.cancel_fd >= 0 && (fds[1].revents & POLLIN)) {
        o->status = sandbox::RunStatus::kSystemError;
        o->exit_code = -1;
        o->message = "cancelled";
        return false;
      }
      if (hooks.signal_fd >= 0 && (fds[2].revents & POLLIN)) {
        unsigned char sig = 0;
        if (::read(hooks.signal_fd, &sig, 1) == 1 && hooks.on_output) {
          hooks.on_output(2, "signal " + std::to_string(sig) + "\n");
        }
        continue;
      }
      if (!(fds[0].revents & (POLLIN | POLLHUP))) {
        continue;
      }
      ssize_t got = ::read(hooks.stdin_fd, buf, sizeof buf);
      if (got <= 0) {
        return true;
      }
      if (hooks.on_output) {
        hooks.on_output(1, std::string_view(buf, static_cast<size_t>(got)));
      }
    }
  }

  int slots_;
  std::atomic<int> runs_{0};
  std::atomic<int> busy_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_open_ = false;
  int slow_waiting_ = 0;
};

}  // namespace runbox::engine::testing
