// Interactive runs (native and Piston WebSocket protocols) against a fake connection.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>

#include "server/interactive.h"
#include "server/testing/test_env.h"

namespace runbox::server {
namespace {

using ::testing::HasSubstr;
using testing::TestEnv;

class FakeConnection : public WsConnection {
 public:
  void Send(std::string text) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return;
    }
    messages_.push_back(json::parse(text));
    cv_.notify_all();
  }
  void Close(int code, std::string reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return;
    }
    closed_ = true;
    code_ = code;
    reason_ = reason;
    cv_.notify_all();
  }
  // Waits until closed (or 10 s) and returns every message.
  std::vector<json> WaitClosed() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return closed_; });
    EXPECT_TRUE(closed_) << "connection was not closed";
    return messages_;
  }
  // Waits for a message of `type` (and, for Piston, `stage`).
  bool WaitFor(const std::string& type) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& m : messages_) {
        if (m.value("type", "") == type) {
          return true;
        }
      }
      return closed_;
    });
  }
  int code() {
    std::lock_guard<std::mutex> lock(mu_);
    return code_;
  }
  std::string reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> messages_;
  bool closed_ = false;
  int code_ = 0;
  std::string reason_;
};

std::string Collect(const std::vector<json>& msgs, const std::string& type,
                    const std::string& field = "data") {
  std::string out;
  for (const auto& m : msgs) {
    if (m.value("type", "") == type) {
      out += m.value(field, "");
    }
  }
  return out;
}

TEST(NativeWsTest, EchoesStdinUntilClosed) {
  TestEnv env;
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"start","language":"echo","files":[{"name":"m","content":"x"}],
                   "stdin":"first\n"})");
  h->OnMessage(R"({"type":"stdin","data":"second\n"})");
  h->OnMessage(R"({"type":"stdin_close"})");
  auto msgs = conn->WaitClosed();
  EXPECT_EQ(conn->code(), 1000);
  EXPECT_EQ(Collect(msgs, "stdout"), "first\nsecond\n");
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.front()["type"], "started");
  EXPECT_EQ(msgs.back()["type"], "exit");
  EXPECT_EQ(msgs.back()["status"], "OK");
  EXPECT_EQ(msgs.back()["result"]["exit_code"], 0);
  h->OnClose();
}

// A native run of the fake "echo" language, with "a\n" sent to its stdin.
std::shared_ptr<WsHandler> StartEchoAndSendA(TestEnv& env,
                                             const std::shared_ptr<FakeConnection>& conn) {
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"start","language":"echo","files":[{"name":"m","content":"x"}]})");
  h->OnMessage(R"({"type":"stdin","data":"a\n"})");
  return h;
}

TEST(NativeWsTest, KillAndSigkillEndTheRun) {
  for (const char* ending : {R"({"type":"kill"})", R"({"type":"signal","signal":"SIGKILL"})"}) {
    TestEnv env;
    auto conn = std::make_shared<FakeConnection>();
    auto h = StartEchoAndSendA(env, conn);
    ASSERT_TRUE(conn->WaitFor("stdout"));
    h->OnMessage(ending);
    auto msgs = conn->WaitClosed();
    EXPECT_EQ(msgs.back()["type"], "exit") << ending;
    EXPECT_EQ(msgs.back()["result"]["status"], "SG") << ending;
    EXPECT_EQ(msgs.back()["result"]["message"], "killed on request") << ending;
    h->OnClose();
  }
}

// SIGINT and SIGTERM go to the program, which may handle them (the fake echo program reports
// them on stderr and goes on); the run ends when the program does.
TEST(NativeWsTest, SigintReachesTheProgramWhichGoesOn) {
  TestEnv env;
  auto conn = std::make_shared<FakeConnection>();
  auto h = StartEchoAndSendA(env, conn);
  ASSERT_TRUE(conn->WaitFor("stdout"));
  h->OnMessage(R"({"type":"signal","signal":"SIGINT"})");
  ASSERT_TRUE(conn->WaitFor("stderr"));
  h->OnMessage(R"({"type":"stdin","data":"b\n"})");
  h->OnMessage(R"({"type":"stdin_close"})");
  auto msgs = conn->WaitClosed();
  EXPECT_EQ(Collect(msgs, "stdout"), "a\nb\n");
  EXPECT_EQ(Collect(msgs, "stderr"), "signal 2\n");
  EXPECT_EQ(msgs.back()["type"], "exit");
  EXPECT_EQ(msgs.back()["status"], "OK");
  h->OnClose();
}

TEST(NativeWsTest, IdleLimitIsTle) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.ws_idle_timeout = std::chrono::milliseconds(200);
  TestEnv env(cfg);
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"start","language":"echo","files":[{"name":"m","content":"x"}]})");
  auto msgs = conn->WaitClosed();
  EXPECT_EQ(msgs.back()["type"], "exit");
  EXPECT_EQ(msgs.back()["status"], "TLE");
  EXPECT_THAT(msgs.back()["result"]["message"].get<std::string>(), HasSubstr("idle"));
  h->OnClose();
}

