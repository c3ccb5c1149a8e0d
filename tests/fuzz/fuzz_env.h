#pragma once
// FuzzEnv: the server's whole handler stack (Router, every API, JobService, the real in-process
// queue, an in-memory SQLite store) over the FakeEngine, built once per fuzzer process, the
// way src/server/testing/test_env.h builds it for the unit tests (that one needs GoogleTest).
//
// What the fuzz targets treat as a finding besides a sanitizer report: a handler that throws
// (the Router's exception boundary turns it into a 500 and logs "handler threw"; a request
// must get the 4xx that fits, never reach a throwing call), and a request that is never
// answered or answered twice.

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "engine/queue.h"
#include "fuzz_finding.h"
#include "server/api.h"
#include "server/router.h"
#include "server/testing/fake_engine.h"
#include "store/sqlite_store.h"

namespace runbox::fuzz {

using server::json;

// Aborts (a finding, with the log line) on any log line that reports a caught throw.
class ThrowTrap : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    if (text.find("threw") != std::string::npos) {
      std::fprintf(stderr, "FUZZ FINDING: a handler threw: %s\n", text.c_str());
      std::abort();
    }
  }
  void flush_() override {}
};

class FuzzEnv {
 public:
  static FuzzEnv& Get() {
    // Never destroyed: worker threads outlive the last input.
    static FuzzEnv* env = new FuzzEnv();
    return *env;
  }

  server::Router& router() { return *router_; }
  server::ApiContext& ctx() { return ctx_; }
  engine::testing::FakeEngine& engine() { return engine_; }
  const server::ServerConfig& config() const { return config_; }

 private:
  FuzzEnv() {
    auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<ThrowTrap>());
    logger->set_level(spdlog::level::err);
    spdlog::set_default_logger(logger);
    config_.data_dir = ":memory:";
    config_.queue_size = 16;
    config_.max_body_bytes = 1 << 20;
    config_.callback_allowlist = {"127.0.0.1:9"};
    config_.ws_idle_timeout = std::chrono::milliseconds(2000);
    store_ = std::move(store::SqliteStore::Open(":memory:").value());
    queue_ = engine::MakeInProcessQueue(&engine_, {2, config_.queue_size});
    jobs_ = std::make_unique<server::JobService>(&engine_, store_.get(), queue_.get(), &metrics_,
                                                 server::PolicyOf(config_));
    router_ = std::make_unique<server::Router>(config_, &metrics_);
    ctx_.config = &config_;
    ctx_.jobs = jobs_.get();
    ctx_.store = store_.get();
    ctx_.metrics = &metrics_;
    ctx_.timers = &timers_;
    ctx_.shutting_down = &shutting_down_;
    ctx_.http_put = [](const std::string&, const std::string&) {};  // Judge0 callbacks: dropped
    server::RegisterAll(*router_, ctx_);
    engine_.OpenGate();  // "slow" runs finish at once
  }

  server::ServerConfig config_;
  engine::testing::FakeEngine engine_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::JobQueue> queue_;
  server::Metrics metrics_;
  server::TimerQueue timers_;
  std::unique_ptr<server::JobService> jobs_;
  std::unique_ptr<server::Router> router_;
  server::ApiContext ctx_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace runbox::fuzz
