// Native API handlers, router behaviour (auth, rate limits, CORS, errors) and job persistence,
// without sockets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/testing/test_env.h"

namespace runbox::server {
namespace {

using ::testing::HasSubstr;
using testing::TestEnv;
using testing::WaitDone;

const char* kEcho = R"({"language":"echo","files":[{"name":"main.txt","content":"x"}],"stdin":"hi\n"})";

TEST(NativeApiTest, RunAndWait) {
  TestEnv env;
  json j = env.CallJson("POST", "/api/v1/runs", kEcho, 200);
  EXPECT_EQ(j["state"], "done");
  EXPECT_EQ(j["status"], "OK");
  EXPECT_EQ(j["language"], "echo");
  EXPECT_EQ(j["cases"][0]["result"]["stdout"], "hi\n");
  EXPECT_EQ(j["cases"][0]["result"]["status"], "OK");
  EXPECT_TRUE(j["cases"][0]["verdict"].is_null());
  EXPECT_TRUE(j["compile"].is_null());
  EXPECT_THAT(j["id"].get<std::string>(), ::testing::StartsWith("j_"));
  EXPECT_TRUE(j["finished_at"].is_string());
  // The same job is stored and can be fetched again.
  json again = env.CallJson("GET", "/api/v1/jobs/" + j["id"].get<std::string>(), "", 200);
  EXPECT_EQ(again["cases"], j["cases"]);
}

TEST(NativeApiTest, SubmitPollAndList) {
  TestEnv env;
  HttpResponse r = env.Call("POST", "/api/v1/jobs", kEcho);
  ASSERT_EQ(r.status, 202) << r.body;
  json j = json::parse(r.body);
  std::string id = j["id"];
  EXPECT_EQ(j["state"], "queued");
  bool has_location = false;
  for (auto& h : r.headers) {
    has_location = has_location || (h.first == "Location" && h.second == "/api/v1/jobs/" + id);
  }
  EXPECT_TRUE(has_location);
  json done = WaitDone(env, id);
  EXPECT_EQ(done["status"], "OK");
  json list = env.CallJson("GET", "/api/v1/jobs?ids=" + id + ",nope", "", 200);
  ASSERT_EQ(list["jobs"].size(), 2u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  EXPECT_TRUE(list["jobs"][1].is_null());
  env.CallJson("GET", "/api/v1/jobs", "", 400);
  json missing = env.CallJson("GET", "/api/v1/jobs/j_nope", "", 404);
  EXPECT_EQ(missing["error"]["code"], "not_found");
}

TEST(NativeApiTest, JudgedTestsAndCompile) {
  TestEnv env;
  json j = env.CallJson("POST", "/api/v1/runs", R"({"language":"cc",
      "files":[{"name":"main.c","content":"int main(){}"}],
      "tests":[{"stdin":"1","expected_output":"1"},{"stdin":"2","expected_output":"3"}]})",
                        200);
  EXPECT_EQ(j["status"], "WA");
  EXPECT_EQ(j["compile"]["status"], "OK");
  EXPECT_EQ(j["cases"][0]["verdict"], "AC");
  EXPECT_EQ(j["cases"][1]["verdict"], "WA");
  EXPECT_EQ(j["cases"][1]["difference"], "line 1: differs");
  json ce = env.CallJson("POST", "/api/v1/runs", R"({"language":"cc",
      "files":[{"name":"main.c","content":"syntax error"}]})",
                         200);
  EXPECT_EQ(ce["status"], "CE");
  EXPECT_EQ(ce["cases"].size(), 0u);
  EXPECT_THAT(ce["compile"]["stderr"].get<std::string>(), HasSubstr("syntax error"));
}

TEST(NativeApiTest, StatusesOfFailedRuns) {
  TestEnv env;
  for (auto [code, status] : std::vector<std::pair<std::string, std::string>>{
           {"exit 3", "RE"}, {"segv", "SG"}, {"tle", "TLE"}, {"mle", "MLE"}, {"ole", "OLE"}}) {
    json body = {{"language", "echo"}, {"files", {{{"name", "m"}, {"content", code}}}}};
    json j = env.CallJson("POST", "/api/v1/runs", body.dump(), 200);
    EXPECT_EQ(j["status"], status) << code;
  }
}

