// JSON codec, HTTP helpers and the stored-request round trip.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/api.h"
#include "server/codec.h"
#include "server/http_types.h"
#include "server/job_service.h"

namespace runbox::server {
namespace {

using ::testing::HasSubstr;

TEST(HttpTypesTest, ParseTarget) {
  std::string path;
  std::map<std::string, std::string> q;
  ASSERT_TRUE(ParseTarget("/api/v1/jobs?ids=a%2Cb&x=1+2&flag", &path, &q));
  EXPECT_EQ(path, "/api/v1/jobs");
  EXPECT_EQ(q["ids"], "a,b");
  EXPECT_EQ(q["x"], "1 2");
  EXPECT_EQ(q.count("flag"), 1u);
  ASSERT_TRUE(ParseTarget("/a%20b/..%2f", &path, &q));
  EXPECT_EQ(path, "/a b/../");
  EXPECT_FALSE(ParseTarget("/bad%zz", &path, &q));
  EXPECT_FALSE(ParseTarget("/bad%2", &path, &q));
  EXPECT_FALSE(ParseTarget("/nul%00", &path, &q));
  EXPECT_FALSE(ParseTarget("http://x/", &path, &q));
}

TEST(HttpTypesTest, FormAndHeaders) {
  std::map<std::string, std::string> f;
  ASSERT_TRUE(ParseForm("source_code=print(1)%0A&language=python3&input=", &f));
  EXPECT_EQ(f["source_code"], "print(1)\n");
  EXPECT_EQ(f["language"], "python3");
  EXPECT_EQ(f["input"], "");
  HttpRequest r;
  r.headers["content-type"] = "Application/JSON; charset=utf-8";
  EXPECT_EQ(r.MediaType(), "application/json");
  EXPECT_EQ(r.Header("Content-Type"), "Application/JSON; charset=utf-8");
}

TEST(CodecTest, Base64) {
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"),
                        std::string("foo"), std::string("foob"), std::string("\xff\x00\x10", 3)}) {
    std::string d;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &d));
    EXPECT_EQ(d, s);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  std::string d;
  ASSERT_TRUE(Base64Decode("aGVs\nbG8", &d));  // MIME line breaks, no padding
  EXPECT_EQ(d, "hello");
  EXPECT_FALSE(Base64Decode("a!b", &d));
  EXPECT_FALSE(Base64Decode("aGVsbG8=x", &d));
}

