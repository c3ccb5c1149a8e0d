#include "server/timer_queue.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace runbox::server {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    timers_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t TimerQueue::After(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  timers_.emplace(Clock::now() + delay, std::make_pair(id, std::move(fn)));
  cv_.notify_all();
  return id;
}

bool TimerQueue::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

void TimerQueue::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    if (first->first > Clock::now()) {
      // A copy: wait_until reads the deadline again after it wakes, when Cancel() may have
      // erased the node that held it (heap-use-after-free found by tests/fuzz/fuzz_router).
      const Clock::time_point deadline = first->first;
      cv_.wait_until(lock, deadline);
      continue;
    }
    std::function<void()> fn = std::move(first->second.second);
    timers_.erase(first);
    lock.unlock();
    // The exception boundary of every timer callback (STYLE.md §3): a throw leaving this thread
    // would be std::terminate, the whole server and every job in flight with it.
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("timer callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("timer callback threw a non-exception");
    }
    lock.lock();
  }
}

}  // namespace runbox::server
