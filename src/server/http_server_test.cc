// The server over real sockets (Beast), with the fake engine: HTTP/1.1 keep-alive, HEAD, body
// limits, slow clients, WebSockets, callbacks and graceful shutdown. The real engine and sandbox
// are exercised by tests/server (integration).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
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

  size_t server_connections() const;

  std::string dir_;
  std::ostringstream log_;
  engine::testing::FakeEngine* engine_ = nullptr;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

size_t ServerFixture::server_connections() const { return server_->connections(); }

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


// --- issue 12: a hardened server around the hardened box --------------------------------------

namespace issue12 {

// A listener on loopback that records every byte it receives, on every connection, answering
// each request it sees with 200. Stands in for a Judge0 client's callback endpoint.
class RecordingListener {
 public:
  explicit RecordingListener(const std::string& address = "127.0.0.1")
      : acceptor_(ioc_, tcp::endpoint(net::ip::make_address(address), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Loop(); });
  }
  ~RecordingListener() {
    stop_ = true;
    beast::error_code ec;
    // Wake the blocking accept with a connection of our own.
    tcp::socket s(ioc_);
    s.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  // Everything received so far, once at least `requests` requests have arrived (or after `wait`).
  std::string Received(size_t requests, std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [&] { return requests_ >= requests; });
    return data_;
  }

