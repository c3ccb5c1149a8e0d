// The server over real sockets (Beast), with the fake engine: HTTP/1.1 keep-alive, HEAD, body
// limits, slow clients, WebSockets, callbacks and graceful shutdown. The real engine and sandbox
// are exercised by tests/server (integration).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "server/codec.h"
#include "server/serve.h"
#include "server/testing/fake_engine.h"

namespace runbox::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runbox-http-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    spdlog::set_level(spdlog::level::warn);
  }
  void TearDown() override {
    if (engine_) {
      engine_->OpenGate();
    }
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start(ServerConfig cfg = {}) {
    cfg.listen = "127.0.0.1:0";
    cfg.data_dir = dir_ + "/data";
    auto engine = std::make_unique<engine::testing::FakeEngine>(1);
    engine_ = engine.get();
    auto s = Server::Create(cfg, std::move(engine));
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    auto port = server_->Start();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    ASSERT_NE(port_, 0);
  }

  http::response<http::string_body> Request(http::verb method, const std::string& target,
                                            const std::string& body = "",
                                            tcp::socket* reuse = nullptr) {
    net::io_context ioc;
    tcp::socket own(ioc);
    tcp::socket& sock = reuse ? *reuse : own;
    if (!reuse) {
      sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    }
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(sock, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (method == http::verb::head) {
      http::response_parser<http::string_body> p;
      p.skip(true);
      http::read(sock, buf, p);
      return p.release();
    }
    http::read(sock, buf, res);
    return res;
  }

  std::string dir_;
  engine::testing::FakeEngine* engine_ = nullptr;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

const char* kEcho = R"({"language":"echo","files":[{"name":"m","content":"x"}],"stdin":"hi\n"})";

TEST_F(ServerFixture, HttpBasicsAndKeepAlive) {
  Start();
  auto h = Request(http::verb::get, "/healthz");
  EXPECT_EQ(h.result_int(), 200);
  EXPECT_EQ(json::parse(h.body())["status"], "ok");
  EXPECT_EQ(h[http::field::server], "runbox");

  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  auto r1 = Request(http::verb::post, "/api/v1/runs", kEcho, &sock);
  ASSERT_EQ(r1.result_int(), 200) << r1.body();
  EXPECT_EQ(json::parse(r1.body())["cases"][0]["result"]["stdout"], "hi\n");
  auto r2 = Request(http::verb::get, "/api/v1/languages", "", &sock);  // same connection
  EXPECT_EQ(r2.result_int(), 200);

  auto head = Request(http::verb::head, "/api/v1/languages");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], std::to_string(r2.body().size()));
}

TEST_F(ServerFixture, BodyLimitIs413) {
  ServerConfig cfg;
  cfg.max_body_bytes = 2048;
  Start(cfg);
  auto r = Request(http::verb::post, "/api/v1/runs", std::string(5000, 'x'));
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(json::parse(r.body())["error"]["code"], "payload_too_large");
}

TEST_F(ServerFixture, SlowClientIsDropped) {
  ServerConfig cfg;
  cfg.header_timeout = std::chrono::milliseconds(300);
  Start(cfg);
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finishes the headers
  net::write(sock, net::buffer(partial));
  auto start = std::chrono::steady_clock::now();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(sock, buf, res, ec);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5));
  if (!ec) {
    EXPECT_EQ(res.result_int(), 408);
  }
}

TEST_F(ServerFixture, NativeWebSocketRun) {
  Start();
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  ws.handshake("127.0.0.1", "/api/v1/ws/run");
  ws.text(true);
  ws.write(net::buffer(std::string(
      R"({"type":"start","language":"echo","files":[{"name":"m","content":"x"}]})")));
  ws.write(net::buffer(std::string(R"({"type":"stdin","data":"ping\n"})")));
  ws.write(net::buffer(std::string(R"({"type":"stdin_close"})")));
  std::string out;
  json last;
  for (;;) {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) {
      EXPECT_EQ(ec, websocket::error::closed);
      break;
    }
    json m = json::parse(beast::buffers_to_string(buf.data()));
    if (m["type"] == "stdout") {
      out += m["data"].get<std::string>();
    }
    last = m;
  }
  EXPECT_EQ(out, "ping\n");
  EXPECT_EQ(last["type"], "exit");
  EXPECT_EQ(ws.reason().code, 1000);
}