TEST(NativeApiTest, EngineErrorIsStoredAsSE) {
  TestEnv env;
  // "boom" is not in the fake catalog, so the handler refuses it with 404 ...
  json nf = env.CallJson("POST", "/api/v1/runs",
                         R"({"language":"boom","files":[{"name":"m","content":"x"}]})", 404);
  EXPECT_EQ(nf["error"]["field"], "language");
  // ... while an engine failure during a run ends as a stored SE result.
  engine::Job job;
  job.language = "boom";
  job.files.push_back({"m", "x"});
  job.tests.push_back({});
  std::promise<Result<store::JobRecord>> p;
  auto id = env.jobs().Submit(job, json::object(),
                              [&](Result<store::JobRecord> r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(id);
  auto rec = p.get_future().get();
  ASSERT_TRUE(rec);
  json out = EncodeJobRecord(*rec);
  EXPECT_EQ(out["status"], "SE");
  EXPECT_THAT(out["message"].get<std::string>(), HasSubstr("boom: engine failure"));
}

TEST(NativeApiTest, ValidationErrorsNameTheField) {
  TestEnv env;
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  std::vector<Case> cases = {
      {"{not json", 400, ""},
      {R"({"files":[{"name":"a","content":""}]})", 400, "language"},
      {R"({"language":"echo"})", 400, "files"},
      {R"({"language":"echo","files":[{"name":"../x","content":""}]})", 400, "files[0].name"},
      {R"({"language":"echo","files":[{"name":"a","content":1}]})", 400, "files[0].content"},
      {R"({"language":"echo","files":[{"name":"a","content":"%%","encoding":"base64"}]})", 400,
       "files[0].content"},
      {R"({"language":"echo","files":[{"name":"a","content":""}],"stdin":"","tests":[{}]})", 400,
       "tests"},
      {R"({"language":"echo","files":[{"name":"a","content":""}],"bogus":1})", 400, "bogus"},
      {R"({"language":"echo","files":[{"name":"a","content":""}],"limits":{"cpu_time_ms":999999999}})",
       422, "limits.cpu_time_ms"},
      {R"({"language":"echo","files":[{"name":"a","content":""}],"limits":{"memory_kib":-1}})", 400,
       "limits.memory_kib"},
      {R"({"language":"echo","files":[{"name":"a","content":""}],"compare":"fuzzy"})", 400,
       "compare"},
      {R"({"language":"gone","files":[{"name":"a","content":""}]})", 404, "language"},
  };
  for (const auto& c : cases) {
    HttpResponse r = env.Call("POST", "/api/v1/runs", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.contains("error")) << r.body;
    if (c.field.empty()) {
      EXPECT_FALSE(j["error"].contains("field")) << r.body;
    } else {
      EXPECT_EQ(j["error"]["field"], c.field) << r.body;
    }
  }
}

TEST(NativeApiTest, BatchAllOrNothing) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.queue_size = 3;
  TestEnv env(cfg, 1);
  json ok = env.CallJson("POST", "/api/v1/jobs/batch",
                         json{{"jobs", {json::parse(kEcho), json::parse(kEcho)}}}.dump(), 202);
  ASSERT_EQ(ok["ids"].size(), 2u);
  for (const auto& id : ok["ids"]) {
    EXPECT_EQ(WaitDone(env, id)["status"], "OK");
  }
  json bad = env.CallJson("POST", "/api/v1/jobs/batch",
                          json{{"jobs", {json::parse(kEcho), json{{"language", "echo"}}}}}.dump(),
                          400);
  EXPECT_EQ(bad["error"]["field"], "jobs[1].files");
  // Fill the worker and the queue with slow jobs, then a batch of 2 does not fit.
  json slow = {{"language", "slow"}, {"files", {{{"name", "m"}, {"content", ""}}}}};
  ASSERT_EQ(env.Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
  env.engine().WaitForSlow(1);
  ASSERT_EQ(env.Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
  ASSERT_EQ(env.Call("POST", "/api/v1/jobs", slow.dump()).status, 202);
  HttpResponse full = env.Call("POST", "/api/v1/jobs/batch",
                               json{{"jobs", {json::parse(kEcho), json::parse(kEcho)}}}.dump());
  EXPECT_EQ(full.status, 503);
  EXPECT_THAT(full.body, HasSubstr("queue_full"));
  env.engine().OpenGate();
}

TEST(NativeApiTest, QueueFullIs503WithRetryAfter) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.queue_size = 1;
  TestEnv env(cfg, 1);
  ASSERT_NO_FATAL_FAILURE(env.FillQueueWithSlowJobs());
  HttpResponse r = env.Call("POST", "/api/v1/jobs",
                            R"({"language":"slow","files":[{"name":"m","content":""}]})");
  EXPECT_EQ(r.status, 503);
  bool retry = false;
  for (auto& h : r.headers) {
    retry = retry || h.first == "Retry-After";
  }
  EXPECT_TRUE(retry);
  env.engine().OpenGate();
  std::string metrics = env.Call("GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("runbox_rejected_total{reason=\"queue_full\"} 1"));
}

TEST(NativeApiTest, ShutdownKeepsQueuedJobsForRestart) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  auto store = std::shared_ptr<store::Store>(store::SqliteStore::Open(":memory:").value());
  std::string waiting_id;
  {
    engine::testing::FakeEngine engine;
    auto queue = engine::MakeInProcessQueue(&engine, {1, 8});
    Metrics metrics;
    JobService jobs(&engine, store.get(), queue.get(), &metrics, PolicyOf(cfg));
    engine::Job slow;
    slow.language = "slow";
    slow.files.push_back({"m", ""});
    slow.tests.push_back({});
    engine::Job echo = slow;
    echo.language = "echo";
    echo.tests[0].stdin_data = "later\n";
    std::promise<Result<store::JobRecord>> running_done;
    std::promise<Result<store::JobRecord>> waiting_done;
    ASSERT_TRUE(jobs.Submit(slow, json::object(), [&](Result<store::JobRecord> r) {
      running_done.set_value(std::move(r));
    }));
    engine.WaitForSlow(1);
    auto id = jobs.Submit(echo, json::object(), [&](Result<store::JobRecord> r) {
      waiting_done.set_value(std::move(r));
    });
    ASSERT_TRUE(id);
    waiting_id = *id;
    std::thread stopper([&] { jobs.Shutdown(); });
    // The waiting job's client hears at once that it will run after the restart.
    auto w = waiting_done.get_future().get();
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(w.error().message, HasSubstr(waiting_id));
    engine.OpenGate();  // the running job finishes normally
    stopper.join();
    auto r = running_done.get_future().get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->state, store::JobState::kDone);
    EXPECT_EQ(store->GetJob(waiting_id)->state, store::JobState::kQueued);
  }
  // "Restart": a new service on the same store runs the saved job.
  engine::testing::FakeEngine engine;
  auto queue = engine::MakeInProcessQueue(&engine, {1, 8});
  Metrics metrics;
  JobService jobs(&engine, store.get(), queue.get(), &metrics, PolicyOf(cfg));
  auto n = jobs.Recover();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  for (int i = 0; i < 500 && store->GetJob(waiting_id)->state != store::JobState::kDone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json out = EncodeJobRecord(*store->GetJob(waiting_id));
  EXPECT_EQ(out["status"], "OK");
  EXPECT_EQ(out["cases"][0]["result"]["stdout"], "later\n");
  queue->Shutdown();
}

TEST(NativeApiTest, RecoverFailsJobsACrashLeftRunning) {
  auto store = store::SqliteStore::Open(":memory:").value();
  store::JobRecord r;
  r.id = "j_crashed";
  r.request_json = R"({"language":"echo"})";
  r.created_at_ms = 1;
  ASSERT_TRUE(store->InsertJob(r));
  ASSERT_TRUE(store->MarkRunning("j_crashed", 2));
  engine::testing::FakeEngine engine;
  auto queue = engine::MakeInProcessQueue(&engine, {1, 8});
  Metrics metrics;
  JobService jobs(&engine, store.get(), queue.get(), &metrics,
                  PolicyOf(TestEnv::DefaultConfig()));
  ASSERT_TRUE(jobs.Recover());
  json out = EncodeJobRecord(*store->GetJob("j_crashed"));
  EXPECT_EQ(out["state"], "done");
  EXPECT_EQ(out["status"], "SE");
  EXPECT_THAT(out["message"].get<std::string>(), HasSubstr("stopped while this job was running"));
  queue->Shutdown();
}

TEST(NativeApiTest, Snippets) {
  TestEnv env;
  std::string body = R"({"language":"echo","files":[{"name":"main.txt","content":"hello"}],"stdin":"x","args":["a"]})";
  json created = env.CallJson("POST", "/api/v1/snippets", body, 201);
  std::string id = created["id"];
  EXPECT_EQ(id.size(), 8u);
  HttpResponse got = env.Call("GET", "/api/v1/snippets/" + id);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body), json::parse(body));
  env.CallJson("GET", "/api/v1/snippets/nope", "", 404);
  json bad = env.CallJson("POST", "/api/v1/snippets", R"({"language":"echo","files":[],"x":1})", 400);
  EXPECT_EQ(bad["error"]["field"], "x");
}

