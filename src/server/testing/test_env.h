#pragma once
// TestEnv: the server's handlers wired to a FakeEngine, an in-memory store and a real queue, with
// a synchronous Call() for unit tests (no sockets).

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <future>
#include <memory>

#include "engine/queue.h"
#include "server/api.h"
#include "server/router.h"
#include "server/testing/fake_engine.h"
#include "store/sqlite_store.h"

namespace runbox::server::testing {

class TestEnv {
 public:
  explicit TestEnv(ServerConfig config = DefaultConfig(), int workers = 2) : config_(config) {
    spdlog::set_level(spdlog::level::warn);
    store_ = std::move(store::SqliteStore::Open(":memory:").value());
    queue_ = engine::MakeInProcessQueue(&engine_, {workers, config_.queue_size});
    jobs_ = std::make_unique<JobService>(&engine_, store_.get(), queue_.get(), &metrics_,
                                         PolicyOf(config_));
    router_ = std::make_unique<Router>(config_, &metrics_);
    ctx_.config = &config_;
    ctx_.jobs = jobs_.get();
    ctx_.store = store_.get();
    ctx_.metrics = &metrics_;
    ctx_.timers = &timers_;
    ctx_.shutting_down = &shutting_down_;
    ctx_.http_put = [this](const std::string& url, const std::string& body) {
      std::lock_guard<std::mutex> lock(puts_mu_);
      puts_.emplace_back(url, body);
    };
    RegisterAll(*router_, ctx_);
  }
  ~TestEnv() {
    engine_.OpenGate();
    queue_->Shutdown();
  }

  static ServerConfig DefaultConfig() {
    ServerConfig c;
    c.data_dir = ":memory:";
    c.queue_size = 8;
    c.callback_allowlist = {"127.0.0.1:9"};
    return c;
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    EXPECT_TRUE(ParseTarget(target, &req.path, &req.query)) << target;
    for (const auto& [k, v] : headers) {
      req.headers[ToLower(k)] = v;
    }
    if (!req.headers.count("content-type") && !body.empty()) {
      req.headers["content-type"] = "application/json";
    }
    req.body = body;
    req.remote_ip = "127.0.0.1";
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    router_->Handle(req, [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "no answer to " << method << " " << target;
      return HttpResponse{};
    }
    return future.get();
  }

  // With one worker and queue_size 1: a "slow" job running and one waiting, so the next
  // submission finds the queue full. OpenGate() (or the destructor) lets them finish.
  void FillQueueWithSlowJobs() {
    json slow = {{"language", "slow"}, {"files", {{{"name", "m"}, {"content", ""}}}}};
    ASSERT_EQ(Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
    engine_.WaitForSlow(1);
    ASSERT_EQ(Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
  }

  json CallJson(const std::string& method, const std::string& target, const std::string& body,
                int expect_status) {
    HttpResponse r = Call(method, target, body);
    EXPECT_EQ(r.status, expect_status) << method << " " << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  engine::testing::FakeEngine& engine() { return engine_; }
  JobService& jobs() { return *jobs_; }
  store::Store& store() { return *store_; }
  Router& router() { return *router_; }
  ApiContext& ctx() { return ctx_; }
  ServerConfig& config() { return config_; }
  engine::JobQueue& queue() { return *queue_; }
  std::vector<std::pair<std::string, std::string>> puts() {
    std::lock_guard<std::mutex> lock(puts_mu_);
    return puts_;
  }

 private:
  ServerConfig config_;
  engine::testing::FakeEngine engine_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::JobQueue> queue_;
  Metrics metrics_;
  TimerQueue timers_;
  std::unique_ptr<JobService> jobs_;
  std::unique_ptr<Router> router_;
  ApiContext ctx_;
  std::atomic<bool> shutting_down_{false};
  std::mutex puts_mu_;
  std::vector<std::pair<std::string, std::string>> puts_;
};

// Polls GET /api/v1/jobs/{id} until done (or 10 s).
inline json WaitDone(TestEnv& env, const std::string& id) {
  for (int i = 0; i < 1000; ++i) {
    HttpResponse r = env.Call("GET", "/api/v1/jobs/" + id);
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.value("state", "") == "done") {
      return j;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return json();
}

}  // namespace runbox::server::testing