TEST_F(ServerFixture, PistonWebSocketClosesWith4999) {
  Start();
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  ws.handshake("127.0.0.1", "/api/v2/connect");
  ws.write(net::buffer(std::string(
      R"({"type":"init","language":"echo","files":[{"content":"exit 3"}]})")));
  ws.write(net::buffer(std::string(R"({"type":"data","stream":"stdin","data":"a\n"})")));
  std::vector<json> msgs;
  for (int i = 0; i < 3; ++i) {  // runtime, stage run, data; then it waits for stdin EOF
    beast::flat_buffer buf;
    ws.read(buf);
    msgs.push_back(json::parse(beast::buffers_to_string(buf.data())));
  }
  EXPECT_EQ(msgs[0]["type"], "runtime");
  EXPECT_EQ(msgs[1]["type"], "stage");
  ws.write(net::buffer(std::string(R"({"type":"signal","signal":"SIGTERM"})")));
  for (;;) {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) {
      break;
    }
  }
  EXPECT_EQ(ws.reason().code, 4999);
}

TEST_F(ServerFixture, UnknownWebSocketPathIs404) {
  Start();
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  http::request<http::string_body> req(http::verb::get, "/api/v1/ws/nothing", 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "not_found");
}

TEST_F(ServerFixture, GracefulShutdownFinishesRunningAndKeepsQueued) {
  Start();
  // One slot: the slow run holds it, the echo job waits behind it.
  std::string slow = R"({"language":"slow","files":[{"name":"m","content":""}]})";
  auto slow_reply = std::async(std::launch::async, [&] {
    return Request(http::verb::post, "/api/v1/runs", slow);
  });
  engine_->WaitForSlow(1);
  auto queued = Request(http::verb::post, "/api/v1/jobs", kEcho);
  ASSERT_EQ(queued.result_int(), 202);
  std::string queued_id = json::parse(queued.body())["id"];
  std::thread stopper([&] { server_->Shutdown(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  engine_->OpenGate();
  auto r = slow_reply.get();
  stopper.join();
  EXPECT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(json::parse(r.body())["status"], "OK");
  server_.reset();

  // Restart on the same data dir: the saved job runs.
  Start();
  json done;
  for (int i = 0; i < 500; ++i) {
    done = json::parse(Request(http::verb::get, "/api/v1/jobs/" + queued_id).body());
    if (done["state"] == "done") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(done["state"], "done");
  EXPECT_EQ(done["cases"][0]["result"]["stdout"], "hi\n");
}

TEST_F(ServerFixture, Judge0CallbackIsDelivered) {
  // A one-shot HTTP listener standing in for the client's callback endpoint.
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  uint16_t cb_port = acceptor.local_endpoint().port();
  auto received = std::async(std::launch::async, [&] {
    tcp::socket s = acceptor.accept();
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(s, buf, req);
    http::response<http::string_body> res(http::status::ok, 11);
    res.prepare_payload();
    http::write(s, res);
    return std::make_pair(std::string(req.method_string()), req.body());
  });
  ServerConfig cfg;
  cfg.callback_allowlist = {"127.0.0.1:" + std::to_string(cb_port)};
  Start(cfg);
  json body = {{"source_code", "x"},
               {"language_id", 75},
               {"stdin", "cb"},
               {"callback_url", "http://127.0.0.1:" + std::to_string(cb_port) + "/done"}};
  auto r = Request(http::verb::post, "/submissions", body.dump());
  ASSERT_EQ(r.result_int(), 201) << r.body();
  ASSERT_EQ(received.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [method, payload] = received.get();
  EXPECT_EQ(method, "PUT");
  json j = json::parse(payload);
  EXPECT_EQ(j["token"], json::parse(r.body())["token"]);
  EXPECT_EQ(j["stdout"], Base64Encode("cb"));
  EXPECT_EQ(j["status"]["id"], 3);
}

}  // namespace
}  // namespace runbox::server