// Issue 12: 100k levels of nesting once overflowed the stack (the snippet body was copied and
// dumped before its types were checked); now every endpoint refuses it with a 400.
TEST(NativeApiTest, DeepNestingIsA400OnEveryEndpoint) {
  TestEnv env;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const char* target : {"/api/v1/snippets", "/api/v1/runs", "/api/v1/jobs",
                             "/api/v1/jobs/batch"}) {
    for (const std::string& body :
         {deep, R"({"language":"echo","files":[{"name":"m","content":"x"}],"stdin":)" + deep + "}",
          R"({"language":)" + deep + "}"}) {
      json e = env.CallJson("POST", target, body, 400);
      EXPECT_THAT(e["error"]["message"].get<std::string>(), HasSubstr("deeper than 64 levels"))
          << target;
    }
  }
  // A shallow value of the wrong type is refused by its type.
  json e = env.CallJson("POST", "/api/v1/snippets",
                        R"({"language":"echo","files":[{"name":"m","content":"x"}],
                            "stdin":[[["x"]]]})",
                        400);
  EXPECT_EQ(e["error"]["field"], "stdin");
}

TEST(NativeApiTest, NulInArgvAndControlBytesInNamesAre400s) {
  TestEnv env;
  json a = env.CallJson("POST", "/api/v1/runs",
                        R"({"language":"echo","files":[{"name":"m","content":"x"}],
                            "args":["a\u0000b"]})",
                        400);
  EXPECT_EQ(a["error"]["field"], "args[0]");
  json n = env.CallJson("POST", "/api/v1/runs",
                        R"({"language":"echo","files":[{"name":"m\nx","content":"x"}]})", 400);
  EXPECT_EQ(n["error"]["field"], "files[0].name");
  json m = env.CallJson("POST", "/api/v1/runs",
                        R"({"language":"echo","files":[{"name":"m","content":"x"}],
                            "limits":{"memory_kib":100}})",
                        400);
  EXPECT_EQ(m["error"]["field"], "limits.memory_kib");
}

