// Piston v2, Judge0 CE and paiza.IO shapes, and the static page, without sockets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "server/judge0_codec.h"
#include "server/testing/test_env.h"

namespace runbox::server {
namespace {

using ::testing::HasSubstr;
using testing::TestEnv;

// --- Piston -----------------------------------------------------------------------------------

TEST(PistonTest, Runtimes) {
  TestEnv env;
  json j = env.CallJson("GET", "/api/v2/runtimes", "", 200);
  ASSERT_TRUE(j.is_array());
  bool found = false;
  for (const auto& rt : j) {
    if (rt["language"] == "cc") {
      found = true;
      EXPECT_EQ(rt["version"], "1.2.3");
      EXPECT_EQ(rt["aliases"], json::array({"c"}));
    }
    EXPECT_NE(rt["language"], "gone");
  }
  EXPECT_TRUE(found);
}

TEST(PistonTest, ExecuteLikePiston) {
  TestEnv env;
  // piston-client posts JSON as text/plain, with no file name and no version.
  HttpResponse r = env.Call("POST", "/api/v2/execute",
                            R"({"language":"echo","files":[{"content":"x"}],"stdin":"in",
                                "args":["1","2"],"run_timeout":3000,"run_memory_limit":-1})",
                            {{"Content-Type", "text/plain;charset=UTF-8"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["language"], "echo");
  EXPECT_EQ(j["version"], "1.0.0");
  EXPECT_FALSE(j.contains("compile"));
  // Piston adds a trailing newline to stdin.
  EXPECT_EQ(j["run"]["stdout"], "in\n1\n2\n");
  EXPECT_EQ(j["run"]["output"], "in\n1\n2\n");
  EXPECT_EQ(j["run"]["code"], 0);
  EXPECT_TRUE(j["run"]["signal"].is_null());
  EXPECT_TRUE(j["run"]["status"].is_null());
  EXPECT_TRUE(j["run"]["message"].is_null());
  EXPECT_EQ(j["run"]["memory"], 1024 * 1024);
  EXPECT_EQ(j["run"]["cpu_time"], 3);
  EXPECT_EQ(j["run"]["wall_time"], 5);
}

TEST(PistonTest, CompiledAndCompileError) {
  TestEnv env;
  json ok = env.CallJson("POST", "/api/v2/execute",
                         R"({"language":"c","version":"1.x","files":[{"content":"int main(){}"}]})",
                         200);
  EXPECT_EQ(ok["language"], "cc");
  EXPECT_EQ(ok["compile"]["code"], 0);
  EXPECT_EQ(ok["run"]["code"], 0);
  json ce = env.CallJson("POST", "/api/v2/execute",
                         R"({"language":"cc","version":"*","files":[{"content":"syntax error"}]})",
                         200);
  EXPECT_EQ(ce["compile"]["code"], 1);
  EXPECT_EQ(ce["compile"]["status"], "RE");
  EXPECT_THAT(ce["compile"]["stderr"].get<std::string>(), HasSubstr("syntax error"));
  EXPECT_EQ(ce["run"], ce["compile"]);  // v2.js backward compatibility
}

TEST(PistonTest, StatusCodes) {
  TestEnv env;
  auto run = [&](const std::string& code) {
    json body = {{"language", "echo"}, {"files", {{{"content", code}}}}};
    return env.CallJson("POST", "/api/v2/execute", body.dump(), 200)["run"];
  };
  json re = run("exit 2");
  EXPECT_EQ(re["status"], "RE");
  EXPECT_EQ(re["code"], 2);
  json sg = run("segv");
  EXPECT_EQ(sg["status"], "SG");
  EXPECT_EQ(sg["signal"], "SIGSEGV");
  EXPECT_TRUE(sg["code"].is_null());
  json to = run("tle");
  EXPECT_EQ(to["status"], "TO");
  EXPECT_EQ(to["signal"], "SIGKILL");
  EXPECT_EQ(run("ole")["status"], "OL");
  EXPECT_EQ(run("mle")["status"], "SG");
}

TEST(PistonTest, Errors) {
  TestEnv env;
  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {"{}", "language is required as a string"},
      {R"({"language":"echo","version":3})", "version is required as a string"},
      {R"({"language":"echo"})", "files is required as an array"},
      {R"({"language":"echo","files":[{}]})", "files[0].content is required as a string"},
      {R"({"language":"nope","version":"1.0.0","files":[{"content":""}]})",
       "nope-1.0.0 runtime is unknown"},
      {R"({"language":"echo","version":"9","files":[{"content":""}]})",
       "echo-9 runtime is unknown"},
      {R"({"language":"echo","files":[{"content":""}],"run_timeout":"1"})",
       "If specified, run_timeout must be a number"},
      {R"({"language":"echo","files":[{"content":""}],"run_timeout":999999999})",
       "run_timeout cannot exceed the configured limit of 120000"},
      {R"({"language":"echo","files":[{"content":"","encoding":"base64"}]})",
       "files must include at least one utf8 encoded file"},
      {R"({"language":"echo","files":[{"name":"../x","content":""}]})", "escape"},
  };
  for (const auto& c : cases) {
    HttpResponse r = env.Call("POST", "/api/v2/execute", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_THAT(j.value("message", ""), HasSubstr(c.message)) << c.body;
  }
}


// Issue 12: strict hex, no exception to a 500; capped files before any per-file work; NUL argv.
TEST(PistonTest, HostileRequestsAre400s) {
  TestEnv env;
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string utf8 = R"({"content":"x"})";
  std::vector<Case> cases = {
      {R"({"language":"echo","files":[{"content":"zz","encoding":"hex"},)" + utf8 + "]}",
       "files[0].content is not valid hex"},
      {R"({"language":"echo","files":[{"content":"1z-1 f","encoding":"hex"},)" + utf8 + "]}",
       "not valid hex"},
      {R"({"language":"echo","files":[{"content":"abc","encoding":"hex"},)" + utf8 + "]}",
       "not valid hex"},
      {R"({"language":"echo","files":[{"content":"x","encoding":"rot13"}]})",
       "files[0].encoding must be utf8, base64 or hex"},
      {R"({"language":"echo","files":[{"content":"x"}],"args":["a","b\u0000c"]})",
       "args[1]: must not contain a NUL byte"},
      {R"({"language":"echo","files":[{"content":"x"}],"args":"a"})",
       "args must be an array of strings"},
      {R"({"language":"echo","files":[{"name":"a\nb","content":"x"}]})",
       "files[0].name: must not contain NUL, newline or other control characters"},
      {R"({"language":"echo","files":[{"content":"x"}],"stdin":["x"]})", "stdin must be a string"},
      {R"({"language":"echo","files":[{"content":"x"}],"run_memory_limit":1000})",
       "run_memory_limit must be at least 4194304 bytes"},
      {R"({"language":"echo","files":[{"content":"x"}],"run_timeout":1e300})",
       "run_timeout cannot exceed"},
      {R"({"language":"echo","files":[{"content":"x"}],"run_timeout":1e400})",
       "not valid JSON"},  // nlohmann: number overflow
      {R"({"language":"echo","files":[{"content":"x"}],"compile_cpu_time":0.2})",
       "compile_cpu_time must be at least 1"},
      {R"({"language":"echo","files":[{"content":"x"},{"content":"y","name":"file0.code"},)"
       R"({"name":"file0.code","content":"z"}]})",
       "files[2].name is used twice"},
      {R"({"language":"echo","files":)" + std::string(100000, '[') + std::string(100000, ']') +
           "}",
       "deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    HttpResponse r = env.Call("POST", "/api/v2/execute", c.body);
    EXPECT_EQ(r.status, 400) << c.body.substr(0, 200);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_THAT(j.value("message", ""), HasSubstr(c.message)) << c.body.substr(0, 200);
  }
  HttpResponse ok = env.Call("POST", "/api/v2/execute",
                             R"({"language":"echo","files":[{"content":"x"},
                                 {"name":"d","content":"6869","encoding":"hex"}]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(PistonTest, HundredThousandFilesAreRefusedAtOnce) {
  TestEnv env;
  std::string body = R"({"language":"echo","files":[)";
  for (int i = 0; i < 100000; ++i) {
    body += (i ? "," : "") + std::string(R"({"name":"f)") + std::to_string(i) +
            R"(","content":""})";
  }
  body += "]}";
  auto start = std::chrono::steady_clock::now();
  HttpResponse r = env.Call("POST", "/api/v2/execute", body);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(json::parse(r.body).value("message", ""), HasSubstr("at most 64 files"));
  // It took 18 s once (a quadratic duplicate check); parsing 3.5 MB is the cost now.
  EXPECT_LT(took, std::chrono::seconds(3));
}

// --- Judge0 -----------------------------------------------------------------------------------

TEST(Judge0MappingTest, TableCoversCommonIds) {
  std::set<int> ids;
  for (const auto& l : Judge0LanguageTable()) {
    EXPECT_TRUE(ids.insert(l.id).second) << "duplicate id " << l.id;
    EXPECT_FALSE(l.candidates.empty());
  }
  for (int id : {50, 54, 62, 63, 71, 72, 73, 74, 60, 51, 68, 92, 93, 91}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
}

TEST(Judge0MappingTest, Statuses) {
  TestEnv env;
  json j = env.CallJson("GET", "/statuses", "", 200);
  ASSERT_EQ(j.size(), 14u);
  EXPECT_EQ(j[0], json({{"id", 1}, {"description", "In Queue"}}));
  EXPECT_EQ(j[5], json({{"id", 6}, {"description", "Compilation Error"}}));
  EXPECT_EQ(j[13], json({{"id", 14}, {"description", "Exec Format Error"}}));
  json about = env.CallJson("GET", "/about", "", 200);
  EXPECT_TRUE(about.contains("version"));
  json cfg = env.CallJson("GET", "/config_info", "", 200);
  EXPECT_EQ(cfg["max_queue_size"], 8);
  EXPECT_EQ(cfg["enable_callbacks"], true);
  EXPECT_EQ(cfg["max_submission_batch_size"], 20);
}

// The fake catalog has no C/C++/Python, so these tests reach it through Judge0 ids whose
// candidates include the fake ids: 75 C (Clang) -> "c" alias of "cc".
constexpr int kFakeC = 75;

TEST(Judge0MappingTest, LanguagesListInstalledMappedOnes) {
  TestEnv env;
  json j = env.CallJson("GET", "/languages", "", 200);
  std::set<int> ids;
  for (const auto& l : j) {
    ids.insert(l["id"].get<int>());
    EXPECT_THAT(l["name"].get<std::string>(), HasSubstr("fakecc 1.2.3"));
  }
  EXPECT_EQ(ids, (std::set<int>{50}));  // the first id that resolves to "cc" (via alias "c")
  json one = env.CallJson("GET", "/languages/75", "", 200);
  EXPECT_EQ(one["source_file"], "main.c");
  EXPECT_EQ(one["is_archived"], false);
  env.CallJson("GET", "/languages/9999", "", 404);
  env.CallJson("GET", "/languages/abc", "", 404);
}

TEST(Judge0MappingTest, CreateWaitAndShow) {
  TestEnv env;
  json body = {{"source_code", "int main(){}"}, {"language_id", kFakeC}, {"stdin", "42"},
               {"expected_output", "42"}};
  json w = env.CallJson("POST", "/submissions?wait=true", body.dump(), 201);
  EXPECT_EQ(w["status"], json({{"id", 3}, {"description", "Accepted"}}));
  EXPECT_EQ(w["stdout"], "42");
  EXPECT_EQ(w["time"], "0.003");
  EXPECT_EQ(w["memory"], 1024);
  EXPECT_TRUE(w["stderr"].is_null());
  EXPECT_TRUE(w["compile_output"].is_null());
  EXPECT_TRUE(w["message"].is_null());
  // Default fields only.
  std::set<std::string> keys;
  for (auto& [k, v] : w.items()) {
    keys.insert(k);
  }
  EXPECT_EQ(keys, (std::set<std::string>{"token", "time", "memory", "stdout", "stderr",
                                         "compile_output", "message", "status"}));
  std::string token = w["token"];
  json all = env.CallJson("GET", "/submissions/" + token + "?fields=*", "", 200);
  EXPECT_EQ(all["language_id"], kFakeC);
  EXPECT_EQ(all["source_code"], "int main(){}");
  EXPECT_EQ(all["status_id"], 3);
  EXPECT_EQ(all["exit_code"], 0);
  EXPECT_EQ(all["wall_time"], "0.005");
  EXPECT_EQ(all["language"]["id"], kFakeC);
  json some = env.CallJson("GET", "/submissions/" + token + "?fields=stdout,status_id", "", 200);
  EXPECT_EQ(some.size(), 2u);
  json b64 = env.CallJson("GET", "/submissions/" + token + "?base64_encoded=true&fields=stdout",
                          "", 200);
  EXPECT_EQ(b64["stdout"], Base64Encode("42"));
  json badf = env.CallJson("GET", "/submissions/" + token + "?fields=stdout,nope,zap", "", 400);
  EXPECT_EQ(badf["error"], "invalid fields: [nope, zap]");
  env.CallJson("GET", "/submissions/nope", "", 404);
}

TEST(Judge0MappingTest, AsyncTokenAndStates) {
  TestEnv env;
  json body = {{"source_code", "x"}, {"language_id", kFakeC}};
  json t = env.CallJson("POST", "/submissions", body.dump(), 201);
  ASSERT_EQ(t.size(), 1u);
  std::string token = t["token"];
  json s;
  for (int i = 0; i < 500; ++i) {
    s = env.CallJson("GET", "/submissions/" + token, "", 200);
    if (s["status"]["id"].get<int>() > 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(s["status"]["id"], 3);
}

TEST(Judge0MappingTest, StatusMapping) {
  TestEnv env;
  auto status_of = [&](const std::string& code, const std::string& expected = "") {
    json body = {{"source_code", code}, {"language_id", kFakeC}};
    if (!expected.empty()) {
      body["expected_output"] = expected;
    }
    return env.CallJson("POST", "/submissions?wait=true&fields=status_id,message,exit_code,"
                                "exit_signal,compile_output",
                        body.dump(), 201);
  };
  EXPECT_EQ(status_of("x", "nope")["status_id"], 4);  // WA
  EXPECT_EQ(status_of("tle")["status_id"], 5);
  json ce = status_of("syntax error");
  EXPECT_EQ(ce["status_id"], 6);
  EXPECT_THAT(ce["compile_output"].get<std::string>(), HasSubstr("syntax error"));
  json segv = status_of("segv");
  EXPECT_EQ(segv["status_id"], 7);
  EXPECT_EQ(segv["exit_signal"], 11);
  json nzec = status_of("exit 3");
  EXPECT_EQ(nzec["status_id"], 11);
  EXPECT_EQ(nzec["exit_code"], 3);
  EXPECT_EQ(status_of("mle")["status_id"], 12);
  EXPECT_EQ(status_of("ole")["status_id"], 8);
}

TEST(Judge0MappingTest, Base64AndUtf8) {
  TestEnv env;
  json body = {{"source_code", Base64Encode("x")}, {"language_id", kFakeC},
               {"stdin", Base64Encode(std::string("\xff\xfe", 2))}};
  json w = env.CallJson("POST", "/submissions?base64_encoded=true&wait=true", body.dump(), 201);
  EXPECT_EQ(w["stdout"], Base64Encode(std::string("\xff\xfe", 2)));
  // Without base64 the same submission cannot be shown as UTF-8.
  json plain = env.CallJson("GET", "/submissions/" + w["token"].get<std::string>(), "", 400);
  EXPECT_THAT(plain["error"].get<std::string>(), HasSubstr("base64_encoded=true"));
}

TEST(Judge0MappingTest, ValidationIs422WithFieldMessages) {
  TestEnv env;
  json e = env.CallJson("POST", "/submissions", R"({"cpu_time_limit":1000,"memory_limit":10})",
                        422);
  EXPECT_EQ(e["source_code"], json::array({"can't be blank"}));
  EXPECT_EQ(e["language_id"], json::array({"can't be blank"}));
  EXPECT_EQ(e["cpu_time_limit"], json::array({"must be less than or equal to 60"}));
  // Judge0's own minimum is 2048 KB; a box needs 4 MiB, so that is the minimum here.
  EXPECT_EQ(e["memory_limit"], json::array({"must be greater than or equal to 4096"}));
  json l = env.CallJson("POST", "/submissions",
                        R"({"source_code":"x","language_id":12345,"enable_network":true})", 422);
  EXPECT_EQ(l["language_id"], json::array({"language with id 12345 doesn't exist"}));
  EXPECT_EQ(l["enable_network"], json::array({"enabling network is not allowed"}));
  json cb = env.CallJson("POST", "/submissions",
                         R"({"source_code":"x","language_id":75,
                             "callback_url":"http://169.254.169.254/latest"})",
                         422);
  EXPECT_TRUE(cb.contains("callback_url"));
  // Form bodies work like JSON.
  HttpResponse form = env.Call("POST", "/submissions?wait=true",
                               "source_code=x&language_id=75&stdin=hi",
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 201) << form.body;
  EXPECT_EQ(json::parse(form.body)["stdout"], "hi");
}

// Issue 12: every numeric field through one bounded conversion, text fields that are not text,
// NUL in argv: 422s naming the field, never a 201 that ends as "Internal Error".
TEST(Judge0MappingTest, HostileFieldsAre422sNamingTheField) {
  TestEnv env;
  struct Case {
    std::string extra;  // added to a valid body
    std::string field;
    std::string message;
  };
  std::vector<Case> cases = {
      {R"("cpu_time_limit":"nan")", "cpu_time_limit", "is not a number"},
      {R"("wall_time_limit":"inf")", "wall_time_limit", "is not a number"},
      {R"("memory_limit":"nan")", "memory_limit", "is not a number"},
      {R"("memory_limit":3000)", "memory_limit", "must be greater than or equal to 4096"},
      {R"("stack_limit":"0x10")", "stack_limit", "is not a number"},
      {R"("max_processes_and_or_threads":"NaN")", "max_processes_and_or_threads",
       "is not a number"},
      {R"("max_file_size":1e300)", "max_file_size", "must be less than or equal to"},
      {R"("number_of_runs":" 1")", "number_of_runs", "is not a number"},
      {R"("cpu_extra_time":"1e400")", "cpu_extra_time", "is not a number"},
      {R"("command_line_arguments":"a\u0000b")", "command_line_arguments", "NUL"},
      {R"("compiler_options":"-O2\u0000-o/etc/x")", "compiler_options", "NUL"},
      {R"("stdin":{"a":[1]})", "stdin", "must be a string"},
      {R"("expected_output":[1,2])", "expected_output", "must be a string"},
  };
  for (const auto& c : cases) {
    std::string body = R"({"source_code":"x","language_id":75,)" + c.extra + "}";
    json e = env.CallJson("POST", "/submissions?wait=true", body, 422);
    ASSERT_TRUE(e.contains(c.field)) << body << " -> " << e.dump();
    EXPECT_THAT(e[c.field][0].get<std::string>(), HasSubstr(c.message)) << body;
  }
  for (const char* id : {"1e300", "\"1e300\"", "\"nan\"", "71.5", "-1", "18446744073709551615"}) {
    std::string body = std::string(R"({"source_code":"x","language_id":)") + id + "}";
    json e = env.CallJson("POST", "/submissions", body, 422);
    EXPECT_TRUE(e.contains("language_id")) << body << " -> " << e.dump();
  }
  // Forms send every number as text.
  HttpResponse form = env.Call("POST", "/submissions", "source_code=x&language_id=75&memory_limit=nan",
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 422);
  EXPECT_TRUE(json::parse(form.body).contains("memory_limit"));
  HttpResponse nul = env.Call("POST", "/submissions",
                              "source_code=x&language_id=75&command_line_arguments=a%00b",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(nul.status, 422);
  EXPECT_TRUE(json::parse(nul.body).contains("command_line_arguments"));
  // A deeply nested source_code is refused by the parser's depth cap.
  HttpResponse deep = env.Call("POST", "/submissions",
                               R"({"language_id":75,"source_code":)" +
                                   std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_EQ(deep.status, 400);
  EXPECT_THAT(deep.body, HasSubstr("deeper than 64 levels"));
  HttpResponse shallow = env.Call("POST", "/submissions",
                                  R"({"language_id":75,"source_code":[[["x"]]]})");
  EXPECT_EQ(shallow.status, 422);
  EXPECT_TRUE(json::parse(shallow.body).contains("source_code"));
  // Sane values still work, numbers as strings too.
  json ok = env.CallJson("POST", "/submissions?wait=true&fields=*",
                         R"({"source_code":"x","language_id":"75","cpu_time_limit":"2.5",
                             "memory_limit":"65536","stdin":"hi"})",
                         201);
  EXPECT_EQ(ok["stdout"], "hi");
  EXPECT_EQ(ok["cpu_time_limit"], "2.500");
  EXPECT_EQ(ok["memory_limit"], 65536);
  EXPECT_EQ(env.CallJson("GET", "/languages/99999999999999999999", "", 404)["error"],
            "language with id 99999999999999999999 doesn't exist");
}

TEST(Judge0MappingTest, BatchAndCallbacks) {
  TestEnv env;
  json batch = {{"submissions",
                 {{{"source_code", "a"}, {"language_id", kFakeC}, {"stdin", "1"}},
                  {{"language_id", kFakeC}},
                  {{"source_code", "b"},
                   {"language_id", kFakeC},
                   {"stdin", "2"},
                   {"callback_url", "http://127.0.0.1:9/hook"}}}}};
  json created = env.CallJson("POST", "/submissions/batch", batch.dump(), 201);
  ASSERT_EQ(created.size(), 3u);
  EXPECT_TRUE(created[0].contains("token"));
  EXPECT_EQ(created[1]["source_code"], json::array({"can't be blank"}));
  std::string t0 = created[0]["token"];
  std::string t2 = created[2]["token"];
  json shown;
  for (int i = 0; i < 500; ++i) {
    shown = env.CallJson("GET", "/submissions/batch?tokens=" + t0 + ",missing," + t2 +
                                    "&fields=token,status_id,stdout",
                         "", 200);
    if (shown["submissions"][0]["status_id"] == 3 && shown["submissions"][2]["status_id"] == 3) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(shown["submissions"].size(), 3u);
  EXPECT_EQ(shown["submissions"][0]["stdout"], "1");
  EXPECT_TRUE(shown["submissions"][1].is_null());
  EXPECT_EQ(shown["submissions"][2]["stdout"], "2");
  // The callback went to the allow-listed address, base64-encoded, with the default fields.
  std::vector<std::pair<std::string, std::string>> puts;
  for (int i = 0; i < 100 && puts.empty(); ++i) {
    puts = env.puts();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].first, "http://127.0.0.1:9/hook");
  json cb = json::parse(puts[0].second);
  EXPECT_EQ(cb["token"], t2);
  EXPECT_EQ(cb["stdout"], Base64Encode("2"));
  env.CallJson("POST", "/submissions/batch", R"({"submissions":[]})", 400);
  env.CallJson("GET", "/submissions/batch", "", 400);
  env.CallJson("DELETE", "/submissions/" + t0, "", 400);
}

TEST(Judge0MappingTest, QueueFullIs503) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.queue_size = 1;
  TestEnv env(cfg, 1);
  ASSERT_NO_FATAL_FAILURE(env.FillQueueWithSlowJobs());
  json e = env.CallJson("POST", "/submissions", R"({"source_code":"x","language_id":75})", 503);
  EXPECT_EQ(e["error"], "queue is full");
  env.engine().OpenGate();
}

// --- paiza.IO ---------------------------------------------------------------------------------

TEST(PaizaTest, CreatePollDetails) {
  TestEnv env;
  HttpResponse c = env.Call("POST", "/runners/create",
                            "source_code=print&language=cat&input=hello&api_key=guest",
                            {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(c.status, 200) << c.body;
  json created = json::parse(c.body);
  std::string id = created["id"];
  EXPECT_TRUE(created["status"] == "running" || created["status"] == "completed");
  json st;
  for (int i = 0; i < 500; ++i) {
    st = env.CallJson("GET", "/runners/get_status?id=" + id + "&api_key=guest", "", 200);
    if (st["status"] == "completed") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st["status"], "completed");
  json d = env.CallJson("GET", "/runners/get_details.json?id=" + id, "", 200);
  EXPECT_EQ(d["id"], id);
  EXPECT_EQ(d["language"], "cat");
  EXPECT_EQ(d["status"], "completed");
  EXPECT_EQ(d["stdout"], "hello");
  EXPECT_EQ(d["stderr"], "");
  EXPECT_EQ(d["exit_code"], 0);
  EXPECT_EQ(d["time"], "0.00");
  EXPECT_EQ(d["memory"], 1024 * 1024);
  EXPECT_EQ(d["result"], "success");
  EXPECT_TRUE(d["build_result"].is_null());
  EXPECT_EQ(d["connections"], 0);
  EXPECT_TRUE(d.contains("note"));
}

TEST(PaizaTest, LongPollAndBuild) {
  TestEnv env;
  json c = env.CallJson("POST", "/runners/create",
                        R"({"source_code":"syntax error","language":"cc","longpoll":true,
                            "longpoll_timeout":5})",
                        200);
  EXPECT_EQ(c["status"], "completed");
  json d = env.CallJson("GET", "/runners/get_details?id=" + c["id"].get<std::string>(), "", 200);
  EXPECT_EQ(d["build_result"], "failure");
  EXPECT_EQ(d["build_exit_code"], 1);
  EXPECT_THAT(d["build_stderr"].get<std::string>(), HasSubstr("syntax error"));
  EXPECT_TRUE(d["result"].is_null());
  json t = env.CallJson("POST", "/runners/create",
                        R"({"source_code":"tle","language":"cat","longpoll":"true"})", 200);
  json td = env.CallJson("GET", "/runners/get_details?id=" + t["id"].get<std::string>(), "", 200);
  EXPECT_EQ(td["result"], "timeout");
}

TEST(PaizaTest, Errors) {
  TestEnv env;
  json e = env.CallJson("POST", "/runners/create", R"({"language":"cat"})", 400);
  EXPECT_TRUE(e["error"].is_string());
  json l = env.CallJson("POST", "/runners/create", R"({"language":"cobol","source_code":"x"})",
                        400);
  EXPECT_THAT(l["error"].get<std::string>(), HasSubstr("cobol"));
  json nf = env.CallJson("GET", "/runners/get_details?id=nope", "", 404);
  EXPECT_TRUE(nf["error"].is_string());
}

TEST(PaizaTest, HostileParamsAre400s) {
  TestEnv env;
  json deep = env.CallJson("POST", "/runners/create",
                           R"({"language":"cat","source_code":)" + std::string(100000, '[') +
                               std::string(100000, ']') + "}",
                           400);
  EXPECT_THAT(deep["error"].get<std::string>(), HasSubstr("deeper than 64 levels"));
  json nested = env.CallJson("POST", "/runners/create",
                             R"({"language":"cat","source_code":{"a":[1]}})", 400);
  EXPECT_EQ(nested["error"], "source_code must be a string");
  json nan = env.CallJson("POST", "/runners/create",
                          R"({"language":"cat","source_code":"x","longpoll":true,
                              "longpoll_timeout":"nan"})",
                          400);
  EXPECT_THAT(nan["error"].get<std::string>(), HasSubstr("longpoll_timeout"));
  // A number as source is its text, as before.
  json num = env.CallJson("POST", "/runners/create",
                          R"({"language":"cat","source_code":42,"longpoll":true})", 200);
  EXPECT_EQ(num["status"], "completed");
}

