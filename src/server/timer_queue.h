#pragma once
// TimerQueue: one thread that runs callbacks after a delay (interactive-run idle limits, Piston's
// one-second init timeout, paiza long polls). Cancel() after the callback started is a no-op.
// A callback that throws is logged and the queue goes on.
//
// Thread-safety: every method may be called from any thread, also from inside a callback.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace runbox::server {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;

  TimerQueue();
  ~TimerQueue();  // drops pending timers, joins the thread
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs fn on the timer thread after `delay`. Returns an id for Cancel().
  uint64_t After(std::chrono::milliseconds delay, std::function<void()> fn);
  // Returns true when the timer was pending and will not run.
  bool Cancel(uint64_t id);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::pair<uint64_t, std::function<void()>>> timers_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runbox::server
