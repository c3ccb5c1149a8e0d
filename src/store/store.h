#pragma once
// Store: where the server keeps jobs (request, state, result) and snippets, so that a submitted
// job survives a restart and can be polled from any API node that shares the store.
//
// The store is below the engine and knows nothing of JSON shapes: requests and results are opaque
// text the server encodes (docs/api.md). SqliteStore (sqlite_store.h) is the embedded default; a
// server database can implement the same interface when several API nodes share state.
//
// Thread-safety: every method may be called from any thread at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::store {

enum class JobState { kQueued, kRunning, kDone };

// "queued", "running", "done".
const char* JobStateName(JobState state);

struct JobRecord {
  std::string id;            // unique, chosen by the caller ("j_..."), at most 64 bytes
  JobState state = JobState::kQueued;
  std::string request_json;  // the job as the client asked for it (server's encoding)
  std::string result_json;   // empty until done
  int64_t created_at_ms = 0;   // Unix time in milliseconds
  int64_t started_at_ms = 0;   // 0 until running
  int64_t finished_at_ms = 0;  // 0 until done
};

struct Snippet {
  std::string id;         // short random id, [0-9A-Za-z]{8}
  std::string body_json;  // exactly what was saved
  int64_t created_at_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts a new job in state `record.state`. kInvalidArgument when the id exists.
  virtual Status InsertJob(const JobRecord& record) = 0;
  // queued -> running. kNotFound for an unknown id.
  virtual Status MarkRunning(const std::string& id, int64_t started_at_ms) = 0;
  // any state -> done with the given result. kNotFound for an unknown id.
  virtual Status MarkDone(const std::string& id, const std::string& result_json,
                          int64_t finished_at_ms) = 0;
  // Removes a job that was stored but could not be queued. kNotFound for an unknown id.
  virtual Status DeleteJob(const std::string& id) = 0;
  // kNotFound for an unknown id.
  virtual Result<JobRecord> GetJob(const std::string& id) = 0;
  // One entry per asked id, in the same order; nullopt for an unknown id.
  virtual Result<std::vector<std::optional<JobRecord>>> GetJobs(
      const std::vector<std::string>& ids) = 0;
  // Jobs in a state, oldest first (restart recovery: re-queue the queued ones).
  virtual Result<std::vector<JobRecord>> ListJobs(JobState state) = 0;
  // After a crash: every job still marked running becomes done with `result_json` (which says
  // why). Returns the ids it changed.
  virtual Result<std::vector<std::string>> FailRunningJobs(const std::string& result_json,
                                                           int64_t finished_at_ms) = 0;

  // Whether a write would succeed now: kResourceExhausted with sys_errno ENOSPC when the disk
  // is full (health checks; a server whose every submission fails must not say "ok").
  virtual Status CheckWritable() = 0;

  struct PruneStats {
    size_t deleted = 0;         // jobs removed
    uint64_t bytes_before = 0;  // stored request + result bytes of all jobs, before
    uint64_t bytes_after = 0;
  };
  // Retention: deletes finished jobs that finished before `finished_before_ms` (0: no age
  // limit), then the oldest finished jobs until the jobs' stored bytes are at most `max_bytes`
  // (0: no size limit). Queued and running jobs are never deleted.
  virtual Result<PruneStats> PruneJobs(int64_t finished_before_ms, uint64_t max_bytes) = 0;

  // Saves a snippet under a fresh random id and returns it.
  virtual Result<std::string> PutSnippet(const std::string& body_json, int64_t created_at_ms) = 0;
  // kNotFound for an unknown id.
  virtual Result<Snippet> GetSnippet(const std::string& id) = 0;
};

// A random id of `length` characters from [0-9A-Za-z], from getrandom(2).
std::string RandomId(size_t length);

}  // namespace runbox::store