// A run-and-wait whose answer cannot be built still answers (the queue's own catch would keep
// its worker alive but leave the client waiting).
TEST(NativeApiTest, AnswerWhenDoneAnswersEvenWhenBuildingTheAnswerThrows) {
  auto got = std::make_shared<std::vector<HttpResponse>>();
  auto respond = std::make_shared<Respond>([got](HttpResponse r) { got->push_back(r); });
  HttpResponse fallback;
  fallback.status = 500;
  fallback.body = "fallback";
  auto cb = AnswerWhenDone(
      respond,
      [](Result<store::JobRecord>) -> HttpResponse {
        json j = json::object();
        return JsonResponse(200, j.at("missing"));  // throws json::out_of_range
      },
      fallback);
  store::JobRecord record;
  record.id = "j_x";
  cb(record);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].status, 500);
  EXPECT_EQ((*got)[0].body, "fallback");
  auto ok = AnswerWhenDone(
      respond, [](Result<store::JobRecord>) { return JsonResponse(200, json{{"ok", true}}); },
      fallback);
  ok(record);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].status, 200);
}

TEST(NativeApiTest, LanguagesListsInstalledOnly) {
  TestEnv env;
  json j = env.CallJson("GET", "/api/v1/languages", "", 200);
  std::vector<std::string> ids;
  for (const auto& l : j) {
    ids.push_back(l["id"]);
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre("echo", "cc", "slow"));
  EXPECT_EQ(j[1]["compiled"], true);
  EXPECT_EQ(j[1]["template"], "int main(){}");
}

