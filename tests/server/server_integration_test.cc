// End-to-end tests of `runbox serve`: the real binary, the real engine and sandbox, on port 0
// with a temporary data dir. Every endpoint is exercised with real runs of python3 (interpreted)
// and c (compiled). Root is required; in CI (CI=true) a missing privilege or language fails.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using ::testing::HasSubstr;

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

#define REQUIRE_OR_SKIP(cond, why)  \
  do {                              \
    if (!(cond)) {                  \
      if (InCi()) {                 \
        FAIL() << why;              \
      }                             \
      GTEST_SKIP() << why;          \
    }                               \
  } while (0)

// One `runbox serve` process. Its stderr (the logs) goes to <dir>/server.log.
class ServeProcess {
 public:
  ServeProcess(const std::string& data_dir, const std::string& log,
               std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {RUNBOX_BIN,    "serve",        "--listen", "127.0.0.1:0",
                                     "--data-dir",  data_dir,       "--languages",
                                     RUNBOX_LANGUAGES_DIR};
    args.insert(args.end(), extra.begin(), extra.end());
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, RUNBOX_BIN, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      return;
    }
    // The first line on stdout names the port.
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') {
      line.push_back(c);
    }
    close(out[0]);
    const std::string prefix = "listening on http://127.0.0.1:";
    if (line.rfind(prefix, 0) == 0) {
      port_ = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
    }
    first_line_ = line;
  }
  ~ServeProcess() { Stop(); }

  // SIGTERM and wait; returns the exit status (or -1).
  int Stop() {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  uint16_t port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string first_line_;
};

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  json Json() const { return json::parse(body, nullptr, false); }
};

Reply Call(uint16_t port, http::verb method, const std::string& target,
           const std::string& body = "", const std::string& content_type = "application/json") {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(sock, buf, parser);
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}

