#pragma once
// Slots: the counting semaphore of the engine's box slots (EngineConfig::slots): a job holds one
// from its compile to its last test, so at most `slots` boxes run at once.

#include <condition_variable>
#include <mutex>

namespace runbox::engine {

class Slots {
 public:
  explicit Slots(int n) : total_(n) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return busy_ < total_; });
    ++busy_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    cv_.notify_one();
  }
  int total() const { return total_; }
  int busy() const {
    std::lock_guard lock(mu_);
    return busy_;
  }

 private:
  const int total_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int busy_ = 0;
};

class SlotGuard {
 public:
  explicit SlotGuard(Slots& s) : s_(s) { s_.Acquire(); }
  ~SlotGuard() { s_.Release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  Slots& s_;
};

}  // namespace runbox::engine
