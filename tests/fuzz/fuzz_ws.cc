// Fuzzes the two interactive WebSocket protocols (server/interactive.h): the native
// /api/v1/ws/run session and Piston's /api/v2/connect, each driven by arbitrary client
// messages against the FakeEngine, with the real JobService, queue and timers.
//
// Input: one selector byte (even: native, odd: Piston), then the client's messages, one per
// line. Besides sanitizer reports, findings are: a handler that throws (fuzz_env.h), a frame
// the server sends that is not a JSON object, a close code outside 1000..4999, and a run that
// is still queued or running 10 s after its client went away.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fuzz_env.h"
#include "server/interactive.h"

namespace {

using runbox::fuzz::Finding;
using runbox::fuzz::FuzzEnv;
using runbox::server::json;

class CheckingConnection : public runbox::server::WsConnection {
 public:
  void Send(std::string text) override {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      Finding("the server sent a frame that is not a JSON object: " + text.substr(0, 200));
    }
  }
  void Close(int code, std::string reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (code < 1000 || code > 4999) {
      Finding("close code " + std::to_string(code) + ": " + reason);
    }
  }

 private:
  std::mutex mu_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  FuzzEnv& env = FuzzEnv::Get();
  std::shared_ptr<runbox::server::WsHandler> handler =
      data[0] % 2 == 0 ? runbox::server::MakeNativeRunHandler(env.ctx())
                       : runbox::server::MakePistonConnectHandler(env.ctx());
  handler->OnOpen(std::make_shared<CheckingConnection>());
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    handler->OnMessage(text.substr(pos, end - pos));
    pos = end + 1;
  }
  handler->OnClose();

  // The client is gone: its run must end, so that no input leaves work behind for the next.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    runbox::server::QueueGauges g = env.ctx().jobs->Gauges();
    if (g.waiting == 0 && g.running == 0 && env.engine().busy_slots() == 0) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Finding("an interactive run still queued or running 10 s after its client left");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 0;
}