TEST(NativeApiTest, HealthAndMetrics) {
  TestEnv env;
  json h = env.CallJson("GET", "/healthz", "", 200);
  EXPECT_EQ(h["status"], "ok");
  env.CallJson("POST", "/api/v1/runs", kEcho, 200);
  HttpResponse m = env.Call("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(m.body, HasSubstr("runbox_queue_depth 0"));
  EXPECT_THAT(m.body, HasSubstr("runbox_runs_total{status=\"OK\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("runbox_run_duration_seconds_bucket{le=\"+Inf\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("runbox_slots 2"));
  EXPECT_THAT(m.body, HasSubstr("runbox_slots_busy 0"));
  EXPECT_THAT(m.body, HasSubstr("runbox_http_requests_total{api=\"v1\",code=\"200\"}"));
}

TEST(NativeApiTest, OpenApiCoversEveryRoute) {
  TestEnv env;
  HttpResponse r = env.Call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  json doc = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "docs/api.md's OpenAPI block is not valid JSON";
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const std::string& route : env.router().Describe()) {
    std::string method = ToLower(route.substr(0, route.find(' ')));
    std::string path = route.substr(route.find(' ') + 1);
    ASSERT_TRUE(doc["paths"].contains(path)) << "docs/api.md OpenAPI lacks path " << path;
    EXPECT_TRUE(doc["paths"][path].contains(method))
        << "docs/api.md OpenAPI lacks " << method << " " << path;
  }
}

TEST(RouterTest, UnknownPathsAndMethods) {
  TestEnv env;
  json nf = env.CallJson("GET", "/api/v1/nothing", "", 404);
  EXPECT_EQ(nf["error"]["code"], "not_found");
  json mna = env.CallJson("DELETE", "/api/v1/runs", "", 405);
  EXPECT_EQ(mna["error"]["code"], "method_not_allowed");
  // Compat paths answer in their own error style.
  json piston = env.CallJson("GET", "/api/v2/nothing", "", 404);
  EXPECT_TRUE(piston.contains("message"));
  json judge0 = env.CallJson("GET", "/submissions/a/b", "", 404);
  EXPECT_TRUE(judge0["error"].is_string());
}

TEST(RouterTest, BodyLimitIs413) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.max_body_bytes = 1024;
  TestEnv env(cfg);
  json j = env.CallJson("POST", "/api/v1/runs", std::string(2000, ' '), 413);
  EXPECT_EQ(j["error"]["code"], "payload_too_large");
}

TEST(RouterTest, ApiKeysAndRateLimits) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.require_api_key = true;
  cfg.api_keys = {{"ci", "s3cret", 0, 0}, {"slow", "k2", 0.001, 2}};
  TestEnv env(cfg);
  HttpResponse none = env.Call("GET", "/api/v1/languages");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "wrong"}}).status, 403);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "s3cret"}}).status, 200);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"Authorization", "Bearer s3cret"}}).status,
            200);
  EXPECT_EQ(env.Call("GET", "/languages", "", {{"X-Auth-Token", "s3cret"}}).status, 200);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages?api_key=s3cret").status, 200);
  // Public endpoints need no key.
  EXPECT_EQ(env.Call("GET", "/healthz").status, 200);
  EXPECT_EQ(env.Call("GET", "/api/v1/openapi.json").status, 200);
  // Burst of 2, then 429 with Retry-After.
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "k2"}}).status, 200);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "k2"}}).status, 200);
  HttpResponse limited = env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "k2"}});
  EXPECT_EQ(limited.status, 429);
  bool retry = false;
  for (auto& h : limited.headers) {
    retry = retry || (h.first == "Retry-After" && std::stoi(h.second) >= 1);
  }
  EXPECT_TRUE(retry);
  // The other key is unaffected.
  EXPECT_EQ(env.Call("GET", "/api/v1/languages", "", {{"X-API-Key", "s3cret"}}).status, 200);
  // paiza's form api_key works too.
  HttpResponse paiza = env.Call("POST", "/runners/create",
                                "language=echo&source_code=x&api_key=s3cret",
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(paiza.status, 200) << paiza.body;
}

