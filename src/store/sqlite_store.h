#pragma once
// SqliteStore: the embedded Store, one SQLite file `<data_dir>/runbox.db` in WAL mode (readers
// never block the writer, and a crash loses at most the transaction in flight). The schema is
// versioned with `PRAGMA user_version`; Open() migrates an older file forward and refuses a newer
// one, so an old binary never scribbles over a database it does not understand.
//
// One server per data dir: Open() takes an exclusive flock(2) on <data_dir>/runbox.lock and
// keeps it while the store is open. A second server on the same dir would run the same queued
// jobs twice and, in Recover(), mark the first server's running jobs failed; it gets
// kUnavailable naming the dir instead. The lock goes with the process, so a crash never leaves
// a stale one.
//
// A full disk is kResourceExhausted with sys_errno ENOSPC, whatever SQLite call found it.
//
// Thread-safety: one connection guarded by a mutex; every method may be called from any thread.

#include <memory>
#include <mutex>
#include <string>

#include "store/store.h"

struct sqlite3;

namespace runbox::store {

class SqliteStore final : public Store {
 public:
  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 1;

  // Creates data_dir (mode 0700) if needed and opens or creates runbox.db in it.
  // ":memory:" as data_dir opens a private in-memory database (tests).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir);
  ~SqliteStore() override;

  Status InsertJob(const JobRecord& record) override;
  Status MarkRunning(const std::string& id, int64_t started_at_ms) override;
  Status MarkDone(const std::string& id, const std::string& result_json,
                  int64_t finished_at_ms) override;
  Status DeleteJob(const std::string& id) override;
  Result<JobRecord> GetJob(const std::string& id) override;
  Result<std::vector<std::optional<JobRecord>>> GetJobs(
      const std::vector<std::string>& ids) override;
  Result<std::vector<JobRecord>> ListJobs(JobState state) override;
  Result<std::vector<std::string>> FailRunningJobs(const std::string& result_json,
                                                   int64_t finished_at_ms) override;
  Status CheckWritable() override;
  Result<PruneStats> PruneJobs(int64_t finished_before_ms, uint64_t max_bytes) override;
  Result<std::string> PutSnippet(const std::string& body_json, int64_t created_at_ms) override;
  Result<Snippet> GetSnippet(const std::string& id) override;

  const std::string& path() const { return path_; }

 private:
  SqliteStore(sqlite3* db, std::string path, std::string dir, int lock_fd)
      : db_(db), path_(std::move(path)), dir_(std::move(dir)), lock_fd_(lock_fd) {}
  Status Migrate();
  Status Exec(const char* sql);
  Status UpdateState(const std::string& id, const char* sql, int64_t at_ms,
                     const std::string* result_json);

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
  std::string dir_;   // empty for ":memory:"
  int lock_fd_ = -1;  // holds the data dir's flock; closed (and so released) last
};

}  // namespace runbox::store
