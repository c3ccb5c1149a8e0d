#pragma once
// RateLimiter: one token bucket per client (API key name, or IP for anonymous callers). A bucket
// holds at most `burst` tokens and refills at `rate` tokens per second; each request takes one.
//
// Thread-safety: Take() may be called from any thread.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace runbox::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = true;
    double retry_after_seconds = 0;  // when not allowed: until one token is back
  };

  // rate <= 0 means unlimited. burst <= 0 means max(1, rate).
  Decision Take(const std::string& client, double rate, double burst,
                Clock::time_point now = Clock::now());

  size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  // Forgets buckets that have refilled completely: they hold no information.
  void Evict(Clock::time_point now);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  // Refill horizon of the slowest bucket seen, for eviction.
  double max_refill_seconds_ = 0;
  Clock::time_point last_evict_;
};

}  // namespace runbox::server
