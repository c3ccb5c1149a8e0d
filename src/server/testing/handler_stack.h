#pragma once
// HandlerStack: the server's whole handler stack (Router, every API, JobService, the real
// in-process queue, an in-memory SQLite store, metrics, timers) over a FakeEngine, wired the way
// serve.cc wires the real one. Both the unit tests' TestEnv (test_env.h) and the fuzz targets'
// FuzzEnv (tests/fuzz/fuzz_env.h) are built on it; it needs no GoogleTest.

#include <atomic>
#include <memory>
#include <utility>

#include "engine/queue.h"
#include "server/api.h"
#include "server/router.h"
#include "server/testing/fake_engine.h"
#include "store/sqlite_store.h"

namespace runbox::server::testing {

class HandlerStack {
 public:
  // `http_put` receives what the server would PUT/POST to a callback URL (Judge0's callbacks).
  HandlerStack(ServerConfig config, int workers,
               std::function<void(const std::string&, const std::string&)> http_put)
      : config_(std::move(config)) {
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
    ctx_.http_put = std::move(http_put);
    RegisterAll(*router_, ctx_);
  }
  ~HandlerStack() {
    engine_.OpenGate();
    queue_->Shutdown();
  }
  HandlerStack(const HandlerStack&) = delete;
  HandlerStack& operator=(const HandlerStack&) = delete;

  engine::testing::FakeEngine& engine() { return engine_; }
  JobService& jobs() { return *jobs_; }
  store::Store& store() { return *store_; }
  Router& router() { return *router_; }
  ApiContext& ctx() { return ctx_; }
  ServerConfig& config() { return config_; }
  engine::JobQueue& queue() { return *queue_; }

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
};

}  // namespace runbox::server::testing
