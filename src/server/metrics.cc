#include "server/metrics.h"

#include <cstdio>

namespace runbox::server {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string WithLabels(const std::string& labels, const std::string& extra) {
  if (labels.empty()) {
    return "{" + extra + "}";
  }
  return "{" + labels + "," + extra + "}";
}

}  // namespace

void Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets_[i];
    }
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::Render(const std::string& name, const std::string& labels,
                       std::string* out) const {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    *out += name + "_bucket" + WithLabels(labels, "le=\"" + Num(kBounds[i]) + "\"") + " " +
            std::to_string(buckets_[i]) + "\n";
  }
  *out += name + "_bucket" + WithLabels(labels, "le=\"+Inf\"") + " " + std::to_string(count_) +
          "\n";
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  *out += name + "_sum" + l + " " + Num(sum_) + "\n";
  *out += name + "_count" + l + " " + std::to_string(count_) + "\n";
}

void Metrics::RecordRequest(const std::string& api, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{api, status}];
  request_latency_.Observe(seconds);
}

void Metrics::RecordRun(const std::string& status, double queue_wait_seconds,
                        double run_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++runs_[status];
  run_latency_.Observe(run_seconds);
  queue_wait_.Observe(queue_wait_seconds);
}

void Metrics::RecordRejected(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rejected_[reason];
}

std::string Metrics::Render(const QueueGauges& g) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto gauge = [&out](const char* name, const char* help, int64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " gauge\n";
    out += std::string(name) + " " + std::to_string(value) + "\n";
  };
  gauge("runbox_queue_depth", "Jobs waiting in the queue.", g.waiting);
  gauge("runbox_queue_capacity", "Jobs that may wait before submissions get 503.", g.capacity);
  gauge("runbox_jobs_running", "Jobs being run by the engine now.", g.running);
  gauge("runbox_slots", "Box slots of the engine.", g.slots);
  gauge("runbox_slots_busy", "Box slots running a box now.", g.busy_slots);
  gauge("runbox_interactive_sessions", "Open interactive (WebSocket) runs.", g.interactive);
  gauge("runbox_prepared_boxes", "Boxes built ahead of jobs, waiting for one.",
        static_cast<int64_t>(g.prepared_boxes));
  out += "# HELP runbox_box_starts_total Boxes started, by whether a prepared one was used.\n";
  out += "# TYPE runbox_box_starts_total counter\n";
  out += "runbox_box_starts_total{prepared=\"yes\"} " + std::to_string(g.prepared_box_hits) + "\n";
  out += "runbox_box_starts_total{prepared=\"no\"} " + std::to_string(g.prepared_box_misses) + "\n";

  out += "# HELP runbox_runs_total Finished jobs by overall status.\n";
  out += "# TYPE runbox_runs_total counter\n";
  for (const auto& [status, n] : runs_) {
    out += "runbox_runs_total{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP runbox_rejected_total Requests and connections refused, by reason: "
         "request_timeout (408), payload_too_large (413), unsupported_media_type (415), "
         "misdirected_request (421), bad_request (malformed Host), rate_limited (429), "
         "unauthorized (401, 403), cross_site (403), queue_full (503), too_many_connections "
         "(503, connection caps), storage_full (507, and results that could not be stored), "
         "ws_stdin_overflow (WebSocket stdin over ws_stdin_buffer), ws_send_overflow "
         "(WebSocket client not reading its output).\n";
  out += "# TYPE runbox_rejected_total counter\n";
  for (const auto& [reason, n] : rejected_) {
    out += "runbox_rejected_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP runbox_http_requests_total HTTP requests by API and status code.\n";
  out += "# TYPE runbox_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "runbox_http_requests_total{api=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP runbox_run_duration_seconds Time from a job's start to its end.\n";
  out += "# TYPE runbox_run_duration_seconds histogram\n";
  run_latency_.Render("runbox_run_duration_seconds", "", &out);
  out += "# HELP runbox_queue_wait_seconds Time a job waited in the queue.\n";
  out += "# TYPE runbox_queue_wait_seconds histogram\n";
  queue_wait_.Render("runbox_queue_wait_seconds", "", &out);
  out += "# HELP runbox_http_request_duration_seconds Time to answer an HTTP request.\n";
  out += "# TYPE runbox_http_request_duration_seconds histogram\n";
  request_latency_.Render("runbox_http_request_duration_seconds", "", &out);
  return out;
}

}  // namespace runbox::server
