// The one encoder of a Result and a JobResult (wire/result_json.h), checked against docs/api.md's
// OpenAPI schemas. Every front door prints through it, so what is pinned here is what the CLI
// and every API give (issue 13: a SIGSEGV run was `"exit_code": null` in `runbox exec --json`
// and -1 in the native API).

#include "wire/result_json.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace runbox::wire {
namespace {

using nlohmann::json;

sandbox::Outcome Segv() {
  sandbox::Outcome o;
  o.status = sandbox::RunStatus::kSignaled;
  o.signal = SIGSEGV;
  o.cpu_time_ms = 3;
  o.wall_time_ms = 5;
  o.memory_kib = 1200;
  o.message = "killed by signal 11 (SIGSEGV)";
  o.stderr_data = "partial\n";
  return o;
}

sandbox::Outcome Tle() {
  sandbox::Outcome o;
  o.status = sandbox::RunStatus::kTimeLimit;
  o.signal = SIGKILL;
  o.cpu_time_ms = 2001;
  o.wall_time_ms = 2010;
  o.message = "CPU time limit of 2 s exceeded";
  o.stdout_truncated = true;
  return o;
}

sandbox::Outcome Binary() {
  sandbox::Outcome o;
  o.status = sandbox::RunStatus::kOk;
  o.exit_code = 0;
  o.message = "exited with code 0";
  o.stdout_data = std::string("ok \xff\xfe\x80 end\n");
  o.stderr_data = "caf\xc3\xa9\n";  // valid UTF-8
  return o;
}

sandbox::Outcome Failed() {
  sandbox::Outcome o;
  o.status = sandbox::RunStatus::kRuntimeError;
  o.exit_code = 1;
  o.message = "exited with code 1";
  o.stderr_data = "main.cpp:1: error: expected ';'\n";
  return o;
}

// Never started: the Outcome's defaults.
sandbox::Outcome NotStarted() {
  sandbox::Outcome o;
  o.message = "the box could not be set up";
  return o;
}

// What a client reads: the text on the wire, parsed again.
json Wire(const json& j) { return json::parse(Dump(j)); }

// The store's round trip: stored, written out as text, read back and presented.
json StoredAndPresented(const engine::JobResult& r) {
  json stored = json::parse(EncodeJobResult(r, OutputForm::kBase64WhenNotUtf8).dump());
  PresentStoredJobResult(&stored);
  return Wire(stored);
}

// docs/api.md's OpenAPI document (between the openapi markers, in a ```json block).
const json& Schemas() {
  static const json schemas = [] {
    std::ifstream in(RUNBOX_API_MD);
    std::stringstream text;
    text << in.rdbuf();
    const std::string md = text.str();
    const size_t block = md.find("<!-- openapi:begin -->");
    const size_t begin = md.find("```json", block) + 7;
    const size_t end = md.find("```", begin);
    return json::parse(md.substr(begin, end - begin))["components"]["schemas"];
  }();
  return schemas;
}

// Every field of a Result has the type docs/api.md gives it (an integer is never null).
void ExpectMatchesResultSchema(const json& result) {
  ASSERT_TRUE(result.is_object()) << result;
  const json& props = Schemas()["Result"]["properties"];
  ASSERT_FALSE(props.empty());
  for (const auto& [key, spec] : props.items()) {
    ASSERT_TRUE(result.contains(key)) << key << " missing in " << result;
    const std::string type = spec["type"];
    const json& v = result[key];
    if (type == "integer") {
      EXPECT_TRUE(v.is_number_integer()) << key << " is " << v;
    } else if (type == "string") {
      EXPECT_TRUE(v.is_string()) << key << " is " << v;
    } else if (type == "boolean") {
      EXPECT_TRUE(v.is_boolean()) << key << " is " << v;
    }
    if (spec.contains("enum")) {
      EXPECT_NE(std::find(spec["enum"].begin(), spec["enum"].end(), v), spec["enum"].end())
          << key << " is " << v;
    }
  }
  for (const auto& [key, v] : result.items()) {
    EXPECT_TRUE(props.contains(key)) << key << " is not in docs/api.md's Result";
  }
}

struct OutcomeCase {
  const char* name;
  sandbox::Outcome (*make)();
  const char* status;
  int exit_code;
  int signal;
};

class ResultForm : public testing::TestWithParam<OutcomeCase> {};

TEST_P(ResultForm, IsTheDocumentedSchemaWithIntegerExitCodeAndSignal) {
  const OutcomeCase& c = GetParam();
  json j = Wire(EncodeResult(c.make()));
  ExpectMatchesResultSchema(j);
  EXPECT_EQ(j["status"], c.status);
  EXPECT_EQ(j["exit_code"], c.exit_code);
  EXPECT_EQ(j["signal"], c.signal);
}

TEST_P(ResultForm, StoredThenPresentedIsWhatTheWireShows) {
  const OutcomeCase& c = GetParam();
  engine::JobResult r;
  r.language = "cpp";
  r.version = "g++ 12.2.0";
  r.compile = Failed();
  r.compile->status = sandbox::RunStatus::kOk;
  r.compile->exit_code = 0;
  r.compile_cached = true;
  r.cases.push_back({c.make(), engine::Verdict::kNone, ""});
  json wire = Wire(EncodeJobResult(r));
  EXPECT_EQ(StoredAndPresented(r), wire);
  EXPECT_EQ(wire["status"], c.status);
  ExpectMatchesResultSchema(wire["cases"][0]["result"]);
  ExpectMatchesResultSchema(wire["compile"]);
}

TEST_P(ResultForm, DecodeGivesBackTheOutcomeFromEitherForm) {
  const OutcomeCase& c = GetParam();
  const sandbox::Outcome o = c.make();
  for (OutputForm form : {OutputForm::kText, OutputForm::kBase64WhenNotUtf8}) {
    sandbox::Outcome back = DecodeResult(EncodeResult(o, form));
    EXPECT_EQ(back.status, o.status);
    EXPECT_EQ(back.exit_code, o.exit_code);
    EXPECT_EQ(back.signal, o.signal);
    EXPECT_EQ(back.cpu_time_ms, o.cpu_time_ms);
    EXPECT_EQ(back.wall_time_ms, o.wall_time_ms);
    EXPECT_EQ(back.memory_kib, o.memory_kib);
    EXPECT_EQ(back.stdout_truncated, o.stdout_truncated);
    EXPECT_EQ(back.stderr_truncated, o.stderr_truncated);
    EXPECT_EQ(back.message, o.message);
    EXPECT_EQ(back.stdout_data, o.stdout_data);
    EXPECT_EQ(back.stderr_data, o.stderr_data);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Runs, ResultForm,
    testing::Values(OutcomeCase{"Sigsegv", Segv, "SG", -1, SIGSEGV},
                    OutcomeCase{"TimeLimit", Tle, "TLE", -1, SIGKILL},
                    OutcomeCase{"NotUtf8", Binary, "OK", 0, 0},
                    OutcomeCase{"RuntimeError", Failed, "RE", 1, 0},
                    OutcomeCase{"NeverStarted", NotStarted, "SE", -1, 0}),
    [](const testing::TestParamInfo<OutcomeCase>& info) { return info.param.name; });

TEST(ResultJsonTest, OutputThatIsNotUtf8IsTextWithReplacementCharactersOnTheWire) {
  json j = Wire(EncodeResult(Binary()));
  EXPECT_EQ(j["stdout"], "ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\n");
  EXPECT_EQ(j["stderr"], "caf\xc3\xa9\n");
  EXPECT_FALSE(j.contains("stdout_encoding"));
}

TEST(ResultJsonTest, TheStoreKeepsOutputThatIsNotUtf8AsBase64) {
  json j = EncodeResult(Binary(), OutputForm::kBase64WhenNotUtf8);
  EXPECT_EQ(j["stdout_encoding"], "base64");
  EXPECT_EQ(j["stdout"], Base64Encode(Binary().stdout_data));
  EXPECT_FALSE(j.contains("stderr_encoding"));
  EXPECT_EQ(j["stderr"], "caf\xc3\xa9\n");
  EXPECT_EQ(RawOutput(j, "stdout"), Binary().stdout_data);
}

TEST(ResultJsonTest, DecodeTakesStandInsAndOddValues) {
  sandbox::Outcome se = DecodeResult(json{{"status", "SE"}, {"message", "unreadable result"}});
  EXPECT_EQ(se.status, sandbox::RunStatus::kSystemError);
  EXPECT_EQ(se.exit_code, -1);
  EXPECT_EQ(se.signal, 0);
  EXPECT_EQ(se.message, "unreadable result");
  EXPECT_EQ(DecodeResult(json(nullptr)).status, sandbox::RunStatus::kSystemError);
  EXPECT_EQ(DecodeResult(json::array()).exit_code, -1);
  sandbox::Outcome odd = DecodeResult(json{{"status", "??"},
                                           {"exit_code", nullptr},
                                           {"signal", "9"},
                                           {"memory_kib", -5},
                                           {"cpu_time_ms", 1e300},
                                           {"stdout", 42},
                                           {"stderr", "x"},
                                           {"stderr_encoding", "base64"}});
  EXPECT_EQ(odd.status, sandbox::RunStatus::kSystemError);
  EXPECT_EQ(odd.exit_code, -1);
  EXPECT_EQ(odd.signal, 0);
  EXPECT_EQ(odd.memory_kib, 0u);
  EXPECT_EQ(odd.cpu_time_ms, 0u);
  EXPECT_EQ(odd.stdout_data, "");
  EXPECT_EQ(odd.stderr_data, "x");  // not base64 after all: kept as it is
}

TEST(ResultJsonTest, StatusCodesParseBack) {
  sandbox::RunStatus s = sandbox::RunStatus::kOk;
  ASSERT_TRUE(ParseStatusCode("MLE", &s));
  EXPECT_EQ(s, sandbox::RunStatus::kMemoryLimit);
  EXPECT_FALSE(ParseStatusCode("mle", &s));
  EXPECT_FALSE(ParseStatusCode("", &s));
}

// docs/api.md: "CE, else the first non-OK case, else AC/WA when judged, else OK".
TEST(ResultJsonTest, OverallStatusFollowsTheDocumentedPrecedence) {
  using sandbox::RunStatus;
  using engine::Verdict;
  struct Row {
    bool compile_error;
    std::vector<std::pair<RunStatus, Verdict>> cases;
    const char* status;
  } rows[] = {
      {false, {}, "OK"},
      {false, {{RunStatus::kOk, Verdict::kNone}}, "OK"},
      {false, {{RunStatus::kOk, Verdict::kAccepted}, {RunStatus::kOk, Verdict::kAccepted}}, "AC"},
      {false, {{RunStatus::kOk, Verdict::kAccepted}, {RunStatus::kOk, Verdict::kWrongAnswer}}, "WA"},
      {false, {{RunStatus::kOk, Verdict::kWrongAnswer}, {RunStatus::kMemoryLimit, Verdict::kNone},
               {RunStatus::kTimeLimit, Verdict::kNone}}, "MLE"},
      {true, {{RunStatus::kTimeLimit, Verdict::kNone}}, "CE"},
  };
  for (const Row& row : rows) {
    engine::JobResult r;
    r.compile_error = row.compile_error;
    for (const auto& [status, verdict] : row.cases) {
      engine::CaseResult c;
      c.run.status = status;
      c.verdict = verdict;
      r.cases.push_back(c);
    }
    EXPECT_EQ(OverallStatus(r), row.status);
    EXPECT_EQ(EncodeJobResult(r)["status"], row.status);
  }
}

TEST(JobResultJsonTest, CompileErrorIsCeWithoutCases) {
  engine::JobResult r;
  r.language = "cpp";
  r.version = "g++ 12.2.0";
  r.compile = Failed();
  r.compile_error = true;
  json j = Wire(EncodeJobResult(r));
  EXPECT_EQ(StoredAndPresented(r), j);
  EXPECT_EQ(j["status"], "CE");
  EXPECT_EQ(j["cases"], json::array());
  ExpectMatchesResultSchema(j["compile"]);
  const json& statuses = Schemas()["JobResult"]["properties"]["status"]["enum"];
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), j["status"]), statuses.end());
}