TEST(CodecTest, Utf8AndDump) {
  EXPECT_TRUE(IsValidUtf8("héllo ✓ 😀"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  // Program output that is not UTF-8 must not break the response.
  std::string out = Dump(json{{"stdout", std::string("ok\xff")}});
  EXPECT_THAT(out, HasSubstr("ok\xef\xbf\xbd"));
}

TEST(CodecTest, FileNames) {
  for (const char* ok : {"main.c", "lib/util.h", "a-b_c.d", "Main.java"}) {
    EXPECT_TRUE(ValidFileName(ok)) << ok;
  }
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", "a\\b"}) {
    EXPECT_FALSE(ValidFileName(bad)) << bad;
  }
}

TEST(CodecTest, LimitsApplyOnTopOfDefaults) {
  LimitsPolicy p{ServerConfig{}.default_limits, ServerConfig::DefaultMaxLimits()};
  sandbox::Limits l;
  ApiError err;
  ASSERT_TRUE(DecodeLimits(json{{"cpu_time_ms", 1500}, {"memory_kib", 65536}}, "limits", p, &l,
                           &err));
  EXPECT_EQ(l.cpu_time.count(), 1500);
  EXPECT_EQ(l.memory_bytes, 64u << 20);
  EXPECT_EQ(l.wall_time, p.defaults.wall_time);
  EXPECT_EQ(EncodeLimits(l)["memory_kib"], 65536);
  EXPECT_FALSE(DecodeLimits(json{{"pids", 100000}}, "limits", p, &l, &err));
  EXPECT_EQ(err.status, 422);
  EXPECT_EQ(err.field, "limits.pids");
  EXPECT_FALSE(DecodeLimits(json{{"pids", "many"}}, "limits", p, &l, &err));
  EXPECT_EQ(err.status, 400);
}

TEST(CodecTest, OverallStatus) {
  engine::JobResult r;
  EXPECT_EQ(OverallStatus(r), "OK");
  engine::CaseResult ok;
  ok.run.status = sandbox::RunStatus::kOk;
  ok.verdict = engine::Verdict::kAccepted;
  r.cases = {ok, ok};
  EXPECT_EQ(OverallStatus(r), "AC");
  r.cases[1].verdict = engine::Verdict::kWrongAnswer;
  EXPECT_EQ(OverallStatus(r), "WA");
  r.cases[0].run.status = sandbox::RunStatus::kTimeLimit;
  EXPECT_EQ(OverallStatus(r), "TLE");
  r.compile_error = true;
  EXPECT_EQ(OverallStatus(r), "CE");
}

TEST(CodecTest, ErrorMapping) {
  EXPECT_EQ(FromError(MakeError(ErrorCode::kInvalidArgument, "x")).status, 400);
  EXPECT_EQ(FromError(MakeError(ErrorCode::kNotFound, "x")).status, 404);
  EXPECT_EQ(FromError(MakeError(ErrorCode::kPermissionDenied, "x")).status, 403);
  EXPECT_EQ(FromError(MakeError(ErrorCode::kResourceExhausted, "x")).code, "queue_full");
  EXPECT_EQ(FromError(MakeError(ErrorCode::kUnavailable, "x")).status, 503);
  EXPECT_EQ(FromError(MakeError(ErrorCode::kInternal, "x")).status, 500);
}

TEST(CodecTest, StoredRequestRoundTripKeepsBytes) {
  engine::Job job;
  job.language = "cpp";
  job.files = {{"main.cpp", "int main(){}"}, {"data.bin", std::string("\x00\xff\x01", 3)}};
  job.main_file = "main.cpp";
  job.tests = {{std::string("\xfe\n", 2), std::string("ok\n")}, {"2\n", std::nullopt}};
  job.args = {"a", "b"};
  job.compiler_options = {"-O2"};
  job.compare = engine::CompareMode::kTokens;
  sandbox::Limits l;
  l.cpu_time = std::chrono::milliseconds(1234);
  job.run_limits = l;
  json stored = EncodeStoredRequest(job);
  stored["x_api"] = "judge0";
  stored["x_compat"] = {{"language_id", 54}};
  engine::Job back;
  ApiError err;
  LimitsPolicy p{ServerConfig{}.default_limits, ServerConfig::DefaultMaxLimits()};
  ASSERT_TRUE(DecodeStoredRequest(json::parse(Dump(stored)), p, &back, &err)) << err.message;
  EXPECT_EQ(back.language, "cpp");
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[1].content, std::string("\x00\xff\x01", 3));
  EXPECT_EQ(back.main_file, "main.cpp");
  ASSERT_EQ(back.tests.size(), 2u);
  EXPECT_EQ(back.tests[0].stdin_data, std::string("\xfe\n", 2));
  EXPECT_EQ(back.tests[0].expected_output, std::optional<std::string>("ok\n"));
  EXPECT_FALSE(back.tests[1].expected_output.has_value());
  EXPECT_EQ(back.args, job.args);
  EXPECT_EQ(back.compiler_options, job.compiler_options);
  EXPECT_EQ(back.compare, engine::CompareMode::kTokens);
  ASSERT_TRUE(back.run_limits.has_value());
  EXPECT_EQ(back.run_limits->cpu_time.count(), 1234);
}

TEST(CodecTest, Iso8601) {
  EXPECT_EQ(Iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Iso8601(1796119200123), "2026-12-01T10:00:00.123Z");
}

TEST(PistonVersionTest, SemverAndMatching) {
  EXPECT_EQ(SemverOf("g++ 12.2.0"), "12.2.0");
  EXPECT_EQ(SemverOf("Python 3.11.2"), "3.11.2");
  EXPECT_EQ(SemverOf("go version go1.19.8 linux/amd64"), "1.19.8");
  EXPECT_EQ(SemverOf("rustc 1.63.0 (4b91a6ea7 2022-08-08)"), "1.63.0");
  EXPECT_EQ(SemverOf("javac 17"), "17.0.0");
  EXPECT_EQ(SemverOf("node v18.13"), "18.13.0");
  EXPECT_EQ(SemverOf(""), "0.0.0");
}

// --- issue 12: hostile request data ------------------------------------------------------------

std::string Nested(size_t levels, const std::string& inner = "") {
  return std::string(levels, '[') + inner + std::string(levels, ']');
}

