#pragma once
// Interactive runs over WebSocket: the native GET /api/v1/ws/run and Piston's /api/v2/connect.
//
// InteractiveRun owns what one run needs besides the socket: the stdin pipe the engine reads
// (RunHooks::stdin_fd) with a writer thread that never blocks the caller, the cancel pipe
// (RunHooks::cancel_fd), and the idle watchdog. The WebSocket handlers translate protocol
// messages to it; they are unit-tested with a fake WsConnection.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/unique_fd.h"
#include "server/api.h"
#include "server/ws.h"

namespace runbox::server {

class InteractiveRun : public std::enable_shared_from_this<InteractiveRun> {
 public:
  enum class Ending { kNormal, kKilled, kIdle, kClientGone };

  struct Callbacks {
    std::function<void()> on_started;  // the program is about to run (after a compile)
    std::function<void(int stream, std::string_view data)> on_output;
    // Exactly once. started=false: the server shut down before the run began.
    std::function<void(Result<engine::JobResult> result, bool started, Ending ending)> on_done;
  };

  static std::shared_ptr<InteractiveRun> Create();
  ~InteractiveRun();

  // Queues the run. kResourceExhausted when the queue is full.
  Status Start(JobService& jobs, engine::Job job, bool compiled, Callbacks callbacks,
               TimerQueue* timers, std::chrono::milliseconds idle_limit);
  // Never blocks: data is queued for the writer thread. False (and nothing queued) when the
  // bytes still waiting for the program would exceed the stdin buffer cap: a program that never
  // reads its stdin must not make the server hold every message a client sends (1,024 messages
  // of 1 MiB once took the server from 7 MiB to 1 GiB). The caller tells the client and ends the
  // session.
  bool WriteStdin(std::string data);
  // The cap of WriteStdin (default kDefaultStdinBufferBytes); set before Start().
  void set_max_buffered_stdin(uint64_t bytes) { max_buffered_ = bytes; }
  static constexpr uint64_t kDefaultStdinBufferBytes = 1ull << 20;
  void CloseStdin();
  // Ends the run (the engine reports SE "cancelled"; on_done gets `why`).
  void Kill(Ending why);
  // Delivers sig to the running program (which may handle it, as with a terminal's Ctrl-C);
  // SIGKILL ends the run like Kill(kKilled). Before the program starts it is dropped.
  void Signal(int sig);

 private:
  InteractiveRun() = default;
  Status OpenPipes();
  void WriterLoop();
  // Drops whatever stdin is still queued and frees its memory (under mu_).
  void DropPendingLocked();
  void Touch() { last_activity_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
  void ArmIdleTimer(std::chrono::milliseconds delay);

  UniqueFd stdin_read_;
  UniqueFd stdin_write_;
  UniqueFd cancel_read_;
  UniqueFd cancel_write_;
  UniqueFd signal_read_;
  UniqueFd signal_write_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pending_;
  uint64_t buffered_ = 0;  // bytes in pending_ plus the chunk being written
  uint64_t max_buffered_ = kDefaultStdinBufferBytes;
  bool close_stdin_ = false;
  bool abort_writer_ = false;
  std::thread writer_;
  std::atomic<int> ending_{static_cast<int>(Ending::kNormal)};
  std::atomic<bool> done_{false};
  std::atomic<int64_t> last_activity_{0};
  TimerQueue* timers_ = nullptr;
  std::chrono::milliseconds idle_limit_{0};
  uint64_t idle_timer_ = 0;
};

// Factories for the router.
std::shared_ptr<WsHandler> MakeNativeRunHandler(ApiContext& ctx);
std::shared_ptr<WsHandler> MakePistonConnectHandler(ApiContext& ctx);
void RegisterInteractiveApis(Router& router, ApiContext& ctx);

}  // namespace runbox::server
