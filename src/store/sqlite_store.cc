#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

// What a full disk looks like to callers: one code and one errno, so the API can say "the
// server's disk is full" instead of "queue full" or "internal".
Error DiskFull(const std::string& what) {
  Error e = MakeError(ErrorCode::kResourceExhausted, what + ": the server's disk is full");
  e.sys_errno = ENOSPC;
  return e;
}

Error SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  ErrorCode ec = ErrorCode::kInternal;
  // SQLITE_FULL is the usual report; a failed write of the WAL or a journal can come back as an
  // I/O error whose errno says ENOSPC.
  if (code == SQLITE_FULL || ((code & 0xff) == SQLITE_IOERR && sqlite3_system_errno(db) == ENOSPC)) {
    return DiskFull("sqlite " + what);
  }
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
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
  int lock_fd = -1;
  if (data_dir == ":memory:") {
    path = ":memory:";
  } else {
    RUNBOX_TRY(MakeDirs(data_dir, 0700));
    path = data_dir + "/runbox.db";
    std::string lock_path = data_dir + "/runbox.lock";
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd < 0) {
      return ErrnoError("open " + lock_path);
    }
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(lock_fd);
      if (err == EWOULDBLOCK) {
        return MakeError(ErrorCode::kUnavailable,
                         "data dir " + data_dir + " is in use by another runbox server (" +
                             lock_path + " is locked); give each server its own --data-dir");
      }
      return ErrnoError("flock " + lock_path, err);
    }
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (lock_fd >= 0) {
      ::close(lock_fd);
    }
    return MakeError(ErrorCode::kPermissionDenied, "open database " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(db, path, data_dir == ":memory:" ? "" : data_dir, lock_fd));
  // Another process (a second server on the same data dir) may hold the write lock briefly.
  sqlite3_busy_timeout(db, 5000);
  RUNBOX_TRY(store->Migrate());
  return store;
}

SqliteStore::~SqliteStore() {
  sqlite3_close(db_);
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the data dir for the next server
  }
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    int code = sqlite3_errcode(db_);
    if (code == SQLITE_FULL ||
        ((code & 0xff) == SQLITE_IOERR && sqlite3_system_errno(db_) == ENOSPC)) {
      return DiskFull(std::string("sqlite '") + sql + "'");
    }
    return MakeError(ErrorCode::kInternal, std::string("sqlite '") + sql + "': " + msg);
  }
  return OkStatus();
}

Status SqliteStore::CheckWritable() {
  // Below this much free space the next job's request and result may not fit; saying so before
  // the writes fail lets a load balancer move on.
  constexpr uint64_t kReserveBytes = 64 * 1024;
  if (!dir_.empty()) {
    struct statvfs vfs;
    if (::statvfs(dir_.c_str(), &vfs) == 0 &&
        static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kReserveBytes) {
      return DiskFull("data dir " + dir_);
    }
  }
  // A real write transaction (the header page is rewritten into the WAL): free space can exist
  // while SQLite still cannot write (quota, a full WAL's file system).
  std::lock_guard<std::mutex> lock(mu_);
  std::string sql = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  return Exec(sql.c_str());
}

Result<Store::PruneStats> SqliteStore::PruneJobs(int64_t finished_before_ms, uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  PruneStats stats;
  auto total = [this]() -> Result<uint64_t> {
    Stmt stmt;
    RUNBOX_TRY(Prepare(db_, &stmt,
                       "SELECT COALESCE(SUM(LENGTH(CAST(request_json AS BLOB)) + "
                       "LENGTH(CAST(result_json AS BLOB)) + LENGTH(id) + 64), 0) FROM jobs"));
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
      return SqlError(db_, "sum job sizes");
    }
    return static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  };
  RUNBOX_ASSIGN_OR_RETURN(stats.bytes_before, total());
  if (finished_before_ms > 0) {
    Stmt stmt;
    RUNBOX_TRY(Prepare(db_, &stmt, "DELETE FROM jobs WHERE state = 2 AND finished_at_ms < ?"));
    sqlite3_bind_int64(stmt.get(), 1, finished_before_ms);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      return SqlError(db_, "delete old jobs");
    }
    stats.deleted += static_cast<size_t>(sqlite3_changes(db_));
  }
  RUNBOX_ASSIGN_OR_RETURN(uint64_t bytes, total());
  if (max_bytes > 0 && bytes > max_bytes) {
    // Oldest finished first, exactly as many as it takes for the total to fit.
    std::vector<int64_t> victims;
    uint64_t excess = bytes - max_bytes;
    uint64_t freed = 0;
    {
      Stmt stmt;
      RUNBOX_TRY(Prepare(db_, &stmt,
                         "SELECT rowid, LENGTH(CAST(request_json AS BLOB)) + "
                         "LENGTH(CAST(result_json AS BLOB)) + LENGTH(id) + 64 FROM jobs "
                         "WHERE state = 2 ORDER BY finished_at_ms, rowid"));
      while (freed < excess) {
        int rc = sqlite3_step(stmt.get());
        if (rc == SQLITE_DONE) {
          break;  // only queued and running jobs are left; they stay
        }
        if (rc != SQLITE_ROW) {
          return SqlError(db_, "list finished jobs");
        }
        victims.push_back(sqlite3_column_int64(stmt.get(), 0));
        freed += static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1));
      }
    }
    RUNBOX_TRY(Exec("BEGIN IMMEDIATE"));
    for (int64_t rowid : victims) {
      Stmt del;
      Status st = Prepare(db_, &del, "DELETE FROM jobs WHERE rowid = ?").has_value()
                      ? OkStatus()
                      : Status(SqlError(db_, "prepare delete"));
      if (st) {
        sqlite3_bind_int64(del.get(), 1, rowid);
        if (sqlite3_step(del.get()) != SQLITE_DONE) {
          st = SqlError(db_, "delete job");
        }
      }
      if (!st) {
        (void)Exec("ROLLBACK");
        return std::move(st).error();
      }
    }
    RUNBOX_TRY(Exec("COMMIT"));
    stats.deleted += victims.size();
    RUNBOX_ASSIGN_OR_RETURN(bytes, total());
  }
  stats.bytes_after = bytes;
  if (stats.deleted > 0 && !dir_.empty()) {
    // Freed pages are reused by later writes; truncating the WAL gives its space back now.
    (void)Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  return stats;
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