 private:
  void Loop() {
    while (!stop_) {
      beast::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec || stop_) {
        return;
      }
      std::string got;
      char buf[4096];
      // Read until the peer is quiet for 300 ms: a smuggled second request would follow the first.
      s.non_blocking(false);
      timeval tv{0, 300000};
      setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      for (;;) {
        ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
        if (n <= 0) {
          break;
        }
        got.append(buf, static_cast<size_t>(n));
        if (got.find("\r\n\r\n") != std::string::npos) {
          std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
          (void)::send(s.native_handle(), ok.data(), ok.size(), MSG_NOSIGNAL);
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      data_ += got;
      size_t pos = 0;
      while ((pos = got.find(" HTTP/1.1\r\n", pos)) != std::string::npos) {
        ++requests_;
        pos += 10;
      }
      cv_.notify_all();
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string data_;
  size_t requests_ = 0;
};

}  // namespace issue12

TEST_F(ServerFixture, CallbackUrlCannotSplitTheRequest) {
  issue12::RecordingListener listener;
  std::string base = "http://127.0.0.1:" + std::to_string(listener.port());
  ServerConfig cfg;
  cfg.callback_allowlist = {"127.0.0.1:" + std::to_string(listener.port())};
  Start(cfg);
  // CR/LF, a space, a tab, NUL and a non-ASCII byte: each refused at submission, so nothing is
  // ever sent for them.
  const std::vector<std::string> hostile = {
      base + "/done HTTP/1.1\r\nX-Injected: 1\r\n\r\nDELETE /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
      base + "/done\nDELETE /smuggled",
      base + "/a b",
      base + "/a\tb",
      base + "/caf\xc3\xa9",
      base + std::string("/nul\0x", 6),
      "http://user@127.0.0.1:" + std::to_string(listener.port()) + "/done",
      "http://127.0.0.1:" + std::to_string(listener.port()) + "\\@evil.test/",
  };
  for (const auto& url : hostile) {
    json body = {{"source_code", "x"}, {"language_id", 75}, {"callback_url", url}};
    auto r = Request(http::verb::post, "/submissions", body.dump());
    EXPECT_EQ(r.result_int(), 422) << json(url).dump() << " " << r.body();
  }
  // A fragment is cut by the check and by the sender alike: the PUT goes to /done, and the
  // request line carries no '#'.
  json ok = {{"source_code", "x"},
             {"language_id", 75},
             {"stdin", "cb"},
             {"callback_url", base + "/done?x=1#frag DELETE /smuggled"}};
  auto r = Request(http::verb::post, "/submissions", ok.dump());
  EXPECT_EQ(r.result_int(), 422) << "a space in the fragment is still a space: " << r.body();
  ok["callback_url"] = base + "/done?x=1#frag";
  r = Request(http::verb::post, "/submissions", ok.dump());
  ASSERT_EQ(r.result_int(), 201) << r.body();
  std::string got = listener.Received(1, std::chrono::seconds(10));
  EXPECT_THAT(got, HasSubstr("PUT /done?x=1 HTTP/1.1\r\n"));
  EXPECT_THAT(got, ::testing::Not(HasSubstr("#")));
  EXPECT_THAT(got, ::testing::Not(HasSubstr("smuggled")));
  EXPECT_THAT(got, ::testing::Not(HasSubstr("X-Injected")));
  size_t puts = 0;
  for (size_t p = got.find("PUT "); p != std::string::npos; p = got.find("PUT ", p + 1)) {
    ++puts;
  }
  EXPECT_EQ(puts, 1u) << got;
}

TEST_F(ServerFixture, CallbackToIpv6LoopbackArrives) {
  std::unique_ptr<issue12::RecordingListener> listener;
  try {
    listener = std::make_unique<issue12::RecordingListener>("::1");
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  std::string hp = "[::1]:" + std::to_string(listener->port());
  ServerConfig cfg;
  cfg.callback_allowlist = {hp};
  Start(cfg);
  json body = {{"source_code", "x"},
               {"language_id", 75},
               {"stdin", "v6"},
               {"callback_url", "http://" + hp + "/v6done"}};
  auto r = Request(http::verb::post, "/submissions", body.dump());
  ASSERT_EQ(r.result_int(), 201) << r.body();
  std::string got = listener->Received(1, std::chrono::seconds(10));
  EXPECT_THAT(got, HasSubstr("PUT /v6done HTTP/1.1\r\n"));
  EXPECT_THAT(got, HasSubstr("Host: " + hp + "\r\n"));
}

// Keys configured means keys required; the key never reaches the access log.
TEST_F(ServerFixture, KeysAreRequiredAndNeverLogged) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  spdlog::set_level(spdlog::level::info);
  ServerConfig cfg;
  cfg.api_keys = {{"ci", "s3cr3tKEY", 0, 0}};
  Start(cfg);
  EXPECT_EQ(Request(http::verb::get, "/api/v1/languages").result_int(), 401);
  EXPECT_EQ(Request(http::verb::get, "/api/v1/languages?api_key=s3cr3tKEY").result_int(), 200);
  EXPECT_EQ(Request(http::verb::get, "/api/v1/languages?x=1&api_key=s3cr3tKEY&token=s3cr3tKEY")
                .result_int(),
            200);
  server_.reset();
  spdlog::set_default_logger(previous);
  spdlog::set_level(spdlog::level::warn);
  std::string logged = log_.str();
  EXPECT_THAT(logged, HasSubstr("/api/v1/languages?api_key=*** 200"));
  EXPECT_THAT(logged, HasSubstr("?x=1&api_key=***&token=***"));
  EXPECT_THAT(logged, ::testing::Not(HasSubstr("s3cr3tKEY")));
}

TEST_F(ServerFixture, AllowAnonymousKeepsAnonymousCallers) {
  ServerConfig cfg;
  cfg.api_keys = {{"ci", "k", 0, 0}};
  cfg.allow_anonymous = true;
  Start(cfg);
  EXPECT_EQ(Request(http::verb::get, "/api/v1/languages").result_int(), 200);
  auto wrong = Request(http::verb::get, "/api/v1/languages?api_key=nope");
  EXPECT_EQ(wrong.result_int(), 403);
}

namespace issue12 {

tcp::socket Connect(net::io_context& ioc, uint16_t port) {
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return s;
}

// Reads one response; ec is set when the connection ended first (a reset, an EOF).
http::response<http::string_body> ReadResponse(tcp::socket& s, beast::error_code& ec) {
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res, ec);
  return res;
}

// Resident memory of this process, which is the server the test started (Server runs in the
// test process): VmRSS of /proc/self/status, in bytes.
uint64_t ServerRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   12345 kB"
    }
  }
  ADD_FAILURE() << "no VmRSS in /proc/self/status";
  return 0;
}

