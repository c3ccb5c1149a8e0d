#pragma once
// BoxPool: boxes built ahead of the runs that will use them, and torn down after them, on a
// thread of the pool's own. A run that finds a prepared box of its shape (sandbox::Policy::
// SameBox) skips the box's set-up (slot, cgroups, namespaces, mounts: ~4 ms here), and handing
// the used box back moves its teardown (~1 ms) off the run's path too. Every box still runs one
// program only: the pool never reuses a box, it builds the next one while the machine would
// otherwise wait for the next request.
//
// The shapes wanted are learnt from demand: each Take asks for one more box of its shape, so
// a server that runs Python all day keeps Python boxes ready, and a shape nobody asks for again
// is evicted (oldest first) once `capacity` boxes wait.
//
// Thread-safety: all members may be called from any thread. The boxes die with the pool's
// thread (sandbox::Box), which lives as long as the pool.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sandbox/sandbox.h"

namespace runbox::engine {

struct BoxPoolStats {
  uint64_t hits = 0;      // runs that found a prepared box
  uint64_t misses = 0;    // runs that built their own
  uint64_t failures = 0;  // preparations that failed (the run then builds its own, and fails
                          // with the real error if the host is broken)
  size_t ready = 0;       // boxes prepared and waiting now
};

class BoxPool {
 public:
  // capacity 0: the pool is off (Take finds nothing, Retire closes the box at once) and no
  // thread is started: a one-shot `runbox run` has no later request to prepare for.
  BoxPool(sandbox::HostConfig host, size_t capacity);
  ~BoxPool();  // closes every box and stops the thread
  BoxPool(const BoxPool&) = delete;
  BoxPool& operator=(const BoxPool&) = delete;

  // A prepared box for policy (its stdin a pipe), or nothing; either way one more box of this
  // shape is prepared in the background.
  std::optional<sandbox::Box> Take(const sandbox::Policy& policy);
  // A used (or unused) box to tear down in the background.
  void Retire(sandbox::Box box);
  BoxPoolStats stats() const;
  size_t capacity() const { return capacity_; }

 private:
  void Loop();

  const sandbox::HostConfig host_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<sandbox::Box> ready_;          // oldest first
  std::deque<sandbox::Policy> wanted_;      // shapes to prepare, oldest first
  std::optional<sandbox::Policy> preparing_;  // the shape being prepared now
  std::vector<sandbox::Box> retired_;       // to close
  BoxPoolStats stats_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runbox::engine
