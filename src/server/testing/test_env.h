#pragma once
// TestEnv: the server's handlers wired to a FakeEngine, an in-memory store and a real queue
// (HandlerStack), with a synchronous Call() for unit tests (no sockets).

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <future>
#include <memory>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/testing/handler_stack.h"

namespace runbox::server::testing {

class TestEnv {
 public:
  explicit TestEnv(ServerConfig config = DefaultConfig(), int workers = 2)
      : stack_(std::move(config), workers,
               [this](const std::string& url, const std::string& body) {
                 std::lock_guard<std::mutex> lock(puts_mu_);
                 puts_.emplace_back(url, body);
               }) {
    spdlog::set_level(spdlog::level::warn);
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
    stack_.router().Handle(req, [promise](HttpResponse r) { promise->set_value(std::move(r)); });
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
    engine().WaitForSlow(1);
    ASSERT_EQ(Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
  }

  json CallJson(const std::string& method, const std::string& target, const std::string& body,
                int expect_status) {
    HttpResponse r = Call(method, target, body);
    EXPECT_EQ(r.status, expect_status) << method << " " << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  engine::testing::FakeEngine& engine() { return stack_.engine(); }
  JobService& jobs() { return stack_.jobs(); }
  store::Store& store() { return stack_.store(); }
  Router& router() { return stack_.router(); }
  ApiContext& ctx() { return stack_.ctx(); }
  ServerConfig& config() { return stack_.config(); }
  engine::JobQueue& queue() { return stack_.queue(); }
  std::vector<std::pair<std::string, std::string>> puts() {
    std::lock_guard<std::mutex> lock(puts_mu_);
    return puts_;
  }

 private:
  // Before the stack: its queue's workers may call http_put until the stack is gone.
  std::mutex puts_mu_;
  std::vector<std::pair<std::string, std::string>> puts_;
  HandlerStack stack_;
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