// Opens /api/v1/ws/run and starts an echo run: each stdin message comes back as stdout. Returns
// a stdin message of 32 KiB to send.
// Starts an interactive run of FakeEngine's "echo" with `content` as its file ("x": echoes
// stdin; "flood": prints without reading); returns a 32 KiB stdin message for it.
std::string StartEchoRun(websocket::stream<tcp::socket>& ws, uint16_t port,
                         const std::string& content = "x") {
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  ws.handshake("127.0.0.1", "/api/v1/ws/run");
  ws.text(true);
  ws.write(net::buffer(json{{"type", "start"},
                            {"language", "echo"},
                            {"files", {{{"name", "m"}, {"content", content}}}}}
                           .dump()));
  return json{{"type", "stdin"}, {"data", std::string(32 << 10, 'a')}}.dump();
}

// Polls until the server has `n` open connections or 5 s have passed; returns the last count.
size_t WaitForConnections(const std::function<size_t()>& count, size_t n) {
  for (int i = 0; i < 500 && count() != n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return count();
}

}  // namespace issue12

// A 413 must be read by the client, not lost to a reset: the server lingers, reading and
// discarding the rest of the body, before it closes.
TEST_F(ServerFixture, BodyTooLargeIsReceivedByTheClient) {
  ServerConfig cfg;
  cfg.max_body_bytes = 4096;
  Start(cfg);
  for (const char* path : {"/api/v1/runs", "/api/v2/execute", "/submissions"}) {
    net::io_context ioc;
    tcp::socket s = issue12::Connect(ioc, port_);
    const size_t body = 8 << 20;
    std::string head = std::string("POST ") + path +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: " + std::to_string(body) + "\r\n\r\n";
    net::write(s, net::buffer(head));
    // The client keeps sending its body while the answer is already on its way, as curl does.
    std::thread sender([&] {
      std::string chunk(64 * 1024, 'x');
      beast::error_code ec;
      for (size_t sent = 0; sent < body && !ec; sent += chunk.size()) {
        net::write(s, net::buffer(chunk), ec);
      }
    });
    beast::error_code ec;
    auto res = issue12::ReadResponse(s, ec);
    sender.join();
    ASSERT_FALSE(ec) << path << ": " << ec.message();
    EXPECT_EQ(res.result_int(), 413) << path;
    json j = json::parse(res.body(), nullptr, false);
    if (std::string(path) == "/api/v1/runs") {
      EXPECT_EQ(j["error"]["code"], "payload_too_large") << res.body();
    }
  }
}