TEST(JobResultJsonTest, JudgedCasesCarryVerdictAndDifferenceForWaOnly) {
  engine::JobResult r;
  r.language = "python";
  r.version = "Python 3.11.2";
  r.cases.push_back({Binary(), engine::Verdict::kAccepted, ""});
  r.cases.push_back({Binary(), engine::Verdict::kWrongAnswer, "line 1: expected '3', got '4'"});
  r.cases.push_back({Failed(), engine::Verdict::kNone, ""});
  json j = Wire(EncodeJobResult(r));
  EXPECT_EQ(StoredAndPresented(r), j);
  EXPECT_EQ(j["status"], "RE");
  EXPECT_EQ(j["compile"], nullptr);
  EXPECT_EQ(j["cases"][0]["verdict"], "AC");
  EXPECT_FALSE(j["cases"][0].contains("difference"));
  EXPECT_EQ(j["cases"][1]["verdict"], "WA");
  EXPECT_EQ(j["cases"][1]["difference"], "line 1: expected '3', got '4'");
  EXPECT_EQ(j["cases"][2]["verdict"], nullptr);
  EXPECT_FALSE(j["cases"][2].contains("difference"));
}

TEST(JobResultJsonTest, MovingEncodeEqualsCopyingEncode) {
  engine::JobResult r;
  r.compile = Binary();
  r.cases.push_back({Binary(), engine::Verdict::kWrongAnswer, "line 1"});
  json copied = EncodeJobResult(r, OutputForm::kBase64WhenNotUtf8);
  json moved = EncodeJobResult(std::move(r), OutputForm::kBase64WhenNotUtf8);
  EXPECT_EQ(copied, moved);
  EXPECT_EQ(moved["status"], "WA");
}

TEST(JobResultJsonTest, FirstCaseResultIsTheRunOrNothing) {
  engine::JobResult r;
  r.cases.push_back({Segv(), engine::Verdict::kNone, ""});
  r.cases.push_back({Failed(), engine::Verdict::kNone, ""});
  json j = EncodeJobResult(r);
  const json* run = FirstCaseResult(j);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(DecodeResult(*run).signal, SIGSEGV);
  for (const json& none : {json(nullptr), json::object(), json{{"cases", json::array()}},
                           json{{"cases", "x"}}, json{{"cases", {1}}},
                           json{{"cases", {json::object()}}}}) {
    EXPECT_EQ(FirstCaseResult(none), nullptr) << none;
  }
}

TEST(JobResultJsonTest, PresentLeavesOtherShapesAlone) {
  json odd = {{"compile", "text"}, {"cases", {1, json::object(), {{"result", nullptr}}}}};
  json before = odd;
  PresentStoredJobResult(&odd);
  EXPECT_EQ(odd, before);
  json not_object = json::array();
  PresentStoredJobResult(&not_object);
  EXPECT_EQ(not_object, json::array());
}

}  // namespace
}  // namespace runbox::wire
