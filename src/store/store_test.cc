#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>

#include "store/sqlite_store.h"

namespace runbox::store {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "runbox-store-XXXXXX").string();
    RUNBOX_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

JobRecord Job(const std::string& id, int64_t created) {
  JobRecord r;
  r.id = id;
  r.request_json = R"({"language":"cpp"})";
  r.created_at_ms = created;
  return r;
}

TEST(SqliteStoreTest, JobLifecycle) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store) << store.error().message;
  auto& s = **store;
  ASSERT_TRUE(s.InsertJob(Job("j_1", 100)));
  auto got = s.GetJob("j_1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, JobState::kQueued);
  EXPECT_EQ(got->request_json, R"({"language":"cpp"})");
  EXPECT_EQ(got->created_at_ms, 100);

  ASSERT_TRUE(s.MarkRunning("j_1", 150));
  EXPECT_EQ(s.GetJob("j_1")->state, JobState::kRunning);
  EXPECT_EQ(s.GetJob("j_1")->started_at_ms, 150);

  ASSERT_TRUE(s.MarkDone("j_1", R"({"status":"OK"})", 200));
  got = s.GetJob("j_1");
  EXPECT_EQ(got->state, JobState::kDone);
  EXPECT_EQ(got->result_json, R"({"status":"OK"})");
  EXPECT_EQ(got->finished_at_ms, 200);
}

TEST(SqliteStoreTest, Errors) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(s.InsertJob(Job("j_1", 1)));
  auto dup = s.InsertJob(Job("j_1", 2));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.GetJob("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.MarkRunning("nope", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.MarkDone("nope", "{}", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.GetSnippet("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.DeleteJob("nope").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(s.DeleteJob("j_1"));
  EXPECT_EQ(s.GetJob("j_1").error().code, ErrorCode::kNotFound);
}

TEST(SqliteStoreTest, GetJobsKeepsOrderAndGaps) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(s.InsertJob(Job("a", 1)));
  ASSERT_TRUE(s.InsertJob(Job("b", 2)));
  auto jobs = s.GetJobs({"b", "missing", "a"});
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0]->id, "b");
  EXPECT_FALSE((*jobs)[1].has_value());
  EXPECT_EQ((*jobs)[2]->id, "a");
}

TEST(SqliteStoreTest, ListAndFailRunningAfterCrash) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(s.InsertJob(Job("q2", 20)));
  ASSERT_TRUE(s.InsertJob(Job("q1", 10)));
  ASSERT_TRUE(s.InsertJob(Job("r1", 5)));
  ASSERT_TRUE(s.MarkRunning("r1", 6));
  auto queued = s.ListJobs(JobState::kQueued);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].id, "q1");  // oldest first
  EXPECT_EQ((*queued)[1].id, "q2");

  auto failed = s.FailRunningJobs(R"({"status":"SE"})", 99);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0], "r1");
  auto r1 = s.GetJob("r1");
  EXPECT_EQ(r1->state, JobState::kDone);
  EXPECT_EQ(r1->result_json, R"({"status":"SE"})");
  EXPECT_TRUE(s.ListJobs(JobState::kRunning)->empty());
}

TEST(SqliteStoreTest, SnippetsRoundTripWithShortRandomIds) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store);
  auto& s = **store;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    std::string body = R"({"language":"py","n":)" + std::to_string(i) + "}";
    auto id = s.PutSnippet(body, i);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->size(), 8u);
    for (char c : *id) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << *id;
    }
    ids.insert(*id);
    auto got = s.GetSnippet(*id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->body_json, body);
  }
  EXPECT_EQ(ids.size(), 50u);
}

TEST(SqliteStoreTest, PersistsAcrossReopenInWalMode) {
  TempDir dir;
  {
    auto store = SqliteStore::Open(dir.path() + "/data");
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE((*store)->InsertJob(Job("j_keep", 1)));
  }
  auto store = SqliteStore::Open(dir.path() + "/data");
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->GetJob("j_keep")->id, "j_keep");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/data/runbox.db"));
}