TEST(HostileInputTest, DeepNestingIsA400BeforeAnyValueIsBuilt) {
  json out;
  ApiError err;
  EXPECT_TRUE(ParseJsonBody(Nested(kMaxJsonDepth), &out, &err));
  ASSERT_FALSE(ParseJsonBody(Nested(100000), &out, &err));
  EXPECT_EQ(err.status, 400);
  EXPECT_THAT(err.message, HasSubstr("deeper than 64 levels"));
  EXPECT_TRUE(out.is_null());
  // Also inside an object, and mixed; brackets inside strings do not count.
  ASSERT_FALSE(ParseJsonBody("{\"source_code\":" + Nested(100000) + "}", &out, &err));
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[[[[[[[[\"[[[[[[[["})"), 1u);
  EXPECT_EQ(JsonNestingDepth(R"([{"a":[{}]}])"), 4u);
  ASSERT_FALSE(ParseJsonBody("not json", &out, &err, "the message"));
  EXPECT_THAT(err.message, HasSubstr("the message is not valid JSON"));
}

// The depth cap keeps values from outside shallow, but a deep value must still be safe to
// destroy: nlohmann (3.10+) flattens a value onto a heap stack in its destructor instead of
// recursing. A recursive destructor would overflow the stack here.
TEST(HostileInputTest, DestroyingADeepValueDoesNotRecurse) {
  json deep = json::array();
  json* cur = &deep;
  for (int i = 0; i < 200000; ++i) {
    cur->push_back(json::array());
    cur = &cur->back();
  }
  deep = json();  // destroys 200k levels
  SUCCEED();
}

TEST(HostileInputTest, HexIsStrict) {
  std::string out;
  EXPECT_TRUE(HexDecode("00ff7A", &out));
  EXPECT_EQ(out, std::string("\x00\xff\x7a", 3));
  for (const char* bad : {"zz", "1z-1 f", "0", "0x", "+1", " 1", "1 ", "g0", "-1"}) {
    EXPECT_FALSE(HexDecode(bad, &out)) << bad;
  }
}

TEST(HostileInputTest, Base64IsStrictAboutLeftovers) {
  std::string out;
  EXPECT_FALSE(Base64Decode("QQ=Q", &out));   // data after padding
  EXPECT_FALSE(Base64Decode("QUJDR", &out));  // one sextet cannot be a byte
  EXPECT_FALSE(Base64Decode("QU*J", &out));
  EXPECT_TRUE(Base64Decode("QUJD\nREVG", &out));
  EXPECT_EQ(out, "ABCDEF");
}

TEST(HostileInputTest, BoundedIntegersNeverCastUncheckedFloats) {
  int64_t v = 0;
  EXPECT_EQ(ToBoundedInt(json(5), 1, 1, 10, false, &v), NumberCheck::kOk);
  EXPECT_EQ(v, 5);
  EXPECT_EQ(ToBoundedInt(json(2.5), 1000, 0, 60000, false, &v), NumberCheck::kOk);
  EXPECT_EQ(v, 2500);
  EXPECT_EQ(ToBoundedInt(json("2.5"), 1000, 0, 60000, true, &v), NumberCheck::kOk);
  EXPECT_EQ(v, 2500);
  EXPECT_EQ(ToBoundedInt(json("2.5"), 1000, 0, 60000, false, &v), NumberCheck::kNotANumber);
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "0x10", " 1", "1 ", "", "1e", ".", "1,5"}) {
    EXPECT_EQ(ToBoundedInt(json(bad), 1, 0, 100, true, &v), NumberCheck::kNotANumber) << bad;
  }
  EXPECT_EQ(ToBoundedInt(json(1e300), 1, 0, INT32_MAX, false, &v), NumberCheck::kAbove);
  EXPECT_EQ(ToBoundedInt(json("1e300"), 1000, 0, INT32_MAX, true, &v), NumberCheck::kAbove);
  EXPECT_EQ(ToBoundedInt(json("1e400"), 1, 0, 10, true, &v), NumberCheck::kNotANumber);
  EXPECT_EQ(ToBoundedInt(json(1e18), 1024, 0, INT64_MAX, false, &v), NumberCheck::kAbove);
  EXPECT_EQ(ToBoundedInt(json(UINT64_MAX), 1, 0, INT64_MAX, false, &v), NumberCheck::kAbove);
  EXPECT_EQ(ToBoundedInt(json(-1), 1, 0, 10, false, &v), NumberCheck::kBelow);
  EXPECT_EQ(ToBoundedInt(json(9.2233720368547758e18), 1, 0, INT64_MAX, false, &v),
            NumberCheck::kAbove);
  EXPECT_EQ(ToBoundedInt(json(true), 1, 0, 10, true, &v), NumberCheck::kNotANumber);
  EXPECT_EQ(ToBoundedInt(json::array(), 1, 0, 10, true, &v), NumberCheck::kNotANumber);
}

TEST(HostileInputTest, FileNamesWithControlBytesAreRefused) {
  for (std::string bad : {std::string("a\nb"), std::string("a\0b", 3), std::string("tab\t"),
                          std::string("del\x7f"), std::string("\r")}) {
    EXPECT_FALSE(ValidFileName(bad)) << json(bad).dump();
    EXPECT_THAT(FileNameProblem(bad), HasSubstr("control characters"));
  }
  EXPECT_TRUE(ValidFileName("dir/ünïcode.py"));
}

TEST(HostileInputTest, NativeDecodeNamesTheField) {
  LimitsPolicy policy{sandbox::Limits{}, engine::DefaultMaxLimits()};
  auto decode = [&](const std::string& body) {
    engine::Job job;
    ApiError err;
    EXPECT_FALSE(DecodeJobRequest(json::parse(body), policy, DecodeOptions{}, &job, &err))
        << body;
    return err;
  };
  const std::string file = R"("language":"python3","files":[{"name":"m.py","content":"x"}])";
  ApiError e = decode("{" + file + R"(,"args":["ok","a\u0000b"]})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "args[1]");
  EXPECT_THAT(e.message, HasSubstr("NUL"));
  e = decode("{" + file + R"(,"compiler_options":["-O2\u0000-x"]})");
  EXPECT_EQ(e.field, "compiler_options[0]");
  e = decode(R"({"language":"c","files":[{"name":"a\nb.c","content":"x"}]})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "files[0].name");
  // Below what a box accepts: the client's 400, not a run ending in SE.
  e = decode("{" + file + R"(,"limits":{"memory_kib":1024}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "limits.memory_kib");
  EXPECT_THAT(e.message, HasSubstr("4096"));
  e = decode("{" + file + R"(,"limits":{"disk_bytes":100}})");
  EXPECT_EQ(e.field, "limits.disk_bytes");
  e = decode("{" + file + R"(,"limits":{"cpu_time_ms":1e300}})");
  EXPECT_EQ(e.field, "limits.cpu_time_ms");
  EXPECT_EQ(e.status, 422);
  // 1e400 never gets this far: nlohmann refuses it as a number overflow (a 400 from the parser).
  json parsed;
  EXPECT_FALSE(ParseJsonBody("{" + file + R"(,"limits":{"pids":1e400}})", &parsed, &e));
  EXPECT_EQ(e.status, 400);
  json many = json::parse("{" + file + "}");
  many["args"] = json::array();
  for (size_t i = 0; i <= kMaxArgs; ++i) {
    many["args"].push_back("x");
  }
  e = decode(many.dump());
  EXPECT_EQ(e.field, "args");
  many["args"] = {std::string(kMaxArgBytes, 'a')};
  e = decode(many.dump());
  EXPECT_EQ(e.field, "args");
  // The minimum itself is accepted (the real server test runs a box with it).
  engine::Job job;
  ApiError err;
  EXPECT_TRUE(DecodeJobRequest(json::parse("{" + file + R"(,"limits":{"memory_kib":4096,
                                 "disk_bytes":4096}})"),
                               policy, DecodeOptions{}, &job, &err))
      << err.message;
}

TEST(HostileInputTest, ManyFilesDecodeInLinearithmicTime) {
  LimitsPolicy policy{sandbox::Limits{}, engine::DefaultMaxLimits()};
  json body = {{"language", "python3"}, {"files", json::array()}};
  for (size_t i = 0; i < kMaxFiles; ++i) {
    body["files"].push_back({{"name", "f" + std::to_string(i)}, {"content", ""}});
  }
  body["files"].push_back({{"name", "f3"}, {"content", ""}});
  engine::Job job;
  ApiError err;
  EXPECT_FALSE(DecodeJobRequest(body, policy, DecodeOptions{}, &job, &err));
  EXPECT_EQ(err.field, "files");  // the count, before any file is looked at
  body["files"].erase(body["files"].begin());
  EXPECT_FALSE(DecodeJobRequest(body, policy, DecodeOptions{}, &job, &err));
  EXPECT_EQ(err.field, "files[63].name");
  EXPECT_THAT(err.message, HasSubstr("twice"));
}

TEST(HostileInputTest, MovingEncodeEqualsCopyingEncode) {
  engine::JobResult r;
  r.language = "c";
  sandbox::Outcome o;
  o.status = sandbox::RunStatus::kOk;
  o.stdout_data = "text";
  o.stderr_data = std::string("\xff\xfe", 2);
  r.compile = o;
  r.cases.push_back({o, engine::Verdict::kWrongAnswer, "line 1"});
  json copied = EncodeJobResult(r);
  json moved = EncodeJobResult(std::move(r));
  EXPECT_EQ(copied, moved);
  EXPECT_EQ(moved["cases"][0]["result"]["stderr_encoding"], "base64");
  EXPECT_EQ(RawOutput(moved["cases"][0]["result"], "stderr"), std::string("\xff\xfe", 2));
  EXPECT_EQ(moved["status"], "WA");
}

}  // namespace
}  // namespace runbox::server