// Every request on a keep-alive connection gets the header time-out, and the 408 arrives.
TEST_F(ServerFixture, SlowlorisOnTheSecondRequestGets408) {
  ServerConfig cfg;
  cfg.header_timeout = std::chrono::milliseconds(400);
  cfg.idle_timeout = std::chrono::milliseconds(60000);
  Start(cfg);
  net::io_context ioc;
  tcp::socket s = issue12::Connect(ioc, port_);
  auto first = Request(http::verb::get, "/healthz", "", &s);
  ASSERT_EQ(first.result_int(), 200);
  net::write(s, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")));
  auto start = std::chrono::steady_clock::now();
  std::thread trickle([&] {
    // One byte every 100 ms: never a whole header, always some traffic.
    for (int i = 0; i < 30; ++i) {
      beast::error_code ec;
      net::write(s, net::buffer(std::string("X")), ec);
      if (ec) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  beast::error_code ec;
  auto res = issue12::ReadResponse(s, ec);
  auto took = std::chrono::steady_clock::now() - start;
  beast::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  trickle.join();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 408);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "request_timeout");
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(ServerFixture, SlowBodyGets408) {
  ServerConfig cfg;
  cfg.body_timeout = std::chrono::milliseconds(400);
  Start(cfg);
  net::io_context ioc;
  tcp::socket s = issue12::Connect(ioc, port_);
  net::write(s, net::buffer(std::string(
                    "POST /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lang")));
  beast::error_code ec;
  auto res = issue12::ReadResponse(s, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 408);
}

TEST_F(ServerFixture, ConnectionCapsPerClientAndInTotal) {
  ServerConfig cfg;
  cfg.max_connections_per_ip = 2;
  Start(cfg);
  net::io_context ioc;
  std::vector<tcp::socket> held;
  held.push_back(issue12::Connect(ioc, port_));
  held.push_back(issue12::Connect(ioc, port_));
  for (int i = 0; i < 100 && server_connections() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  tcp::socket third = issue12::Connect(ioc, port_);
  beast::error_code ec;
  auto res = issue12::ReadResponse(third, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "too_many_connections");
  // A held connection still works, and once one closes a new one is served.
  auto ok = Request(http::verb::get, "/healthz", "", &held[0]);
  EXPECT_EQ(ok.result_int(), 200);
  held.pop_back();
  for (int i = 0; i < 100 && server_connections() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  held.clear();
  server_.reset();

  ServerConfig total;
  total.max_connections = 1;
  Start(total);
  tcp::socket one = issue12::Connect(ioc, port_);
  for (int i = 0; i < 100 && server_connections() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  tcp::socket two = issue12::Connect(ioc, port_);
  auto refused = issue12::ReadResponse(two, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(refused.result_int(), 503);
}

// DNS rebinding and cross-site pages: a server on loopback answers only its own names, and a
// page on another origin can neither open a WebSocket nor POST to it.
TEST_F(ServerFixture, CrossSiteRequestsAreRefused) {
  ServerConfig cfg;
  cfg.allowed_hosts = {"runbox.lan"};
  Start(cfg);
  auto with = [&](http::verb method, const std::string& target, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers) {
    net::io_context ioc;
    tcp::socket s = issue12::Connect(ioc, port_);
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    for (auto& [k, v] : headers) {
      req.set(k, v);
    }
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    beast::error_code ec;
    return issue12::ReadResponse(s, ec);
  };
  std::string port = std::to_string(port_);
  EXPECT_EQ(with(http::verb::get, "/api/v1/languages", "", {{"Host", "attacker.test:" + port}})
                .result_int(),
            421);
  for (const char* h : {"localhost", "127.0.0.1", "[::1]", "runbox.lan", "LOCALHOST:1"}) {
    EXPECT_EQ(with(http::verb::get, "/api/v1/languages", "", {{"Host", h}}).result_int(), 200)
        << h;
  }
  // A cross-site POST, whatever its type.
  auto evil = with(http::verb::post, "/api/v1/runs", kEcho,
                   {{"Origin", "https://attacker.test"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(evil.result_int(), 403);
  auto evil_piston = with(http::verb::post, "/api/v2/execute",
                          R"({"language":"echo","files":[{"content":"x"}]})",
                          {{"Origin", "null"}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(evil_piston.result_int(), 403);
  // Simple body types where the endpoint takes JSON, even without an Origin.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x"}) {
    auto r = with(http::verb::post, "/api/v1/runs", kEcho, {{"Content-Type", type}});
    EXPECT_EQ(r.result_int(), 415) << type;
  }
  // The same page's own requests (same origin) work.
  auto same = with(http::verb::post, "/api/v1/runs", kEcho,
                   {{"Origin", "http://127.0.0.1:" + port},
                    {"Content-Type", "application/json"}});
  EXPECT_EQ(same.result_int(), 200) << same.body();

  // WebSocket upgrades check Origin too.
  auto upgrade = [&](const std::string& origin) {
    net::io_context ioc;
    tcp::socket s = issue12::Connect(ioc, port_);
    http::request<http::string_body> req(http::verb::get, "/api/v1/ws/run", 11);
    req.set(http::field::host, "127.0.0.1:" + port);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "upgrade");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    if (!origin.empty()) {
      req.set(http::field::origin, origin);
    }
    http::write(s, req);
    beast::flat_buffer buf;
    http::response_parser<http::empty_body> p;
    p.skip(true);
    beast::error_code ec;
    http::read_header(s, buf, p, ec);
    return ec ? -1 : static_cast<int>(p.get().result_int());
  };
  EXPECT_EQ(upgrade("https://attacker.test"), 403);
  EXPECT_EQ(upgrade("http://127.0.0.1:" + port), 101);
  EXPECT_EQ(upgrade(""), 101);
}

TEST_F(ServerFixture, SecondServerOnTheSameDataDirIsRefused) {
  Start();
  ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.data_dir = dir_ + "/data";
  auto second = Server::Create(cfg, std::make_unique<engine::testing::FakeEngine>(1));
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error().message, HasSubstr(dir_ + "/data"));
  EXPECT_THAT(second.error().message, HasSubstr("another runbox server"));
}

// The disk fills between storing a job and storing its result: the run-and-wait still gets a
// truthful final answer, pollers see the job done, health says 503 with the reason, and new
// submissions get 507 storage_full. A 1 MiB tmpfs is the data dir; the test unmounts it.
TEST_F(ServerFixture, DiskFullNeverLeavesAJobRunning) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "mounting a small tmpfs needs root";
  }
  std::string data = dir_ + "/data";
  std::filesystem::create_directories(data);
  ASSERT_EQ(mount("tmpfs", data.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700"), 0)
      << strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{data};
  Start();
  std::string slow = R"({"language":"slow","files":[{"name":"m","content":""}]})";
  auto reply = std::async(std::launch::async, [&] {
    return Request(http::verb::post, "/api/v1/runs", slow);
  });
  engine_->WaitForSlow(1);
  {
    // Fill the file system to the last block.
    std::ofstream filler(data + "/filler", std::ios::binary);
    std::string block(4096, 'f');
    while (filler.write(block.data(), block.size())) {
    }
  }
  engine_->OpenGate();
  auto r = reply.get();
  json j = json::parse(r.body(), nullptr, false);
  if (r.result_int() == 200) {
    EXPECT_EQ(j["state"], "done") << r.body();
    EXPECT_EQ(j["status"], "SE") << r.body();
    EXPECT_THAT(r.body(), HasSubstr("disk is full"));
    std::string id = j["id"];
    auto polled = json::parse(Request(http::verb::get, "/api/v1/jobs/" + id).body());
    EXPECT_EQ(polled["state"], "done") << polled.dump();
  } else {
    EXPECT_EQ(r.result_int(), 507) << r.body();
  }
  auto health = Request(http::verb::get, "/healthz");
  EXPECT_EQ(health.result_int(), 503) << health.body();
  EXPECT_EQ(json::parse(health.body())["status"], "storage_full") << health.body();
  auto refused = Request(http::verb::post, "/api/v1/jobs", kEcho);
  EXPECT_EQ(refused.result_int(), 507) << refused.body();
  EXPECT_EQ(json::parse(refused.body())["error"]["code"], "storage_full") << refused.body();
  EXPECT_THAT(refused.body(), HasSubstr("disk is full"));
  // Space back: healthy again, submissions work.
  std::filesystem::remove(data + "/filler");
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  EXPECT_EQ(Request(http::verb::post, "/api/v1/runs", kEcho).result_int(), 200);
  server_.reset();
}

// With descriptors exhausted, accept() fails at once for as long as a connection waits: the
// server must back off and log once per episode (it logged 6.8 million lines in 20 s), and
// serve the waiting client once descriptors are free again.
TEST_F(ServerFixture, AcceptBacksOffWhenDescriptorsRunOut) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  spdlog::set_level(spdlog::level::info);
  Start();
  net::io_context ioc;
  tcp::socket client(ioc);
  client.open(tcp::v4());  // its descriptor exists before the table is full
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> filler;
  int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(probe) + 32;
  ::close(probe);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  for (;;) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      break;
    }
    filler.push_back(fd);
  }
  client.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int fd : filler) {
    ::close(fd);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  auto res = Request(http::verb::get, "/healthz", "", &client);
  EXPECT_EQ(res.result_int(), 200);
  server_.reset();
  spdlog::set_default_logger(previous);
  spdlog::set_level(spdlog::level::warn);
  std::string logged = log_.str();
  size_t lines = 0;
  for (size_t p = logged.find("accept: "); p != std::string::npos;
       p = logged.find("accept: ", p + 1)) {
    ++lines;
  }
  // One line when it starts, one when it ends.
  EXPECT_EQ(lines, 2u) << logged.substr(0, 2000);
  EXPECT_THAT(logged, HasSubstr("Too many open files"));
  EXPECT_THAT(logged, HasSubstr("working again"));
}

// A client that pipelines requests for a big answer and never reads must not make the server
// hold one answer per request: the session reads the next request only after the previous
// answer is written, and a client that does not take an answer within write_timeout is dropped.
TEST_F(ServerFixture, PipeliningClientThatNeverReadsCannotGrowServerMemory) {
  ServerConfig cfg;
  cfg.write_timeout = std::chrono::milliseconds(1000);
  Start(cfg);
  // A stored job whose answer is 3 MiB (the echo engine's stdout is its stdin).
  json big = {{"language", "echo"},
              {"files", {{{"name", "m"}, {"content", "x"}}}},
              {"stdin", std::string(3 << 20, 'a')}};
  auto created = Request(http::verb::post, "/api/v1/jobs", big.dump());
  ASSERT_EQ(created.result_int(), 202) << created.body();
  std::string id = json::parse(created.body())["id"];
  for (int i = 0; i < 500; ++i) {
    auto r = Request(http::verb::get, "/api/v1/jobs/" + id);
    if (json::parse(r.body()).value("state", "") == "done") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  uint64_t before = issue12::ServerRssBytes();
  net::io_context ioc;
  tcp::socket greedy = issue12::Connect(ioc, port_);
  // 1,000 requests for the same 3 MiB answer (3 GiB if the server queued them), sent from a
  // thread: the server stops reading them, so the send blocks once the socket buffers are full.
  std::string one = "GET /api/v1/jobs/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::string requests;
  for (int i = 0; i < 1000; ++i) {
    requests += one;
  }
  std::thread sender([&] {
    beast::error_code ec;
    net::write(greedy, net::buffer(requests), ec);
  });
  uint64_t peak = before;
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    peak = std::max(peak, issue12::ServerRssBytes());
  }
  // Another client is served meanwhile.
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  // The greedy one is dropped once its answer has waited write_timeout.
  EXPECT_EQ(issue12::WaitForConnections([this] { return server_connections(); }, 0), 0u);
  beast::error_code ignored;
  greedy.shutdown(tcp::socket::shutdown_both, ignored);
  greedy.close(ignored);
  sender.join();
  RecordProperty("rss_growth_bytes", std::to_string(peak - before));
  EXPECT_LT(peak - before, 64ull << 20) << "RSS before " << before << ", peak " << peak;
}

// A WebSocket client that never reads the output of a run that prints without pause: the frames
// it does not take must not pile up in the server. Past the send cap the session ends with 1008
// and a reason, which a client that reads late still gets. (The program reads no stdin, so the
// stdin cap, 1009, cannot end the session first, however slow the machine: CI run of 9a53cf5.)
TEST_F(ServerFixture, WebSocketClientThatNeverReadsCannotGrowServerMemory) {
  Start();
  uint64_t before = issue12::ServerRssBytes();
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  issue12::StartEchoRun(ws, port_, "flood");  // 256 MiB of output if nothing stopped it
  uint64_t peak = before;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    peak = std::max(peak, issue12::ServerRssBytes());
  }
  RecordProperty("rss_growth_bytes", std::to_string(peak - before));
  EXPECT_LT(peak - before, 64ull << 20) << "RSS before " << before << ", peak " << peak;
  EXPECT_EQ(Request(http::verb::get, "/healthz").result_int(), 200);
  // Reading now: what was already on its way, then the close frame with the reason.
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer buf;
    ws.read(buf, ec);
    if (ec) {
      break;
    }
  }
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, 1008);
  EXPECT_THAT(std::string(ws.reason().reason.c_str()), HasSubstr("not read"));
}

// A WebSocket client that never reads at all is dropped once a frame has waited write_timeout.
TEST_F(ServerFixture, WebSocketClientThatNeverReadsIsDropped) {
  ServerConfig cfg;
  cfg.write_timeout = std::chrono::milliseconds(500);
  Start(cfg);
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  std::string msg = issue12::StartEchoRun(ws, port_);
  // 16 MiB echoed: more than the socket buffers between the two hold.
  beast::error_code ec;
  for (int i = 0; i < 512 && !ec; ++i) {
    ws.write(net::buffer(msg), ec);
  }
  EXPECT_EQ(issue12::WaitForConnections([this] { return server_connections(); }, 0), 0u);
}

// Every refusal is counted by its reason on /metrics, also those the HTTP layer makes before a
// request reaches the router (408, 413), and the HELP text lists every reason.
TEST_F(ServerFixture, MetricsCountEveryKindOfRefusal) {
  ServerConfig cfg;
  cfg.header_timeout = std::chrono::milliseconds(300);
  cfg.max_body_bytes = 4096;
  Start(cfg);
  net::io_context ioc;
  {
    tcp::socket s = issue12::Connect(ioc, port_);
    net::write(s, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")));
    beast::error_code ec;
    EXPECT_EQ(issue12::ReadResponse(s, ec).result_int(), 408) << ec.message();
  }
  {
    tcp::socket s = issue12::Connect(ioc, port_);
    net::write(s, net::buffer(std::string("POST /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Content-Type: application/json\r\n"
                                          "Content-Length: 100000\r\n\r\n")));
    beast::error_code ec;
    EXPECT_EQ(issue12::ReadResponse(s, ec).result_int(), 413) << ec.message();
  }
  {
    tcp::socket s = issue12::Connect(ioc, port_);
    net::write(s, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: evil.x\r\n\r\n")));
    beast::error_code ec;
    EXPECT_EQ(issue12::ReadResponse(s, ec).result_int(), 421) << ec.message();
  }
  std::string text = Request(http::verb::get, "/metrics").body();
  EXPECT_THAT(text, HasSubstr("runbox_rejected_total{reason=\"request_timeout\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_rejected_total{reason=\"payload_too_large\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_rejected_total{reason=\"misdirected_request\"} 1\n"));
  size_t help = text.find("# HELP runbox_rejected_total");
  ASSERT_NE(help, std::string::npos);
  std::string help_line = text.substr(help, text.find('\n', help) - help);
  for (const char* reason :
       {"request_timeout", "payload_too_large", "unsupported_media_type", "misdirected_request",
        "rate_limited", "unauthorized", "cross_site", "queue_full", "too_many_connections",
        "storage_full", "ws_stdin_overflow", "ws_send_overflow"}) {
    EXPECT_THAT(help_line, HasSubstr(reason));
  }
}

// A WebSocket session that ended gives its connection slot back (a session kept alive by its own
// handler would hold one slot forever, until max_connections refused everyone).
TEST_F(ServerFixture, EndedWebSocketSessionsGiveTheirConnectionBack) {
  Start();
  for (int i = 0; i < 3; ++i) {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws(ioc);
    issue12::StartEchoRun(ws, port_);
    ws.write(net::buffer(std::string(R"({"type":"stdin_close"})")));
    beast::error_code ec;
    for (beast::flat_buffer buf; !ec; buf.clear()) {
      ws.read(buf, ec);
    }
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  }
  EXPECT_EQ(issue12::WaitForConnections([this] { return server_connections(); }, 0), 0u);
}

}  // namespace
}  // namespace runbox::server
