#pragma once
// FuzzEnv: the server's whole handler stack (src/server/testing/handler_stack.h: Router, every
// API, JobService, the real in-process queue, an in-memory SQLite store) over the FakeEngine,
// built once per fuzzer process.
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

#include "fuzz_finding.h"
#include "server/testing/handler_stack.h"

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

  server::Router& router() { return stack_.router(); }
  server::ApiContext& ctx() { return stack_.ctx(); }
  engine::testing::FakeEngine& engine() { return stack_.engine(); }
  const server::ServerConfig& config() { return stack_.config(); }

 private:
  FuzzEnv() : stack_(Config(), 2, [](const std::string&, const std::string&) {}) {
    stack_.engine().OpenGate();  // "slow" runs finish at once
  }

  // Called first: the trap is in place before the stack logs anything.
  static server::ServerConfig Config() {
    auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<ThrowTrap>());
    logger->set_level(spdlog::level::err);
    spdlog::set_default_logger(logger);
    server::ServerConfig c;
    c.data_dir = ":memory:";
    c.queue_size = 16;
    c.max_body_bytes = 1 << 20;
    c.callback_allowlist = {"127.0.0.1:9"};
    c.ws_idle_timeout = std::chrono::milliseconds(2000);
    return c;
  }

  server::testing::HandlerStack stack_;  // Judge0 callbacks: dropped
};

}  // namespace runbox::fuzz
