#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/random.h>

#include <cerrno>
#include <utility>

#include "base/files.h"

namespace runbox::store {
namespace {

// Owns one prepared statement; finalized on every path.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }
  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Error SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  ErrorCode ec = ErrorCode::kInternal;
  if (code == SQLITE_FULL) {
    ec = ErrorCode::kResourceExhausted;
  } else if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    ec = ErrorCode::kUnavailable;
  } else if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_CANTOPEN) {
    ec = ErrorCode::kPermissionDenied;
  }
  return MakeError(ec, "sqlite " + what + ": " + sqlite3_errmsg(db));
}

Result<Stmt*> Prepare(sqlite3* db, Stmt* stmt, const char* sql) {
  if (sqlite3_prepare_v2(db, sql, -1, stmt->out(), nullptr) != SQLITE_OK) {
    return SqlError(db, std::string("prepare '") + sql + "'");
  }
  return stmt;
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

int StateToInt(JobState s) { return static_cast<int>(s); }
JobState StateFromInt(int v) {
  switch (v) {
    case 0: return JobState::kQueued;
    case 1: return JobState::kRunning;
    default: return JobState::kDone;
  }
}

constexpr const char* kJobColumns =
    "id, state, request_json, result_json, created_at_ms, started_at_ms, finished_at_ms";

JobRecord ReadJob(sqlite3_stmt* s) {
  JobRecord r;
  r.id = ColumnText(s, 0);
  r.state = StateFromInt(sqlite3_column_int(s, 1));
  r.request_json = ColumnText(s, 2);
  r.result_json = ColumnText(s, 3);
  r.created_at_ms = sqlite3_column_int64(s, 4);
  r.started_at_ms = sqlite3_column_int64(s, 5);
  r.finished_at_ms = sqlite3_column_int64(s, 6);
  return r;
}

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
  }
  return "done";
}

std::string RandomId(size_t length) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    unsigned char buf[64];
    ssize_t n = getrandom(buf, sizeof buf, 0);
    if (n < 0) {
      RUNBOX_CHECK(errno == EINTR);  // getrandom on an initialized pool fails only on EINTR
      continue;
    }
    for (ssize_t i = 0; i < n && out.size() < length; ++i) {
      // 62 * 4 = 248: reject 248..255 so every character is equally likely.
      if (buf[i] < 248) {
        out.push_back(kAlphabet[buf[i] % 62]);
      }
    }
  }
  return out;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir) {
  std::string path;
  if (data_dir == ":memory:") {
    path = ":memory:";
  } else {
    RUNBOX_TRY(MakeDirs(data_dir, 0700));
    path = data_dir + "/runbox.db";
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return MakeError(ErrorCode::kPermissionDenied, "open database " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  // Another process (a second server on the same data dir) may hold the write lock briefly.
  sqlite3_busy_timeout(db, 5000);
  RUNBOX_TRY(store->Migrate());
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return MakeError(ErrorCode::kInternal, std::string("sqlite '") + sql + "': " + msg);
  }
  return OkStatus();
}

Status SqliteStore::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_ != ":memory:") {
    // WAL: readers (polling clients) never wait for the writer; NORMAL sync is durable against
    // a process crash, and loses at most the last commits on a power cut.
    RUNBOX_TRY(Exec("PRAGMA journal_mode=WAL"));
    RUNBOX_TRY(Exec("PRAGMA synchronous=NORMAL"));
  }
  Stmt stmt;
  RUNBOX_TRY(Prepare(db_, &stmt, "PRAGMA user_version"));
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
    return SqlError(db_, "read user_version");
  }
  int version = sqlite3_column_int(stmt.get(), 0);
  if (version > kSchemaVersion) {
    return MakeError(ErrorCode::kUnavailable,
                     "database " + path_ + " has schema version " + std::to_string(version) +
                         ", newer than this runbox understands (" +
                         std::to_string(kSchemaVersion) + "); upgrade runbox");
  }
  if (version < 1) {
    RUNBOX_TRY(Exec("BEGIN IMMEDIATE"));
    Status s = Exec(
        "CREATE TABLE IF NOT EXISTS jobs ("
        "  id TEXT PRIMARY KEY,"
        "  state INTEGER NOT NULL,"
        "  request_json TEXT NOT NULL,"
        "  result_json TEXT NOT NULL DEFAULT '',"
        "  created_at_ms INTEGER NOT NULL,"
        "  started_at_ms INTEGER NOT NULL DEFAULT 0,"
        "  finished_at_ms INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, created_at_ms);"
        "CREATE TABLE IF NOT EXISTS snippets ("
        "  id TEXT PRIMARY KEY,"
        "  body_json TEXT NOT NULL,"
        "  created_at_ms INTEGER NOT NULL);"
        "PRAGMA user_version = 1;");
    if (!s) {
      (void)Exec("ROLLBACK");
      return s;
    }
    RUNBOX_TRY(Exec("COMMIT"));
  }
  return OkStatus();
}