// The long poll answers from the timer thread (longpoll_timeout) or an engine worker (the job
// finished), where nothing above answers the client or catches: a respond that threw there (the
// connection layer failing, bad_alloc) ended the whole server with std::terminate.
TEST(PaizaTest, LongPollAnswerThatThrowsLeavesTheServerRunning) {
  TestEnv env;
  spdlog::set_level(spdlog::level::off);  // the throws are logged as errors
  for (const char* body :
       {R"({"source_code":"x","language":"slow","longpoll":true,"longpoll_timeout":0.05})",
        R"({"source_code":"x","language":"cat","longpoll":true})"}) {
    HttpRequest req;
    req.method = "POST";
    req.target = req.path = "/runners/create";
    req.headers["content-type"] = "application/json";
    req.body = body;
    auto called = std::make_shared<std::promise<void>>();
    env.router().Handle(req, [called](HttpResponse) {
      called->set_value();
      throw std::runtime_error("the connection layer failed");
    });
    EXPECT_EQ(called->get_future().wait_for(std::chrono::seconds(10)),
              std::future_status::ready)
        << body;
  }
  spdlog::set_level(spdlog::level::warn);
  // Still serving, and the timer queue still runs long polls.
  json done = env.CallJson("POST", "/runners/create",
                           R"({"source_code":"x","language":"cat","longpoll":true})", 200);
  EXPECT_EQ(done["status"], "completed");
}

