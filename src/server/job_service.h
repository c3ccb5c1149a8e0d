#pragma once
// JobService: the life of a job behind every API. Submit() stores the job as queued, then pushes
// it to the queue; a worker marks it running, runs it, stores the result and tells whoever waits.
// Because a job is stored before it is queued and stays "queued" until a worker takes it, a
// shutdown or a crash never loses it: Recover() re-queues stored queued jobs at start and marks
// the ones a crash interrupted as failed with a message saying so.
//
// A job ends truthfully even when the store refuses its result (a full disk): the finished
// record is kept in memory, answered from there (run-and-wait, polls, callbacks) and written to
// the store again by FlushUnstored() until it sticks. A job never stays "running" for its
// pollers because a write failed.
//
// Thread-safety: every method may be called from any thread.

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "server/codec.h"
#include "server/metrics.h"
#include "store/store.h"

namespace runbox::server {

// The stored form of a job: the native JobRequest (files base64 when not UTF-8), which decodes
// back to the same Job, plus "x_"-prefixed keys a compatibility API keeps (x_api, x_compat).
json EncodeStoredRequest(const engine::Job& job);
// Decodes a stored request (x_ keys allowed and ignored).
bool DecodeStoredRequest(const json& j, const LimitsPolicy& policy, engine::Job* out,
                         ApiError* err);

class JobService {
 public:
  // Called once when a job is done (its final record), or with kUnavailable when the server
  // shut down before the job started (it stays stored and runs after the restart).
  using DoneCallback = std::function<void(Result<store::JobRecord>)>;
  using FinishListener = std::function<void(const store::JobRecord&)>;

  JobService(engine::Engine* engine, store::Store* store, engine::JobQueue* queue,
             Metrics* metrics, LimitsPolicy limits);

  // Stores and enqueues a job. `extras` (x_ keys) are stored with the request. Returns the new
  // id. kResourceExhausted when the queue is full, kUnavailable when shutting down (nothing is
  // stored then).
  Result<std::string> Submit(const engine::Job& job, const json& extras,
                             DoneCallback on_done = nullptr);
  // Interactive runs are not stored: they need their client. on_done as in JobQueue.
  Status SubmitInteractive(const std::string& id, engine::Job job, engine::RunHooks hooks,
                           std::function<void(Result<engine::JobResult>, bool started)> on_done);

  Result<store::JobRecord> Get(const std::string& id);
  Result<std::vector<std::optional<store::JobRecord>>> GetMany(const std::vector<std::string>& ids);

  // The catalog, read from the engine once and cached.
  std::vector<engine::LanguageInfo> Languages();
  // An installed language by id or alias (case-insensitive), or nullopt.
  std::optional<engine::LanguageInfo> FindLanguage(const std::string& name);

  // At start: fails jobs a crash left running; re-queues stored queued jobs (above capacity if
  // need be). Returns how many were re-queued.
  Result<size_t> Recover();
  // Every finished stored job, after it is stored (Judge0 callbacks).
  void AddFinishListener(FinishListener listener);

  // Stops the queue: running jobs finish, waiting ones stay stored as queued. Then tries once
  // more to store the results kept in memory.
  std::vector<std::string> Shutdown();

  // Writes results the store refused before; returns how many are still only in memory.
  size_t FlushUnstored();
  // Retention: Store::PruneJobs with "now - max_age" (0: no age limit) and max_bytes.
  Result<store::Store::PruneStats> Prune(std::chrono::milliseconds max_age, uint64_t max_bytes);
  // The store's CheckWritable() (health).
  Status CheckWritable() { return store_->CheckWritable(); }

  QueueGauges Gauges() const;
  size_t QueueFree() const;
  const LimitsPolicy& limits() const { return limits_; }
  engine::Engine* engine() { return engine_; }
  Metrics* metrics() { return metrics_; }
  void set_interactive_count(size_t n) { interactive_ = n; }
  void AdjustInteractive(int delta) { interactive_ += static_cast<size_t>(delta); }

 private:
  engine::QueueItem MakeItem(const std::string& id, engine::Job job, DoneCallback on_done);
  void Finished(const std::string& id, Result<engine::JobResult> result, bool started,
                const DoneCallback& on_done, double queue_wait_s, double run_s);

  engine::Engine* engine_;
  store::Store* store_;
  engine::JobQueue* queue_;
  Metrics* metrics_;
  LimitsPolicy limits_;
  std::mutex mu_;
  std::vector<FinishListener> listeners_;
  std::optional<std::vector<engine::LanguageInfo>> languages_;
  // Finished jobs whose final record the store refused, by id (under mu_).
  std::map<std::string, store::JobRecord> unstored_;
  std::atomic<size_t> interactive_{0};
};

}  // namespace runbox::server
