#pragma once
// Metrics: counters and histograms for GET /metrics, in the Prometheus text format (0.0.4).
//
// Thread-safety: every method may be called from any thread.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace runbox::server {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10,  30};
  void Observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name` with the given label set ("" or
  // `a="b"`).
  void Render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::array<uint64_t, kBounds.size()> buckets_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

struct QueueGauges {
  size_t waiting = 0;
  size_t running = 0;
  size_t capacity = 0;
  int slots = 0;
  int busy_slots = 0;
  size_t interactive = 0;
  size_t prepared_boxes = 0;        // built and waiting for a job
  uint64_t prepared_box_hits = 0;   // runs that found one
  uint64_t prepared_box_misses = 0; // runs that built their own box
};

class Metrics {
 public:
  // One HTTP request answered.
  void RecordRequest(const std::string& api, int status, double seconds);
  // One job finished with its overall status (OK, CE, TLE, ..., SE); times in seconds.
  void RecordRun(const std::string& status, double queue_wait_seconds, double run_seconds);
  // A request or connection refused; `reason` is one of those runbox_rejected_total's HELP
  // lists (request_timeout, payload_too_large, queue_full, ...). A new reason goes there too.
  void RecordRejected(const std::string& reason);

  std::string Render(const QueueGauges& gauges) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (api, status) -> count
  std::map<std::string, uint64_t> runs_;                      // status -> count
  std::map<std::string, uint64_t> rejected_;                  // reason -> count
  Histogram request_latency_;
  Histogram run_latency_;
  Histogram queue_wait_;
};

}  // namespace runbox::server