TEST(NativeWsTest, CompileErrorAndProtocolErrors) {
  TestEnv env;
  {
    auto conn = std::make_shared<FakeConnection>();
    auto h = MakeNativeRunHandler(env.ctx());
    h->OnOpen(conn);
    h->OnMessage(R"({"type":"start","language":"cc","files":[{"name":"m.c","content":"syntax error"}]})");
    auto msgs = conn->WaitClosed();
    ASSERT_GE(msgs.size(), 2u);
    EXPECT_EQ(msgs[msgs.size() - 2]["type"], "compile");
    EXPECT_EQ(msgs.back()["status"], "CE");
    h->OnClose();
  }
  struct Case {
    std::string first;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "type"},
           {R"({"type":"stdin","data":"x"})", "type"},
           {R"({"type":"start","language":"echo"})", "files"},
           {R"({"type":"start","language":"nope","files":[{"name":"m","content":""}]})",
            "language"},
           {R"({"type":"start","language":"echo","files":[{"name":"m","content":""}],"tests":[{}]})",
            "tests"}}) {
    auto conn = std::make_shared<FakeConnection>();
    auto h = MakeNativeRunHandler(env.ctx());
    h->OnOpen(conn);
    h->OnMessage(c.first);
    auto msgs = conn->WaitClosed();
    ASSERT_EQ(msgs.size(), 1u) << c.first;
    EXPECT_EQ(msgs[0]["type"], "error");
    EXPECT_EQ(msgs[0]["error"]["field"], c.field) << c.first;
    EXPECT_EQ(conn->code(), 1008);
    h->OnClose();
  }
}

TEST(NativeWsTest, ClientGoneCancelsTheRun) {
  TestEnv env;
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"start","language":"echo","files":[{"name":"m","content":"x"}]})");
  h->OnMessage(R"({"type":"stdin","data":"a\n"})");
  ASSERT_TRUE(conn->WaitFor("stdout"));
  h->OnClose();
  // The run ends (cancelled) and frees its worker: a new run goes through.
  json j = env.CallJson("POST", "/api/v1/runs",
                        R"({"language":"echo","files":[{"name":"m","content":"x"}]})", 200);
  EXPECT_EQ(j["status"], "OK");
  for (int i = 0; i < 200 && env.queue().running() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(env.queue().running(), 0u);
}

TEST(PistonWsTest, InitDataExit) {
  TestEnv env;
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakePistonConnectHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"init","language":"cc","version":"*","files":[{"content":"x"}]})");
  ASSERT_TRUE(conn->WaitFor("runtime"));
  h->OnMessage(R"({"type":"data","stream":"stdin","data":"hello\n"})");
  ASSERT_TRUE(conn->WaitFor("data"));
  h->OnMessage(R"({"type":"signal","signal":"SIGKILL"})");
  auto msgs = conn->WaitClosed();
  EXPECT_EQ(conn->code(), 4999);
  EXPECT_EQ(conn->reason(), "Job Completed");
  ASSERT_GE(msgs.size(), 5u);
  EXPECT_EQ(msgs[0], json({{"type", "runtime"}, {"language", "cc"}, {"version", "1.2.3"}}));
  EXPECT_EQ(msgs[1], json({{"type", "stage"}, {"stage", "compile"}}));
  EXPECT_EQ(msgs[2]["type"], "exit");
  EXPECT_EQ(msgs[2]["stage"], "compile");
  EXPECT_EQ(msgs[3], json({{"type", "stage"}, {"stage", "run"}}));
  EXPECT_EQ(Collect(msgs, "data"), "hello\n");
  EXPECT_EQ(msgs.back()["type"], "exit");
  EXPECT_EQ(msgs.back()["stage"], "run");
  EXPECT_EQ(msgs.back()["signal"], "SIGKILL");
  h->OnClose();
}

TEST(PistonWsTest, CloseCodes) {
  TestEnv env;
  struct Case {
    std::vector<std::string> messages;
    int code;
  };
  std::vector<Case> cases = {
      {{R"({"type":"data","stream":"stdin","data":"x"})"}, 4003},
      {{R"({"type":"signal","signal":"SIGKILL"})"}, 4003},
      {{R"({"type":"init","language":"echo","files":[{"content":""}]})",
        R"({"type":"init","language":"echo","files":[{"content":""}]})"},
       4000},
      {{R"({"type":"init","language":"echo","files":[{"content":""}]})",
        R"({"type":"data","stream":"stdout","data":"x"})"},
       4004},
      {{R"({"type":"init","language":"echo","files":[{"content":""}]})",
        R"({"type":"signal","signal":"SIGNOPE"})"},
       4005},
      {{R"({"type":"init","language":"nope","files":[{"content":""}]})"}, 4002},
  };
  for (const auto& c : cases) {
    auto conn = std::make_shared<FakeConnection>();
    auto h = MakePistonConnectHandler(env.ctx());
    h->OnOpen(conn);
    for (const auto& m : c.messages) {
      h->OnMessage(m);
    }
    auto msgs = conn->WaitClosed();
    EXPECT_EQ(conn->code(), c.code) << c.messages.back();
    if (c.code == 4002) {
      EXPECT_EQ(msgs.back()["type"], "error");
      EXPECT_THAT(msgs.back()["message"].get<std::string>(), HasSubstr("runtime is unknown"));
    }
    h->OnClose();
  }
  // No init within a second: 4001.
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakePistonConnectHandler(env.ctx());
  h->OnOpen(conn);
  conn->WaitClosed();
  EXPECT_EQ(conn->code(), 4001);
  EXPECT_EQ(conn->reason(), "Initialization Timeout");
  h->OnClose();
}


