#include "engine/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

#include "server/testing/fake_engine.h"

namespace runbox::engine {
namespace {

using testing::FakeEngine;

Job MakeJob(const std::string& language, const std::string& stdin_data = "") {
  Job job;
  job.language = language;
  job.files.push_back({"main", "code"});
  job.tests.push_back({stdin_data, std::nullopt});
  return job;
}

struct Collector {
  std::mutex mu;
  std::vector<std::string> done_ids;
  std::vector<std::string> not_started;

  QueueItem Item(const std::string& id, Job job) {
    QueueItem item;
    item.id = id;
    item.job = std::move(job);
    item.on_done = [this](const std::string& id, Result<JobResult>, bool started) {
      std::lock_guard<std::mutex> lock(mu);
      (started ? done_ids : not_started).push_back(id);
    };
    return item;
  }
};

TEST(InProcessQueueTest, RunsJobsAndReportsResults) {
  FakeEngine engine;
  auto queue = MakeInProcessQueue(&engine, {2, 8});
  std::promise<Result<JobResult>> p;
  QueueItem item;
  item.id = "j1";
  item.job = MakeJob("echo", "hello\n");
  std::atomic<bool> started{false};
  item.on_start = [&](const std::string&) { started = true; };
  item.on_done = [&](const std::string& id, Result<JobResult> r, bool ran) {
    EXPECT_EQ(id, "j1");
    EXPECT_TRUE(ran);
    p.set_value(std::move(r));
  };
  ASSERT_TRUE(queue->Push(std::move(item)));
  auto r = p.get_future().get();
  ASSERT_TRUE(r);
  EXPECT_TRUE(started);
  ASSERT_EQ(r->cases.size(), 1u);
  EXPECT_EQ(r->cases[0].run.stdout_data, "hello\n");
}

TEST(InProcessQueueTest, EngineErrorIsDeliveredNotLost) {
  FakeEngine engine;
  auto queue = MakeInProcessQueue(&engine, {1, 8});
  std::promise<Result<JobResult>> p;
  QueueItem item;
  item.id = "j1";
  item.job = MakeJob("boom");
  item.on_done = [&](const std::string&, Result<JobResult> r, bool) { p.set_value(std::move(r)); };
  ASSERT_TRUE(queue->Push(std::move(item)));
  auto r = p.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST(InProcessQueueTest, FullQueueRejectsAtOnce) {
  FakeEngine engine;
  Collector c;
  auto queue = MakeInProcessQueue(&engine, {1, 2});
  ASSERT_TRUE(queue->Push(c.Item("running", MakeJob("slow"))));
  engine.WaitForSlow(1);  // the worker holds it; the queue is empty again
  ASSERT_TRUE(queue->Push(c.Item("w1", MakeJob("slow"))));
  ASSERT_TRUE(queue->Push(c.Item("w2", MakeJob("slow"))));
  EXPECT_EQ(queue->waiting(), 2u);
  EXPECT_EQ(queue->running(), 1u);
  auto full = queue->Push(c.Item("w3", MakeJob("slow")));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);
  // Recovered jobs go in even above capacity.
  ASSERT_TRUE(queue->PushRecovered(c.Item("recovered", MakeJob("echo"))));
  EXPECT_EQ(queue->waiting(), 3u);
  engine.OpenGate();
  queue->Shutdown();
}

TEST(InProcessQueueTest, ShutdownFinishesRunningAndReturnsWaiting) {
  FakeEngine engine;
  Collector c;
  auto queue = MakeInProcessQueue(&engine, {1, 8});
  ASSERT_TRUE(queue->Push(c.Item("running", MakeJob("slow"))));
  engine.WaitForSlow(1);
  ASSERT_TRUE(queue->Push(c.Item("waiting1", MakeJob("echo"))));
  ASSERT_TRUE(queue->Push(c.Item("waiting2", MakeJob("echo"))));

  std::vector<std::string> dropped;
  std::thread shutdown([&] { dropped = queue->Shutdown(); });
  // The running job is not cut short: shutdown waits for it.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(c.mu);
    EXPECT_TRUE(c.done_ids.empty());
  }
  engine.OpenGate();
  shutdown.join();
  EXPECT_EQ(dropped, (std::vector<std::string>{"waiting1", "waiting2"}));
  EXPECT_EQ(c.done_ids, std::vector<std::string>{"running"});
  EXPECT_EQ(c.not_started, (std::vector<std::string>{"waiting1", "waiting2"}));
  // After shutdown nothing is accepted.
  auto late = queue->Push(c.Item("late", MakeJob("echo")));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(queue->Shutdown().empty());  // idempotent
}

TEST(InProcessQueueTest, ManyJobsAllComplete) {
  FakeEngine engine(3);
  Collector c;
  auto queue = MakeInProcessQueue(&engine, {3, 1000});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(queue->Push(c.Item("j" + std::to_string(i), MakeJob("echo", "x"))));
  }
  while (true) {
    {
      std::lock_guard<std::mutex> lock(c.mu);
      if (c.done_ids.size() == 200) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(queue->Shutdown().size(), 0u);
  EXPECT_EQ(engine.runs(), 200);
}

}  // namespace
}  // namespace runbox::engine