Status SqliteStore::InsertJob(const JobRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  RUNBOX_TRY(Prepare(db_, &stmt,
                     "INSERT INTO jobs (id, state, request_json, result_json, created_at_ms, "
                     "started_at_ms, finished_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  sqlite3_stmt* s = stmt.get();
  BindText(s, 1, r.id);
  sqlite3_bind_int(s, 2, StateToInt(r.state));
  BindText(s, 3, r.request_json);
  BindText(s, 4, r.result_json);
  sqlite3_bind_int64(s, 5, r.created_at_ms);
  sqlite3_bind_int64(s, 6, r.started_at_ms);
  sqlite3_bind_int64(s, 7, r.finished_at_ms);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_CONSTRAINT) {
    return MakeError(ErrorCode::kInvalidArgument, "job " + r.id + " already exists");
  }
  if (rc != SQLITE_DONE) {
    return SqlError(db_, "insert job " + r.id);
  }
  return OkStatus();
}

Status SqliteStore::UpdateState(const std::string& id, const char* sql, int64_t at_ms,
                                const std::string* result_json) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  RUNBOX_TRY(Prepare(db_, &stmt, sql));
  sqlite3_stmt* s = stmt.get();
  int i = 1;
  if (result_json) {
    BindText(s, i++, *result_json);
  }
  sqlite3_bind_int64(s, i++, at_ms);
  BindText(s, i, id);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return SqlError(db_, "update job " + id);
  }
  if (sqlite3_changes(db_) == 0) {
    return MakeError(ErrorCode::kNotFound, "job " + id + " not found");
  }
  return OkStatus();
}

Status SqliteStore::MarkRunning(const std::string& id, int64_t started_at_ms) {
  return UpdateState(id, "UPDATE jobs SET state = 1, started_at_ms = ? WHERE id = ?",
                     started_at_ms, nullptr);
}

Status SqliteStore::MarkDone(const std::string& id, const std::string& result_json,
                             int64_t finished_at_ms) {
  return UpdateState(id,
                     "UPDATE jobs SET state = 2, result_json = ?, finished_at_ms = ? WHERE id = ?",
                     finished_at_ms, &result_json);
}

Status SqliteStore::DeleteJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  RUNBOX_TRY(Prepare(db_, &stmt, "DELETE FROM jobs WHERE id = ?"));
  BindText(stmt.get(), 1, id);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SqlError(db_, "delete job " + id);
  }
  if (sqlite3_changes(db_) == 0) {
    return MakeError(ErrorCode::kNotFound, "job " + id + " not found");
  }
  return OkStatus();
}

Result<JobRecord> SqliteStore::GetJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?";
  RUNBOX_TRY(Prepare(db_, &stmt, sql.c_str()));
  BindText(stmt.get(), 1, id);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) {
    return MakeError(ErrorCode::kNotFound, "job " + id + " not found");
  }
  if (rc != SQLITE_ROW) {
    return SqlError(db_, "get job " + id);
  }
  return ReadJob(stmt.get());
}

Result<std::vector<std::optional<JobRecord>>> SqliteStore::GetJobs(
    const std::vector<std::string>& ids) {
  std::vector<std::optional<JobRecord>> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    auto r = GetJob(id);
    if (r) {
      out.emplace_back(std::move(r).value());
    } else if (r.error().code == ErrorCode::kNotFound) {
      out.emplace_back(std::nullopt);
    } else {
      return std::move(r).error();
    }
  }
  return out;
}

Result<std::vector<JobRecord>> SqliteStore::ListJobs(JobState state) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  std::string sql = std::string("SELECT ") + kJobColumns +
                    " FROM jobs WHERE state = ? ORDER BY created_at_ms, rowid";
  RUNBOX_TRY(Prepare(db_, &stmt, sql.c_str()));
  sqlite3_bind_int(stmt.get(), 1, StateToInt(state));
  std::vector<JobRecord> out;
  for (;;) {
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
      break;
    }
    if (rc != SQLITE_ROW) {
      return SqlError(db_, "list jobs");
    }
    out.push_back(ReadJob(stmt.get()));
  }
  return out;
}

Result<std::vector<std::string>> SqliteStore::FailRunningJobs(const std::string& result_json,
                                                              int64_t finished_at_ms) {
  RUNBOX_ASSIGN_OR_RETURN(auto running, ListJobs(JobState::kRunning));
  std::vector<std::string> ids;
  for (const auto& r : running) {
    RUNBOX_TRY(MarkDone(r.id, result_json, finished_at_ms));
    ids.push_back(r.id);
  }
  return ids;
}

Result<std::string> SqliteStore::PutSnippet(const std::string& body_json, int64_t created_at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  // 8 characters of base62 is 47 bits: a collision is rare, and retried.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string id = RandomId(8);
    Stmt stmt;
    RUNBOX_TRY(Prepare(db_, &stmt,
                       "INSERT INTO snippets (id, body_json, created_at_ms) VALUES (?, ?, ?)"));
    BindText(stmt.get(), 1, id);
    BindText(stmt.get(), 2, body_json);
    sqlite3_bind_int64(stmt.get(), 3, created_at_ms);
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
      return id;
    }
    if (rc != SQLITE_CONSTRAINT) {
      return SqlError(db_, "insert snippet");
    }
  }
  return MakeError(ErrorCode::kInternal, "could not find a free snippet id");
}

Result<Snippet> SqliteStore::GetSnippet(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt stmt;
  RUNBOX_TRY(Prepare(db_, &stmt, "SELECT id, body_json, created_at_ms FROM snippets WHERE id = ?"));
  BindText(stmt.get(), 1, id);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) {
    return MakeError(ErrorCode::kNotFound, "snippet " + id + " not found");
  }
  if (rc != SQLITE_ROW) {
    return SqlError(db_, "get snippet " + id);
  }
  Snippet s;
  s.id = ColumnText(stmt.get(), 0);
  s.body_json = ColumnText(stmt.get(), 1);
  s.created_at_ms = sqlite3_column_int64(stmt.get(), 2);
  return s;
}

}  // namespace runbox::store