// Issue 12: a program that never reads its stdin must not make the server buffer every stdin
// message (1,024 x 1 MiB took it to 1 GiB). Past the cap the session ends with a clear error.
TEST(NativeWsTest, StdinPastTheBufferCapEndsTheSession) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.ws_stdin_buffer_bytes = 64 * 1024;
  TestEnv env(cfg);
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  // "slow" never reads its stdin (it waits on the gate).
  h->OnMessage(R"({"type":"start","language":"slow","files":[{"name":"m","content":""}]})");
  env.engine().WaitForSlow(1);
  const std::string chunk = json{{"type", "stdin"}, {"data", std::string(16 * 1024, 'x')}}.dump();
  // The pipe takes 64 KiB, the buffer 64 KiB more; a few more messages cannot fit.
  for (int i = 0; i < 20; ++i) {
    h->OnMessage(chunk);
  }
  auto msgs = conn->WaitClosed();
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back()["type"], "error");
  EXPECT_EQ(msgs.back()["error"]["code"], "limit_exceeded");
  EXPECT_THAT(msgs.back()["error"]["message"].get<std::string>(),
              HasSubstr("waiting for the program to read them"));
  EXPECT_EQ(conn->code(), 1009);
  h->OnClose();
}

TEST(PistonWsTest, StdinPastTheBufferCapEndsTheSession) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.ws_stdin_buffer_bytes = 64 * 1024;
  TestEnv env(cfg);
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakePistonConnectHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(R"({"type":"init","language":"slow","files":[{"content":""}]})");
  env.engine().WaitForSlow(1);
  const std::string chunk =
      json{{"type", "data"}, {"stream", "stdin"}, {"data", std::string(16 * 1024, 'x')}}.dump();
  for (int i = 0; i < 20; ++i) {
    h->OnMessage(chunk);
  }
  auto msgs = conn->WaitClosed();
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back()["type"], "error");
  EXPECT_THAT(msgs.back()["message"].get<std::string>(), HasSubstr("stdin: more than 65536"));
  EXPECT_EQ(conn->code(), 4002);
  h->OnClose();
}

TEST(InteractiveRunTest, WriteStdinRefusesPastTheCap) {
  auto run = InteractiveRun::Create();
  run->set_max_buffered_stdin(10);
  // Not started: nothing drains the buffer, so the arithmetic is exact.
  EXPECT_TRUE(run->WriteStdin(std::string(6, 'a')));
  EXPECT_TRUE(run->WriteStdin(std::string(4, 'b')));
  EXPECT_FALSE(run->WriteStdin("c"));
  run->Kill(InteractiveRun::Ending::kClientGone);  // frees the buffer; later writes go nowhere
  EXPECT_TRUE(run->WriteStdin(std::string(100, 'd')));
}

// Issue 12: Piston's WebSocket once died in std::terminate on a bad hex file (std::stoi threw on
// an I/O thread); every message is parsed with the depth cap too.
TEST(PistonWsTest, BadHexAndDeepMessagesAreErrorsNotCrashes) {
  TestEnv env;
  for (const std::string& init :
       {std::string(R"({"type":"init","language":"echo","files":[{"content":"x"},
                       {"name":"d","content":"zz","encoding":"hex"}]})"),
        std::string(R"({"type":"init","language":"echo","files":)") +
            std::string(100000, '[') + std::string(100000, ']') + "}"}) {
    auto conn = std::make_shared<FakeConnection>();
    auto h = MakePistonConnectHandler(env.ctx());
    h->OnOpen(conn);
    h->OnMessage(init);
    auto msgs = conn->WaitClosed();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0]["type"], "error");
    EXPECT_THAT(msgs[0]["message"].get<std::string>(),
                ::testing::AnyOf(HasSubstr("not valid hex"), HasSubstr("deeper than 64")));
    EXPECT_EQ(conn->code(), 4002);
    h->OnClose();
  }
}

TEST(NativeWsTest, DeepMessageIsAnError) {
  TestEnv env;
  auto conn = std::make_shared<FakeConnection>();
  auto h = MakeNativeRunHandler(env.ctx());
  h->OnOpen(conn);
  h->OnMessage(std::string(100000, '[') + std::string(100000, ']'));
  auto msgs = conn->WaitClosed();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_THAT(msgs[0]["error"]["message"].get<std::string>(), HasSubstr("deeper than 64"));
  EXPECT_EQ(conn->code(), 1008);
  h->OnClose();
}

}  // namespace
}  // namespace runbox::server
