#include "server/rate_limiter.h"

#include <algorithm>

namespace runbox::server {

RateLimiter::Decision RateLimiter::Take(const std::string& client, double rate, double burst,
                                        Clock::time_point now) {
  if (rate <= 0) {
    return {};
  }
  if (burst <= 0) {
    burst = std::max(1.0, rate);
  }
  std::lock_guard<std::mutex> lock(mu_);
  max_refill_seconds_ = std::max(max_refill_seconds_, burst / rate);
  if (buckets_.size() > 10000) {
    Evict(now);
  }
  auto [it, inserted] = buckets_.try_emplace(client);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst;
    b.last = now;
  } else {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    if (elapsed > 0) {
      b.tokens = std::min(burst, b.tokens + elapsed * rate);
      b.last = now;
    }
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  return {false, (1.0 - b.tokens) / rate};
}

void RateLimiter::Evict(Clock::time_point now) {
  auto horizon = std::chrono::duration<double>(max_refill_seconds_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.last > horizon) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  last_evict_ = now;
}

size_t RateLimiter::tracked_clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace runbox::server