TEST(SqliteStoreTest, RefusesNewerSchema) {
  TempDir dir;
  {
    auto store = SqliteStore::Open(dir.path());
    ASSERT_TRUE(store);
  }
  // Simulate a database written by a future runbox.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/runbox.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteStore::Open(dir.path());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("newer"), std::string::npos);
}

TEST(SqliteStoreTest, ConcurrentWriters) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.path());
  ASSERT_TRUE(store);
  auto& s = **store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 25; ++i) {
        std::string id = "j_" + std::to_string(t) + "_" + std::to_string(i);
        RUNBOX_CHECK(s.InsertJob(Job(id, i)).has_value());
        RUNBOX_CHECK(s.MarkRunning(id, i).has_value());
        RUNBOX_CHECK(s.MarkDone(id, "{}", i).has_value());
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(s.ListJobs(JobState::kDone)->size(), 100u);
}

// Retention (issue 12): old finished jobs go, then the oldest finished until the size fits;
// queued and running jobs are never touched.
TEST(SqliteStoreTest, PruneJobsByAgeAndSize) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store) << store.error().message;
  auto& s = **store;
  const std::string big(10000, 'r');
  for (int i = 0; i < 10; ++i) {
    std::string id = "j_done" + std::to_string(i);
    ASSERT_TRUE(s.InsertJob(Job(id, 100 + i)));
    ASSERT_TRUE(s.MarkDone(id, big, 1000 + i));  // finished at 1000..1009
  }
  ASSERT_TRUE(s.InsertJob(Job("j_queued", 1)));
  ASSERT_TRUE(s.InsertJob(Job("j_running", 2)));
  ASSERT_TRUE(s.MarkRunning("j_running", 3));

  // Age: finished before 1003 -> j_done0..2 go.
  auto aged = s.PruneJobs(1003, 0);
  ASSERT_TRUE(aged) << aged.error().message;
  EXPECT_EQ(aged->deleted, 3u);
  EXPECT_FALSE(s.GetJob("j_done2"));
  EXPECT_TRUE(s.GetJob("j_done3"));

  // Size: 7 finished jobs of ~10 KB; at most 35 KB keeps the 3 newest.
  auto sized = s.PruneJobs(0, 35000);
  ASSERT_TRUE(sized) << sized.error().message;
  EXPECT_EQ(sized->deleted, 4u);
  EXPECT_LE(sized->bytes_after, 35000u);
  EXPECT_FALSE(s.GetJob("j_done6"));
  EXPECT_TRUE(s.GetJob("j_done7"));
  EXPECT_TRUE(s.GetJob("j_done9"));

  // Even a limit nothing fits in never deletes queued or running jobs.
  auto all = s.PruneJobs(1 << 30, 1);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(s.GetJob("j_queued"));
  EXPECT_EQ(s.GetJob("j_running")->state, JobState::kRunning);
  EXPECT_EQ(s.ListJobs(JobState::kDone)->size(), 0u);
}

// Two servers on one data dir would run the same queued jobs twice and fail each other's
// running ones (issue 12): the second Open is refused, naming the dir, until the first closes.
TEST(SqliteStoreTest, OneStorePerDataDir) {
  TempDir dir;
  auto first = SqliteStore::Open(dir.path());
  ASSERT_TRUE(first) << first.error().message;
  auto second = SqliteStore::Open(dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find(dir.path()), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("another runbox server"), std::string::npos);
  first->reset();
  auto third = SqliteStore::Open(dir.path());
  EXPECT_TRUE(third) << third.error().message;
}

TEST(SqliteStoreTest, CheckWritable) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.path());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE((*store)->CheckWritable());
  auto mem = SqliteStore::Open(":memory:");
  ASSERT_TRUE(mem);
  EXPECT_TRUE((*mem)->CheckWritable());
}

}  // namespace
}  // namespace runbox::store