// --- static files -----------------------------------------------------------------------------

class StaticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runbox-static-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/site/assets");
    std::ofstream(dir_ + "/site/index.html") << "<html>runbox</html>";
    std::ofstream(dir_ + "/site/assets/app-1234.js") << "console.log(1)";
    std::ofstream(dir_ + "/site/assets/style.css") << "body{}";
    std::ofstream(dir_ + "/secret.txt") << "top secret";
    std::filesystem::create_symlink(dir_ + "/secret.txt", dir_ + "/site/link.txt");
    std::ofstream(dir_ + "/site/.env") << "hidden";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StaticTest, ServesFilesWithTypesAndNothingOutside) {
  ServerConfig cfg = TestEnv::DefaultConfig();
  cfg.static_dir = dir_ + "/site";
  TestEnv env(cfg);
  HttpResponse index = env.Call("GET", "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<html>runbox</html>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  HttpResponse js = env.Call("GET", "/assets/app-1234.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(env.Call("GET", "/assets/style.css").content_type, "text/css; charset=utf-8");
  for (const char* bad : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                          "/link.txt", "/.env", "/missing.html", "/assets/"}) {
    HttpResponse r = env.Call("GET", bad);
    EXPECT_EQ(r.status, 404) << bad;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("secret"))) << bad;
  }
  // The API stays the API: no page fallback under /api/.
  EXPECT_EQ(env.Call("GET", "/api/v1/nothing").content_type, "application/json");
}

}  // namespace
}  // namespace runbox::server