const char* kPyEcho = "import sys\nprint(sys.stdin.read().upper(), end='')\n";
const char* kCHello =
    "#include <stdio.h>\nint main(void){int a,b; if(scanf(\"%d %d\",&a,&b)!=2) return 3; "
    "printf(\"%d\\n\", a+b); return 0;}\n";

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/runbox-serve-it-XXXXXX";
    if (!mkdtemp(tmpl)) {
      return;
    }
    dir_ = new std::string(tmpl);
    std::filesystem::create_directories(*dir_ + "/web");
    std::ofstream(*dir_ + "/web/index.html") << "<!doctype html><title>runbox</title>";
    server_ = new ServeProcess(*dir_ + "/data", *dir_ + "/server.log",
                               {"--static", *dir_ + "/web", "--queue-size", "16"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (dir_) {
      std::filesystem::remove_all(*dir_);
      delete dir_;
      dir_ = nullptr;
    }
  }
  void SetUp() override {
    REQUIRE_OR_SKIP(geteuid() == 0, "runbox serve runs real boxes and needs root");
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->port(), 0) << "runbox serve did not print its port; first line was '"
                                  << server_->first_line() << "'; see " << *dir_
                                  << "/server.log";
    static bool checked = false;
    static bool have = false;
    if (!checked) {
      checked = true;
      Reply r = Call(port(), http::verb::get, "/api/v1/languages");
      std::set<std::string> ids;
      for (const auto& l : r.Json()) {
        ids.insert(l["id"].get<std::string>());
      }
      have = ids.count("python3") && ids.count("c");
    }
    REQUIRE_OR_SKIP(have, "python3 and c must be installed (make test installs the catalog)");
  }
  uint16_t port() const { return server_->port(); }

  json WaitJob(const std::string& id) {
    json j;
    for (int i = 0; i < 600; ++i) {
      j = Call(port(), http::verb::get, "/api/v1/jobs/" + id).Json();
      if (j.value("state", "") == "done") {
        return j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "job " << id << " not done: " << j.dump();
    return j;
  }

  static std::string* dir_;
  static ServeProcess* server_;
};

std::string* ServeTest::dir_ = nullptr;
ServeProcess* ServeTest::server_ = nullptr;

json PyJob(const std::string& code, const std::string& stdin_data) {
  return {{"language", "python3"},
          {"files", {{{"name", "main.py"}, {"content", code}}}},
          {"stdin", stdin_data}};
}

TEST_F(ServeTest, HealthMetricsOpenApiAndPage) {
  EXPECT_EQ(server_->first_line(), "listening on http://127.0.0.1:" + std::to_string(port()));
  Reply h = Call(port(), http::verb::get, "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Json()["status"], "ok");
  Reply m = Call(port(), http::verb::get, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.body, HasSubstr("runbox_queue_depth"));
  EXPECT_THAT(m.body, HasSubstr("runbox_slots_busy"));
  Reply o = Call(port(), http::verb::get, "/api/v1/openapi.json");
  EXPECT_EQ(o.Json()["openapi"], "3.0.3");
  Reply page = Call(port(), http::verb::get, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.content_type, HasSubstr("text/html"));
  EXPECT_EQ(Call(port(), http::verb::get, "/../etc/passwd").status, 404);
}

// A metric's value in /metrics text, or -1 when absent.
double MetricValue(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stod(text.substr(at + name.size() + 2));
}

TEST_F(ServeTest, RunsUsePreparedBoxesAndGetTheirOwnInput) {
  // The server keeps a box of a shape ready once the shape has run: the next run of it starts
  // in that box, with its own stdin.
  json first = Call(port(), http::verb::post, "/api/v1/runs", PyJob(kPyEcho, "first\n").dump())
                   .Json();
  ASSERT_EQ(first["status"], "OK") << first.dump();
  std::string m;
  for (int i = 0; i < 200; ++i) {
    m = Call(port(), http::verb::get, "/metrics").body;
    if (MetricValue(m, "runbox_prepared_boxes") >= 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(MetricValue(m, "runbox_prepared_boxes"), 1) << m;
  const double hits = MetricValue(m, "runbox_box_starts_total{prepared=\"yes\"}");
  ASSERT_GE(hits, 0) << m;
  json second = Call(port(), http::verb::post, "/api/v1/runs", PyJob(kPyEcho, "second\n").dump())
                    .Json();
  ASSERT_EQ(second["status"], "OK") << second.dump();
  EXPECT_EQ(second["cases"][0]["result"]["stdout"], "SECOND\n");
  m = Call(port(), http::verb::get, "/metrics").body;
  EXPECT_EQ(MetricValue(m, "runbox_box_starts_total{prepared=\"yes\"}"), hits + 1) << m;
}

TEST_F(ServeTest, NativeRunSubmitBatchAndLimits) {
  Reply r = Call(port(), http::verb::post, "/api/v1/runs", PyJob(kPyEcho, "hello\n").dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["status"], "OK");
  EXPECT_EQ(j["cases"][0]["result"]["stdout"], "HELLO\n");
  EXPECT_GT(j["cases"][0]["result"]["memory_kib"].get<int>(), 0);

  // Judged tests on a compiled language.
  json c = {{"language", "c"},
            {"files", {{{"name", "main.c"}, {"content", kCHello}}}},
            {"tests", {{{"stdin", "1 2\n"}, {"expected_output", "3\n"}},
                       {{"stdin", "2 2\n"}, {"expected_output", "5\n"}}}}};
  json cj = Call(port(), http::verb::post, "/api/v1/runs", c.dump()).Json();
  EXPECT_EQ(cj["status"], "WA") << cj.dump();
  EXPECT_EQ(cj["compile"]["status"], "OK");
  EXPECT_EQ(cj["cases"][0]["verdict"], "AC");
  EXPECT_EQ(cj["cases"][1]["verdict"], "WA");

  json ce = {{"language", "c"}, {"files", {{{"name", "main.c"}, {"content", "int main( {"}}}}};
  EXPECT_EQ(Call(port(), http::verb::post, "/api/v1/runs", ce.dump()).Json()["status"], "CE");

  json tle = PyJob("while True: pass\n", "");
  tle["limits"] = {{"cpu_time_ms", 1000}, {"wall_time_ms", 3000}};
  EXPECT_EQ(Call(port(), http::verb::post, "/api/v1/runs", tle.dump()).Json()["status"], "TLE");

  json big = PyJob("print(1)", "");
  big["limits"] = {{"cpu_time_ms", 100000000}};
  Reply over = Call(port(), http::verb::post, "/api/v1/runs", big.dump());
  EXPECT_EQ(over.status, 422);
  EXPECT_EQ(over.Json()["error"]["field"], "limits.cpu_time_ms");

  Reply sub = Call(port(), http::verb::post, "/api/v1/jobs", PyJob(kPyEcho, "async").dump());
  ASSERT_EQ(sub.status, 202);
  std::string id = sub.Json()["id"];
  EXPECT_EQ(WaitJob(id)["cases"][0]["result"]["stdout"], "ASYNC");

  json batch = {{"jobs", {PyJob(kPyEcho, "a"), PyJob(kPyEcho, "b")}}};
  Reply b = Call(port(), http::verb::post, "/api/v1/jobs/batch", batch.dump());
  ASSERT_EQ(b.status, 202) << b.body;
  std::vector<std::string> ids = b.Json()["ids"];
  ASSERT_EQ(ids.size(), 2u);
  WaitJob(ids[0]);
  WaitJob(ids[1]);
  json list = Call(port(), http::verb::get, "/api/v1/jobs?ids=" + ids[0] + "," + ids[1]).Json();
  EXPECT_EQ(list["jobs"][0]["cases"][0]["result"]["stdout"], "A");
  EXPECT_EQ(list["jobs"][1]["cases"][0]["result"]["stdout"], "B");
}

TEST_F(ServeTest, SnippetsAndLanguages) {
  json s = {{"language", "python3"}, {"files", {{{"name", "main.py"}, {"content", "print(1)"}}}}};
  Reply put = Call(port(), http::verb::post, "/api/v1/snippets", s.dump());
  ASSERT_EQ(put.status, 201);
  Reply got = Call(port(), http::verb::get, "/api/v1/snippets/" + put.Json()["id"].get<std::string>());
  EXPECT_EQ(got.Json(), s);
  json langs = Call(port(), http::verb::get, "/api/v1/languages").Json();
  bool py = false;
  for (const auto& l : langs) {
    if (l["id"] == "python3") {
      py = true;
      EXPECT_FALSE(l["version"].get<std::string>().empty());
      EXPECT_EQ(l["compiled"], false);
    }
  }
  EXPECT_TRUE(py);
}

TEST_F(ServeTest, InteractiveWebSocket) {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
  ws.handshake("127.0.0.1", "/api/v1/ws/run");
  json start = PyJob("name = input()\nprint('hi ' + name, flush=True)\nprint(input())\n", "");
  start.erase("stdin");
  start["type"] = "start";
  ws.write(net::buffer(start.dump()));
  ws.write(net::buffer(std::string(R"({"type":"stdin","data":"ada\n"})")));
  std::string out;
  json last;
  bool sent_second = false;
  for (;;) {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) {
      break;
    }
    json m = json::parse(beast::buffers_to_string(buf.data()));
    if (m["type"] == "stdout") {
      out += m["data"].get<std::string>();
      if (!sent_second && out.find("hi ada\n") != std::string::npos) {
        sent_second = true;
        ws.write(net::buffer(std::string(R"({"type":"stdin","data":"bye\n"})")));
      }
    }
    last = m;
  }
  EXPECT_EQ(out, "hi ada\nbye\n");
  EXPECT_EQ(last["type"], "exit");
  EXPECT_EQ(last["status"], "OK");
}

TEST_F(ServeTest, Piston) {
  json rts = Call(port(), http::verb::get, "/api/v2/runtimes").Json();
  std::string version;
  for (const auto& rt : rts) {
    if (rt["language"] == "python3") {
      version = rt["version"];
    }
  }
  ASSERT_FALSE(version.empty());
  // text/plain, as piston-client sends it.
  json body = {{"language", "python"}, {"version", version},
               {"files", {{{"content", kPyEcho}}}}, {"stdin", "piston"}};
  Reply r = Call(port(), http::verb::post, "/api/v2/execute", body.dump(),
                 "text/plain;charset=UTF-8");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["run"]["stdout"], "PISTON\n");  // Piston's trailing newline on stdin
  EXPECT_EQ(j["run"]["code"], 0);
  json c = {{"language", "c"}, {"files", {{{"content", "int main( {"}}}}};
  json cj = Call(port(), http::verb::post, "/api/v2/execute", c.dump()).Json();
  EXPECT_NE(cj["compile"]["code"], 0);
  EXPECT_EQ(cj["run"], cj["compile"]);
  Reply bad = Call(port(), http::verb::post, "/api/v2/execute", R"({"language":"nope"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.Json().contains("message"));
}

TEST_F(ServeTest, Judge0) {
  json w = Call(port(), http::verb::post, "/submissions?wait=true",
                json{{"source_code", kCHello}, {"language_id", 50}, {"stdin", "20 22"},
                     {"expected_output", "42"}}
                    .dump())
               .Json();
  EXPECT_EQ(w["status"]["id"], 3) << w.dump();
  EXPECT_EQ(w["stdout"], "42\n");
  EXPECT_TRUE(w["time"].is_string());
  json t = Call(port(), http::verb::post, "/submissions?base64_encoded=true",
                json{{"source_code", "cHJpbnQoaW5wdXQoKSk="}, {"language_id", 71},
                     {"stdin", "aGk="}}.dump())
               .Json();
  std::string token = t["token"];
  json s;
  for (int i = 0; i < 300; ++i) {
    s = Call(port(), http::verb::get, "/submissions/" + token + "?base64_encoded=true").Json();
    if (s["status"]["id"].get<int>() >= 3) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(s["stdout"], "aGkK");  // "hi\n"
  EXPECT_EQ(Call(port(), http::verb::get, "/statuses").Json().size(), 14u);
  EXPECT_GT(Call(port(), http::verb::get, "/languages").Json().size(), 0u);
  EXPECT_EQ(Call(port(), http::verb::get, "/languages/71").status, 200);
  EXPECT_EQ(Call(port(), http::verb::get, "/about").status, 200);
  EXPECT_EQ(Call(port(), http::verb::get, "/config_info").status, 200);
  json batch = {{"submissions", {{{"source_code", "print(1)"}, {"language_id", 71}},
                                 {{"source_code", "print(2)"}, {"language_id", 71}}}}};
  json created = Call(port(), http::verb::post, "/submissions/batch", batch.dump()).Json();
  ASSERT_EQ(created.size(), 2u);
  std::string tokens = created[0]["token"].get<std::string>() + "," +
                       created[1]["token"].get<std::string>();
  json shown;
  for (int i = 0; i < 300; ++i) {
    shown = Call(port(), http::verb::get, "/submissions/batch?tokens=" + tokens).Json();
    if (shown["submissions"][0]["status"]["id"].get<int>() >= 3 &&
        shown["submissions"][1]["status"]["id"].get<int>() >= 3) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(shown["submissions"][0]["stdout"], "1\n");
  EXPECT_EQ(shown["submissions"][1]["stdout"], "2\n");
  Reply e = Call(port(), http::verb::post, "/submissions", R"({"language_id":71})");
  EXPECT_EQ(e.status, 422);
}

TEST_F(ServeTest, Paiza) {
  Reply c = Call(port(), http::verb::post, "/runners/create",
                 "source_code=print(input())&language=python3&input=paiza&api_key=guest",
                 "application/x-www-form-urlencoded");
  ASSERT_EQ(c.status, 200) << c.body;
  std::string id = c.Json()["id"];
  for (int i = 0; i < 300; ++i) {
    if (Call(port(), http::verb::get, "/runners/get_status?id=" + id).Json()["status"] ==
        "completed") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json d = Call(port(), http::verb::get, "/runners/get_details?id=" + id).Json();
  EXPECT_EQ(d["stdout"], "paiza\n");
  EXPECT_EQ(d["result"], "success");
  EXPECT_EQ(d["exit_code"], 0);
}

// Last: restarts the server. A job queued behind a running one survives SIGTERM and runs after
// the restart; the server exits 0.
// --- issue 12 (decode): hostile requests against the real server ------------------------------

// The server's resident memory in KiB, from /proc/<pid>/status.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

std::string DeepArray(size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

// 100k levels of "[[[...]]]" where a string is expected once killed the server with a stack
// overflow on all three endpoints.
TEST_F(ServeTest, Issue12DeepNestingIs400OnEveryEndpoint) {
  const std::string deep = DeepArray(100000);
  struct Case {
    const char* target;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"/api/v1/snippets",
       R"({"language":"python3","files":[{"name":"main.py","content":"x"}],"stdin":)" + deep +
           "}"},
      {"/api/v1/snippets", deep},
      {"/submissions", R"({"language_id":71,"source_code":)" + deep + "}"},
      {"/runners/create", R"({"language":"python3","source_code":)" + deep + "}"},
      {"/api/v2/execute", R"({"language":"python3","files":[{"content":)" + deep + "}]}"},
      {"/api/v1/runs", deep},
  };
  for (const auto& c : cases) {
    Reply r = Call(port(), http::verb::post, c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.target << ": " << r.body.substr(0, 300);
    EXPECT_THAT(r.body, HasSubstr("deeper than 64 levels")) << c.target;
  }
  EXPECT_EQ(Call(port(), http::verb::get, "/healthz").status, 200);
}

// Piston hex "zz" was a 500 over HTTP and std::terminate over /api/v2/connect.
TEST_F(ServeTest, Issue12PistonBadHexOverHttpAndWebSocket) {
  json body = {{"language", "python3"},
               {"files", {{{"content", "print(1)"}}, {{"name", "d"}, {"content", "zz"},
                                                      {"encoding", "hex"}}}}};
  for (const char* hex : {"zz", "1z-1 f", "abc"}) {
    body["files"][1]["content"] = hex;
    Reply r = Call(port(), http::verb::post, "/api/v2/execute", body.dump());
    EXPECT_EQ(r.status, 400) << hex << ": " << r.body;
    EXPECT_THAT(r.Json().value("message", ""), HasSubstr("not valid hex")) << hex;
  }
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
  ws.handshake("127.0.0.1", "/api/v2/connect");
  body["type"] = "init";
  body["files"][1]["content"] = "zz";
  ws.write(net::buffer(body.dump()));
  std::vector<json> got;
  for (;;) {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) {
      EXPECT_EQ(ec, websocket::error::closed) << ec.message();
      break;
    }
    got.push_back(json::parse(beast::buffers_to_string(buf.data()), nullptr, false));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["type"], "error");
  EXPECT_THAT(got[0].value("message", ""), HasSubstr("not valid hex"));
  EXPECT_EQ(ws.reason().code, 4002);
  // The server lived through it and still runs jobs.
  Reply ok = Call(port(), http::verb::post, "/api/v1/runs", PyJob(kPyEcho, "alive").dump());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["cases"][0]["result"]["stdout"], "ALIVE");
}

// A NUL inside an argument would be cut by execve; each API answers 4xx naming the field.
TEST_F(ServeTest, Issue12NulInArgvAndControlBytesInNamesAre4xx) {
  json native = PyJob(kPyEcho, "");
  native["args"] = {"ok", std::string("a\0b", 3)};
  Reply n = Call(port(), http::verb::post, "/api/v1/runs", native.dump());
  EXPECT_EQ(n.status, 400) << n.body;
  EXPECT_EQ(n.Json()["error"]["field"], "args[1]");
  native.erase("args");
  native["compiler_options"] = {std::string("-O2\0-x", 6)};
  n = Call(port(), http::verb::post, "/api/v1/runs", native.dump());
  EXPECT_EQ(n.status, 400) << n.body;
  EXPECT_EQ(n.Json()["error"]["field"], "compiler_options[0]");
  native.erase("compiler_options");
  native["files"][0]["name"] = "main\n.py";
  n = Call(port(), http::verb::post, "/api/v1/runs", native.dump());
  EXPECT_EQ(n.status, 400) << n.body;
  EXPECT_EQ(n.Json()["error"]["field"], "files[0].name");

  json j0 = {{"language_id", 71}, {"source_code", "print(1)"},
             {"command_line_arguments", std::string("a\0b", 3)}};
  Reply j = Call(port(), http::verb::post, "/submissions?wait=true", j0.dump());
  EXPECT_EQ(j.status, 422) << j.body;
  EXPECT_TRUE(j.Json().contains("command_line_arguments")) << j.body;
  Reply form = Call(port(), http::verb::post, "/submissions?wait=true",
                    "source_code=print(1)&language_id=50&compiler_options=-O2%00-o/x",
                    "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 422) << form.body;
  EXPECT_TRUE(form.Json().contains("compiler_options")) << form.body;

  json piston = {{"language", "python3"}, {"files", {{{"content", "print(1)"}}}},
                 {"args", {std::string("x\0y", 3)}}};
  Reply p = Call(port(), http::verb::post, "/api/v2/execute", piston.dump());
  EXPECT_EQ(p.status, 400) << p.body;
  EXPECT_THAT(p.Json().value("message", ""), HasSubstr("args[0]"));
  piston.erase("args");
  piston["files"][0]["name"] = "a\tb.py";
  p = Call(port(), http::verb::post, "/api/v2/execute", piston.dump());
  EXPECT_EQ(p.status, 400) << p.body;
  EXPECT_THAT(p.Json().value("message", ""), HasSubstr("files[0].name"));
}

// Validation that came back as 200 with SE (Judge0 13 "Internal Error", which clients retry).
TEST_F(ServeTest, Issue12NanHugeAndTooSmallNumbersAre4xx) {
  for (const char* extra : {R"("memory_limit":"nan")", R"("cpu_time_limit":"nan")",
                            R"("wall_time_limit":"NaN")", R"("max_file_size":"inf")",
                            R"("stack_limit":1e300)", R"("memory_limit":3000)",
                            R"("max_processes_and_or_threads":"nan")"}) {
    std::string body = std::string(R"j({"language_id":71,"source_code":"print(1)",)j") + extra + "}";
    Reply r = Call(port(), http::verb::post, "/submissions?wait=true", body);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
    std::string field = std::string(extra).substr(1, std::string(extra).find('"', 1) - 1);
    EXPECT_TRUE(r.Json().contains(field)) << body << " -> " << r.body;
  }
  for (const char* id : {"1e300", "\"1e300\"", "\"nan\""}) {
    std::string body = std::string(R"j({"source_code":"print(1)","language_id":)j") + id + "}";
    Reply r = Call(port(), http::verb::post, "/submissions?wait=true", body);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
    EXPECT_TRUE(r.Json().contains("language_id")) << r.body;
  }
  // The box minimum is checked at decode time: below it a 400 naming the field ...
  json small = PyJob(kPyEcho, "x");
  small["limits"] = {{"memory_kib", 4095}};
  Reply s = Call(port(), http::verb::post, "/api/v1/runs", small.dump());
  EXPECT_EQ(s.status, 400) << s.body;
  EXPECT_EQ(s.Json()["error"]["field"], "limits.memory_kib");
  json piston = {{"language", "python3"}, {"files", {{{"content", "print(1)"}}}},
                 {"run_memory_limit", 1000}};
  Reply p = Call(port(), http::verb::post, "/api/v2/execute", piston.dump());
  EXPECT_EQ(p.status, 400) << p.body;
  EXPECT_THAT(p.Json().value("message", ""), HasSubstr("run_memory_limit"));
  // ... and at it the box runs (the language may raise it), never SE.
  small["limits"] = {{"memory_kib", 4096}};
  s = Call(port(), http::verb::post, "/api/v1/runs", small.dump());
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.Json()["status"], "SE") << s.body;
}

// A WebSocket session whose program never reads stdin once buffered every message: 1,024 x 1 MiB
// took the server from 7 MiB to 1 GiB, kept after the session ended.
TEST_F(ServeTest, Issue12StdinFloodOverWebSocketKeepsServerRssBounded) {
  const long before = RssKib(server_->pid());
  ASSERT_GT(before, 0);
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
  ws.handshake("127.0.0.1", "/api/v1/ws/run");
  json start = PyJob("import time\ntime.sleep(30)\n", "");
  start.erase("stdin");
  start["type"] = "start";
  ws.write(net::buffer(start.dump()));
  const std::string chunk = json{{"type", "stdin"}, {"data", std::string(1 << 20, 'x')}}.dump();
  int sent = 0;
  for (; sent < 256; ++sent) {
    beast::error_code ec;
    ws.write(net::buffer(chunk), ec);
    if (ec) {
      break;  // the server ended the session
    }
  }
  json last;
  for (;;) {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) {
      break;
    }
    last = json::parse(beast::buffers_to_string(buf.data()), nullptr, false);
  }
  EXPECT_EQ(last["type"], "error") << last.dump();
  EXPECT_EQ(last["error"]["code"], "limit_exceeded") << last.dump();
  EXPECT_EQ(ws.reason().code, 1009);
  const long after = RssKib(server_->pid());
  RecordProperty("rss_before_kib", std::to_string(before));
  RecordProperty("rss_after_kib", std::to_string(after));
  std::printf("server RSS %ld KiB -> %ld KiB after %d stdin messages of 1 MiB\n", before, after,
              sent);
  // 256 MiB went out; the server may hold the cap (1 MiB), a message or two and the pipe.
  EXPECT_LT(after - before, 96 * 1024) << "RSS " << before << " KiB -> " << after << " KiB after "
                                       << sent << " messages of 1 MiB";
}

// One request with many tests of big output once took the server to 3 GiB RSS and the store up by
// 1 GB. The job's output budget (job_output) caps them all together.
TEST_F(ServeTest, Issue12JobOutputBudgetAcrossTests) {
  std::string cfg = *dir_ + "/budget.toml";
  std::ofstream(cfg) << "job_output = \"1M\"\n";
  ServeProcess budget(*dir_ + "/budget-data", *dir_ + "/budget.log", {"--config", cfg});
  ASSERT_NE(budget.port(), 0) << budget.first_line();
  json job = {{"language", "python3"},
              {"files", {{{"name", "main.py"},
                          {"content", "import sys\nsys.stdout.write('x' * 400000)\n"}}}},
              {"tests", json::array()}};
  for (int i = 0; i < 5; ++i) {
    job["tests"].push_back({{"stdin", ""}});
  }
  Reply r = Call(budget.port(), http::verb::post, "/api/v1/runs", job.dump());
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  json j = r.Json();
  ASSERT_EQ(j["cases"].size(), 5u);
  size_t total = 0;
  for (const auto& c : j["cases"]) {
    total += c["result"]["stdout"].get<std::string>().size();
  }
  EXPECT_LE(total, 1u << 20);
  EXPECT_EQ(j["cases"][0]["result"]["status"], "OK");
  EXPECT_EQ(j["cases"][1]["result"]["status"], "OK");
  EXPECT_EQ(j["cases"][2]["result"]["status"], "OLE");
  EXPECT_THAT(j["cases"][2]["result"]["message"].get<std::string>(),
              HasSubstr("job's output limit"));
  for (int i : {3, 4}) {
    EXPECT_EQ(j["cases"][i]["result"]["status"], "OLE");
    EXPECT_THAT(j["cases"][i]["result"]["message"].get<std::string>(), HasSubstr("not run"));
  }
  EXPECT_EQ(j["status"], "OLE");
}

TEST_F(ServeTest, ZZGracefulShutdownAndRecovery) {
  std::string data = *dir_ + "/data2";
  std::string job_id;
  {
    ServeProcess s(data, *dir_ + "/server2.log", {"--slots", "1"});
    ASSERT_NE(s.port(), 0);
    json slow = PyJob("import time\ntime.sleep(2)\nprint('slow')\n", "");
    slow["limits"] = {{"wall_time_ms", 10000}};
    Reply first = Call(s.port(), http::verb::post, "/api/v1/jobs", slow.dump());
    ASSERT_EQ(first.status, 202);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Reply second = Call(s.port(), http::verb::post, "/api/v1/jobs", PyJob(kPyEcho, "kept").dump());
    ASSERT_EQ(second.status, 202);
    job_id = second.Json()["id"];
    EXPECT_EQ(s.Stop(), 0);
  }
  ServeProcess s(data, *dir_ + "/server2.log", {"--slots", "1"});
  ASSERT_NE(s.port(), 0);
  json j;
  for (int i = 0; i < 300; ++i) {
    j = Call(s.port(), http::verb::get, "/api/v1/jobs/" + job_id).Json();
    if (j.value("state", "") == "done") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(j["cases"][0]["result"]["stdout"], "KEPT");
  EXPECT_EQ(s.Stop(), 0);
}


// --- issue 12 (http): configuration, keys and the data dir, on the real binary ----------------

class ServeHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_OR_SKIP(geteuid() == 0, "runbox serve runs real boxes and needs root");
    char tmpl[] = "/tmp/runbox-serve-h12-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::filesystem::remove_all(dir_);
    }
  }
  std::string ReadLog() {
    std::ifstream in(dir_ + "/server.log");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string dir_;
};

// `runbox serve --config FILE` crashed on any non-empty file (toml++ built two ways in one
// binary); now its settings take effect.
TEST_F(ServeHardeningTest, ConfigFileSettingsTakeEffect) {
  std::ofstream(dir_ + "/runbox.toml") << "max_body = \"2K\"\n"
                                          "anonymous_rate = 0.001\n"
                                          "anonymous_burst = 1\n"
                                          "header_timeout = \"5s\"\n"
                                          "[limits.default]\n"
                                          "cpu_time = \"2s\"\n";
  ServeProcess s(dir_ + "/data", dir_ + "/server.log", {"--config", dir_ + "/runbox.toml"});
  ASSERT_NE(s.port(), 0) << "first line '" << s.first_line() << "'; log:\n" << ReadLog();
  Reply big = Call(s.port(), http::verb::post, "/api/v1/runs", std::string(3000, ' '));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(Call(s.port(), http::verb::get, "/api/v1/languages").status, 200);
  EXPECT_EQ(Call(s.port(), http::verb::get, "/api/v1/languages").status, 429);
  EXPECT_EQ(s.Stop(), 0);
}

TEST_F(ServeHardeningTest, SecondServerOnTheSameDataDirExits1) {
  ServeProcess first(dir_ + "/data", dir_ + "/first.log");
  ASSERT_NE(first.port(), 0);
  ServeProcess second(dir_ + "/data", dir_ + "/server.log");
  EXPECT_EQ(second.port(), 0);
  EXPECT_EQ(second.Stop(), 1);
  std::string log = ReadLog();
  EXPECT_THAT(log, HasSubstr("runbox serve: "));
  EXPECT_THAT(log, HasSubstr(dir_ + "/data"));
  EXPECT_THAT(log, HasSubstr("another runbox server"));
  // The first one is unharmed.
  EXPECT_EQ(Call(first.port(), http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(first.Stop(), 0);
}

TEST_F(ServeHardeningTest, KeysComeFromAFileAndAreRequired) {
  ServeProcess argv_key(dir_ + "/data", dir_ + "/server.log", {"--api-key", "ci:s3cr3t"});
  EXPECT_EQ(argv_key.port(), 0);
  EXPECT_EQ(argv_key.Stop(), 2);
  EXPECT_THAT(ReadLog(), HasSubstr("--api-keys-file"));

  std::string keys = dir_ + "/keys";
  std::ofstream(keys) << "ci:s3cr3t\n";
  ASSERT_EQ(chmod(keys.c_str(), 0600), 0);
  ServeProcess s(dir_ + "/data", dir_ + "/server.log", {"--api-keys-file", keys});
  ASSERT_NE(s.port(), 0) << ReadLog();
  EXPECT_EQ(Call(s.port(), http::verb::get, "/api/v1/languages").status, 401);
  EXPECT_EQ(Call(s.port(), http::verb::get, "/api/v1/languages?api_key=s3cr3t").status, 200);
  EXPECT_EQ(s.Stop(), 0);
  EXPECT_THAT(ReadLog(), ::testing::Not(HasSubstr("s3cr3t\n")));
  EXPECT_THAT(ReadLog(), ::testing::Not(HasSubstr("api_key=s3cr3t")));
}

}  // namespace