TEST(RouterTest, AnonymousRateLimitPerIp) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.anonymous_rate = 0.001;
  cfg.anonymous_burst = 1;
  TestEnv env(cfg);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages").status, 200);
  EXPECT_EQ(env.Call("GET", "/api/v1/languages").status, 429);
}

TEST(RouterTest, Cors) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.cors_origins = {"https://ide.example.com"};
  TestEnv env(cfg);
  HttpResponse pre = env.Call("OPTIONS", "/api/v1/runs", "",
                              {{"Origin", "https://ide.example.com"},
                               {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  std::map<std::string, std::string> h(pre.headers.begin(), pre.headers.end());
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "https://ide.example.com");
  EXPECT_THAT(h["Access-Control-Allow-Headers"], HasSubstr("X-API-Key"));
  HttpResponse other = env.Call("GET", "/api/v1/languages", "", {{"Origin", "https://evil.test"}});
  std::map<std::string, std::string> h2(other.headers.begin(), other.headers.end());
  EXPECT_EQ(h2.count("Access-Control-Allow-Origin"), 0u);
}

TEST(RouterTest, HandlerExceptionIs500) {
  TestEnv env;
  env.router().Add("GET", "/api/v1/throw", ApiStyle::kNative,
                   [](const HttpRequest&, const PathParams&, Respond) {
                     throw std::runtime_error("parser exploded");
                   });
  json j = env.CallJson("GET", "/api/v1/throw", "", 500);
  EXPECT_EQ(j["error"]["code"], "internal");
}

// A version that matches nothing installed is a 404 listing what is installed, answered before
// the job is queued (it once came back 200 with an SE result); a malformed range is a 400. Both
// the native API and Piston match node-semver ranges (issue 13).
TEST(NativeApiTest, VersionsAreSemverRangesCheckedBeforeTheJobRuns) {
  TestEnv env;
  auto job = [](const std::string& version) {
    return R"({"language":"cc","version":")" + version +
           R"(","files":[{"name":"main.c","content":"int main(){}"}]})";
  };
  for (const char* ok : {"1", "1.2", "1.2.3", "1.x", "^1.1", ">=1 <2", "*", ""}) {
    json j = env.CallJson("POST", "/api/v1/runs", job(ok), 200);
    EXPECT_EQ(j["status"], "OK") << ok;
  }
  for (const char* miss : {"9.9", "3", "1.2.4", "<1", "2 || 3"}) {
    json j = env.CallJson("POST", "/api/v1/runs", job(miss), 404);
    EXPECT_EQ(j["error"]["field"], "version") << miss;
    EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("installed versions: 1.2.3"));
  }
  json bad = env.CallJson("POST", "/api/v1/runs", job("3..1"), 400);
  EXPECT_EQ(bad["error"]["field"], "version");
  HttpResponse piston = env.Call("POST", "/api/v2/execute", R"({"language":"cc","version":"3..1",
      "files":[{"content":"int main(){}"}]})");
  EXPECT_EQ(piston.status, 400) << piston.body;
  EXPECT_THAT(piston.body, HasSubstr("is not a version range"));
  json pok = env.CallJson("POST", "/api/v2/execute", R"({"language":"cc","version":"^1.2",
      "files":[{"content":"int main(){}"}]})",
                          200);
  EXPECT_EQ(pok["version"], "1.2.3");
}

}  // namespace
}  // namespace runbox::server
