// Judge0 CE compatibility (judge0/judge0 1.13: app/controllers/submissions_controller.rb,
// app/models/submission.rb, app/enumerations/status.rb, db/languages/active.rb):
//   POST /submissions[?base64_encoded=&wait=&fields=]   201 {"token"} (or the submission)
//   GET  /submissions/{token}[?base64_encoded=&fields=]
//   POST /submissions/batch, GET /submissions/batch?tokens=a,b
//   GET  /languages, /languages/all, /languages/{id}, /statuses, /about, /config_info
// Times are strings in seconds ("0.012"), memory in KB, validation errors 422 {"field": [msgs]},
// a full queue 503 {"error": "queue is full"}. Language ids are Judge0 CE's (71 Python 3, 54 C++,
// 62 Java, ...); every id a client may hard-code maps to the runbox language that serves it.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

#include "base/files.h"
#include "server/api.h"
#include "server/judge0_codec.h"
#include "server/url.h"

namespace runbox::server {
namespace {

// Judge0 CE language ids, their display names without version, and the runbox language ids or
// aliases that serve them, in order of preference. The first id of a language is the one
// GET /languages lists; the others are accepted too (clients hard-code them).
const std::vector<Judge0Language>& Judge0Languages() {
  static const std::vector<Judge0Language> kTable = {
      {43, "Plain Text", "text.txt", {"plaintext", "text", "plain"}},
      {45, "Assembly (NASM)", "main.asm", {"nasm", "asm", "assembly"}},
      {46, "Bash", "script.sh", {"bash"}},
      {47, "Basic (FBC)", "main.bas", {"freebasic", "fbc", "basic"}},
      {50, "C (GCC)", "main.c", {"c", "gcc"}},
      {48, "C (GCC)", "main.c", {"c", "gcc"}},
      {49, "C (GCC)", "main.c", {"c", "gcc"}},
      {75, "C (Clang)", "main.c", {"c-clang", "clang", "c"}},
      {51, "C# (Mono)", "Main.cs", {"csharp", "cs", "mono"}},
      {54, "C++ (GCC)", "main.cpp", {"cpp", "c++", "g++"}},
      {52, "C++ (GCC)", "main.cpp", {"cpp", "c++", "g++"}},
      {53, "C++ (GCC)", "main.cpp", {"cpp", "c++", "g++"}},
      {76, "C++ (Clang)", "main.cpp", {"cpp-clang", "clang++", "cpp"}},
      {55, "Common Lisp (SBCL)", "script.lisp", {"commonlisp", "lisp", "sbcl"}},
      {56, "D (DMD)", "main.d", {"d", "dmd", "gdc"}},
      {57, "Elixir", "script.exs", {"elixir"}},
      {58, "Erlang", "main.erl", {"erlang"}},
      {59, "Fortran (GFortran)", "main.f90", {"fortran", "gfortran"}},
      {60, "Go", "main.go", {"go", "golang"}},
      {95, "Go", "main.go", {"go", "golang"}},
      {61, "Haskell (GHC)", "main.hs", {"haskell", "ghc"}},
      {62, "Java", "Main.java", {"java"}},
      {91, "Java", "Main.java", {"java"}},
      {63, "JavaScript (Node.js)", "script.js", {"javascript", "js", "node", "nodejs"}},
      {93, "JavaScript (Node.js)", "script.js", {"javascript", "js", "node", "nodejs"}},
      {64, "Lua", "script.lua", {"lua"}},
      {65, "OCaml", "main.ml", {"ocaml"}},
      {66, "Octave", "script.m", {"octave"}},
      {67, "Pascal (FPC)", "main.pas", {"pascal", "fpc"}},
      {68, "PHP", "script.php", {"php"}},
      {69, "Prolog (GNU Prolog)", "main.pro", {"prolog", "gprolog"}},
      {70, "Python", "script.py", {"python2"}},
      {71, "Python", "script.py", {"python3", "python", "py"}},
      {92, "Python", "script.py", {"python3", "python", "py"}},
      {72, "Ruby", "script.rb", {"ruby"}},
      {73, "Rust", "main.rs", {"rust"}},
      {74, "TypeScript", "script.ts", {"typescript", "ts"}},
      {94, "TypeScript", "script.ts", {"typescript", "ts"}},
      {77, "COBOL (GnuCOBOL)", "main.cob", {"cobol"}},
      {78, "Kotlin", "Main.kt", {"kotlin"}},
      {79, "Objective-C", "main.m", {"objectivec", "objc", "objective-c"}},
      {80, "R", "script.r", {"r"}},
      {81, "Scala", "Main.scala", {"scala"}},
      {82, "SQL (SQLite)", "script.sql", {"sqlite", "sql", "sqlite3"}},
      {83, "Swift", "Main.swift", {"swift"}},
      {84, "Visual Basic.Net (vbnc)", "Main.vb", {"vbnet", "vb"}},
      {85, "Perl", "script.pl", {"perl"}},
      {86, "Clojure", "main.clj", {"clojure"}},
      {87, "F# (.NET)", "script.fsx", {"fsharp"}},
      {88, "Groovy", "script.groovy", {"groovy"}},
      {90, "Dart", "main.dart", {"dart"}},
  };
  return kTable;
}

struct StatusInfo {
  int id;
  const char* description;
};
const StatusInfo kStatuses[] = {
    {1, "In Queue"},
    {2, "Processing"},
    {3, "Accepted"},
    {4, "Wrong Answer"},
    {5, "Time Limit Exceeded"},
    {6, "Compilation Error"},
    {7, "Runtime Error (SIGSEGV)"},
    {8, "Runtime Error (SIGXFSZ)"},
    {9, "Runtime Error (SIGFPE)"},
    {10, "Runtime Error (SIGABRT)"},
    {11, "Runtime Error (NZEC)"},
    {12, "Runtime Error (Other)"},
    {13, "Internal Error"},
    {14, "Exec Format Error"},
};

const std::vector<std::string>& AllFields() {
  static const std::vector<std::string> kFields = {
      "source_code", "language_id", "stdin", "expected_output", "stdout", "status_id",
      "created_at", "finished_at", "time", "memory", "stderr", "token", "number_of_runs",
      "cpu_time_limit", "cpu_extra_time", "wall_time_limit", "memory_limit", "stack_limit",
      "max_processes_and_or_threads", "enable_per_process_and_thread_time_limit",
      "enable_per_process_and_thread_memory_limit", "max_file_size", "compile_output",
      "exit_code", "exit_signal", "message", "wall_time", "compiler_options",
      "command_line_arguments", "redirect_stderr_to_stdout", "callback_url", "additional_files",
      "enable_network", "status", "language"};
  return kFields;
}

const std::vector<std::string> kDefaultFields = {"token",  "time",           "memory",
                                                 "stdout", "stderr",         "compile_output",
                                                 "message", "status"};

HttpResponse J0Error(int status, const std::string& message) {
  return JsonResponse(status, json{{"error", message}});
}

std::string Seconds(uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms) / 1000.0);
  return buf;
}

// Judge0 reads params from JSON bodies and from forms; both end up as a JSON object here.
bool ParamsOf(const HttpRequest& req, json* out, std::string* error) {
  if (req.MediaType() == "application/x-www-form-urlencoded") {
    std::map<std::string, std::string> form;
    if (!ParseForm(req.body, &form)) {
      *error = "malformed form body";
      return false;
    }
    *out = json::object();
    for (const auto& [k, v] : form) {
      (*out)[k] = v;
    }
    return true;
  }
  if (req.body.empty()) {
    *out = json::object();
    return true;
  }
  ApiError err;
  if (!ParseJsonBody(req.body, out, &err)) {
    *error = err.message;
    return false;
  }
  if (!out->is_object()) {
    *error = "request body must be a JSON object";
    return false;
  }
  return true;
}

std::optional<bool> BoolParam(const json& p, const char* name) {
  if (!p.contains(name) || p[name].is_null()) {
    return std::nullopt;
  }
  const json& v = p[name];
  if (v.is_boolean()) {
    return v.get<bool>();
  }
  if (v.is_string()) {
    return v.get<std::string>() == "true" || v.get<std::string>() == "1";
  }
  if (v.is_number()) {
    return v.get<double>() != 0;
  }
  return std::nullopt;
}

// A text param: a string, or a number or boolean as its JSON text (Judge0 reads params
// loosely); "" when absent or null. An array or object is refused by its type (false), never
// dumped: a deeply nested value once took the server down in dump().
bool StringParam(const json& p, const char* name, std::string* out) {
  out->clear();
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) {
    return true;
  }
  if (it->is_string()) {
    *out = it->get<std::string>();
    return true;
  }
  if (it->is_number() || it->is_boolean()) {
    *out = it->dump();  // a scalar: no recursion
    return true;
  }
  return false;
}

// Splits command_line_arguments like a shell would for plain words and quotes (no expansion).
std::vector<std::string> ShellWords(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur.push_back(s[++i]);
      } else {
        cur.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        out.push_back(cur);
        cur.clear();
        in_word = false;
      }
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) {
    out.push_back(cur);
  }
  return out;
}

bool CallbackAllowed(const ServerConfig& config, const std::string& url) {
  // One parser for this check and for the sender (server/url.h): CR/LF, spaces, non-ASCII,
  // userinfo and backslashes are refused, and both drop the fragment, so the host checked here
  // is the host the PUT goes to and the target cannot smuggle headers or a second request.
  auto parsed = ParseHttpUrl(url);
  if (!parsed || parsed->scheme != "http") {
    return false;  // only plain HTTP to an allow-listed host:port; no redirects are followed
  }
  return CallbackAllowlisted(config.callback_allowlist, *parsed);
}

}  // namespace

const std::vector<Judge0Language>& Judge0LanguageTable() { return Judge0Languages(); }

std::optional<engine::LanguageInfo> ResolveJudge0Language(JobService& jobs, int id,
                                                          const Judge0Language** entry) {
  for (const auto& l : Judge0Languages()) {
    if (l.id != id) {
      continue;
    }
    for (const auto& candidate : l.candidates) {
      auto info = jobs.FindLanguage(candidate);
      if (info) {
        if (entry) {
          *entry = &l;
        }
        return info;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string Judge0LanguageName(const Judge0Language& l, const engine::LanguageInfo& info) {
  std::string base = l.name;
  size_t paren = base.find(" (");
  std::string family = paren == std::string::npos ? base : base.substr(0, paren);
  return family + " (" + (info.version.empty() ? "unknown version" : info.version) + ")";
}

bool DecodeJudge0Submission(const json& p, ApiContext& ctx, bool base64, engine::Job* job,
                            json* params, json* errors) {
  *errors = json::object();
  auto add = [&](const std::string& field, const std::string& msg) {
    (*errors)[field].push_back(msg);
  };
  const ServerConfig& cfg = *ctx.config;
  const LimitsPolicy policy = PolicyOf(cfg);
  auto text = [&](const char* name) {
    std::string v;
    if (!StringParam(p, name, &v)) {
      add(name, "must be a string");
    }
    return v;
  };
  std::string source = text("source_code");
  std::string stdin_data = text("stdin");
  std::string expected = text("expected_output");
  bool has_expected = p.contains("expected_output") && !p["expected_output"].is_null();
  if (!errors->empty()) {
    return false;  // a non-string text field: nothing below is meaningful
  }
  if (base64) {
    std::string d;
    if (!Base64Decode(source, &d)) {
      add("source_code", "is not valid base64");
    }
    source = d;
    if (!Base64Decode(stdin_data, &d)) {
      add("stdin", "is not valid base64");
    }
    stdin_data = d;
    if (!Base64Decode(expected, &d)) {
      add("expected_output", "is not valid base64");
    }
    expected = d;
  }
  if (source.empty()) {
    add("source_code", "can't be blank");
  }

  // Every numeric param goes through ToBoundedInt: "nan", "inf", 1e300 and values outside the
  // range are 422s naming the field, and no double reaches an integer cast unchecked.
  auto present = [&](const char* name) {
    auto it = p.find(name);
    return it != p.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty());
  };
  auto fmt = [](double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return std::string(buf);
  };
  // name; scale from Judge0's unit to ours; range in our unit; Judge0's unit per our unit for
  // messages; setter. Returns false when absent or refused.
  auto number = [&](const char* name, double scale, int64_t min, int64_t max,
                    const std::function<void(int64_t)>& set) {
    if (!present(name)) {
      return false;
    }
    int64_t v = 0;
    switch (ToBoundedInt(p[name], scale, min, max, /*strings_ok=*/true, &v)) {
      case NumberCheck::kOk: set(v); return true;
      case NumberCheck::kNotANumber: add(name, "is not a number"); return false;
      case NumberCheck::kBelow:
        add(name, "must be greater than or equal to " + fmt(static_cast<double>(min) / scale));
        return false;
      case NumberCheck::kAbove:
        add(name, "must be less than or equal to " + fmt(static_cast<double>(max) / scale));
        return false;
    }
    return false;
  };

  int language_id = 0;
  std::optional<engine::LanguageInfo> lang;
  const Judge0Language* entry = nullptr;
  if (!present("language_id")) {
    add("language_id", "can't be blank");
  } else {
    const json& v = p["language_id"];
    bool integral = !v.is_number_float() || std::floor(v.get<double>()) == v.get<double>();
    if (v.is_string()) {
      const std::string& str = v.get_ref<const std::string&>();
      integral = str.find_first_not_of("+-0123456789") == std::string::npos;
    }
    int64_t id = 0;
    NumberCheck c = ToBoundedInt(v, 1, 0, INT32_MAX, /*strings_ok=*/true, &id);
    if (c == NumberCheck::kNotANumber) {
      add("language_id", "is not a number");
    } else if (!integral) {
      add("language_id", "must be an integer");
    } else if (c != NumberCheck::kOk) {
      add("language_id", "language with id " +
                             (v.is_string() ? v.get<std::string>() : fmt(v.get<double>())) +
                             " doesn't exist");
    } else {
      language_id = static_cast<int>(id);
      lang = ResolveJudge0Language(*ctx.jobs, language_id, &entry);
      if (!lang) {
        add("language_id", "language with id " + std::to_string(language_id) + " doesn't exist");
      }
    }
  }

  sandbox::Limits limits = policy.defaults;
  // The fields the submission set (a 0 means the default): those are the limits, the others
  // defaults a language may raise.
  engine::LimitFields given = engine::LimitFields::None();
  const int64_t max_cpu_ms = policy.max.cpu_time.count();
  const int64_t max_wall_ms = policy.max.wall_time.count();
  // Seconds to ms; 0 means the configured default (Judge0 treats it so too).
  number("cpu_time_limit", 1000, 0, max_cpu_ms, [&](int64_t ms) {
    if (ms > 0) {
      limits.cpu_time = std::chrono::milliseconds(ms);
      given.Add(engine::LimitField::kCpuTime);
    }
  });
  number("cpu_extra_time", 1000, 0, 5000, [](int64_t) {});
  number("wall_time_limit", 1000, 1000, max_wall_ms,
         [&](int64_t ms) {
           limits.wall_time = std::chrono::milliseconds(ms);
           given.Add(engine::LimitField::kWallTime);
         });
  // KB to bytes. Judge0's own minimum is 2048 KB; a box needs kMinMemoryBytes (4 MiB).
  number("memory_limit", 1024, static_cast<int64_t>(std::max<uint64_t>(2048 * 1024, kMinMemoryBytes)),
         static_cast<int64_t>(policy.max.memory_bytes),
         [&](int64_t b) {
           limits.memory_bytes = static_cast<uint64_t>(b);
           given.Add(engine::LimitField::kMemory);
         });
  number("stack_limit", 1024, 0, static_cast<int64_t>(policy.max.stack_bytes), [&](int64_t b) {
    if (b > 0) {
      limits.stack_bytes = static_cast<uint64_t>(b);
      given.Add(engine::LimitField::kStack);
    }
  });
  number("max_processes_and_or_threads", 1, 1, policy.max.pids,
         [&](int64_t n) {
           limits.pids = static_cast<uint32_t>(n);
           given.Add(engine::LimitField::kPids);
         });
  number("max_file_size", 1024, 0, static_cast<int64_t>(policy.max.file_size_bytes),
         [&](int64_t b) {
           if (b > 0) {
             limits.file_size_bytes = static_cast<uint64_t>(b);
             given.Add(engine::LimitField::kFileSize);
           }
         });
  number("number_of_runs", 1, 1, 20, [](int64_t) {});
  if (BoolParam(p, "enable_per_process_and_thread_time_limit").value_or(false)) {
    add("enable_per_process_and_thread_time_limit", "this option cannot be enabled");
  }
  if (BoolParam(p, "enable_per_process_and_thread_memory_limit").value_or(false)) {
    add("enable_per_process_and_thread_memory_limit", "this option cannot be enabled");
  }
  if (BoolParam(p, "enable_network").value_or(false)) {
    add("enable_network", "enabling network is not allowed");
  }
  if (present("additional_files")) {
    add("additional_files", "setting additional files is not allowed");
  }
  std::string callback = text("callback_url");
  if (!callback.empty() && !CallbackAllowed(cfg, callback)) {
    add("callback_url", cfg.callback_allowlist.empty()
                            ? "setting callback is not allowed"
                            : "callback_url is not on this server's callback allowlist");
  }
  std::string compiler_options = text("compiler_options");
  std::string cli_args = text("command_line_arguments");
  // NUL would end the argument inside execve: the program would see other arguments than the
  // client sent. Refused here, with the field, instead of failing in the sandbox.
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{
                                         "compiler_options", &compiler_options},
                                     {"command_line_arguments", &cli_args}}) {
    if (value->find('\0') != std::string::npos) {
      add(name, "must not contain a NUL byte");
    }
  }
  if (compiler_options.size() > 512) {
    add("compiler_options", "is too long (maximum is 512 characters)");
  }
  if (cli_args.size() > 512) {
    add("command_line_arguments", "is too long (maximum is 512 characters)");
  }
  if (!compiler_options.empty() && lang && !lang->compiled) {
    add("compiler_options", "setting compiler options is only allowed for compiled languages");
  }
  if (!errors->empty()) {
    return false;
  }

  engine::Job j;
  j.language = lang->id;
  std::string file_name = lang->main_file.empty() ? entry->source_file : lang->main_file;
  j.files.push_back({file_name, source});
  engine::TestCase tc;
  tc.stdin_data = stdin_data;
  if (has_expected) {
    tc.expected_output = expected;
  }
  j.tests.push_back(tc);
  j.args = ShellWords(cli_args);
  j.compiler_options = ShellWords(compiler_options);
  j.run_limits = limits;
  j.run_limits_given = given;
  // Judge0 compares trimmed output: trailing whitespace does not make a wrong answer.
  j.compare = engine::CompareMode::kTrailingWhitespace;
  *job = std::move(j);

  // What GET /submissions/{token} reports back, with Judge0's defaults filled in.
  *params = {{"source_code", source},
             {"language_id", language_id},
             {"stdin", p.contains("stdin") && !p["stdin"].is_null() ? json(stdin_data)
                                                                     : json(nullptr)},
             {"expected_output", has_expected ? json(expected) : json(nullptr)},
             {"number_of_runs", 1},
             {"cpu_time_limit", Seconds(static_cast<uint64_t>(limits.cpu_time.count()))},
             {"cpu_extra_time", "0.0"},
             {"wall_time_limit", Seconds(static_cast<uint64_t>(limits.wall_time.count()))},
             {"memory_limit", limits.memory_bytes / 1024},
             {"stack_limit", limits.stack_bytes / 1024},
             {"max_processes_and_or_threads", limits.pids},
             {"enable_per_process_and_thread_time_limit", false},
             {"enable_per_process_and_thread_memory_limit", false},
             {"max_file_size", limits.file_size_bytes / 1024},
             {"compiler_options", compiler_options.empty() ? json(nullptr) : json(compiler_options)},
             {"command_line_arguments", cli_args.empty() ? json(nullptr) : json(cli_args)},
             {"redirect_stderr_to_stdout",
              BoolParam(p, "redirect_stderr_to_stdout").value_or(false)},
             {"callback_url", callback.empty() ? json(nullptr) : json(callback)},
             {"additional_files", nullptr},
             {"enable_network", false}};
  return true;
}

Judge0Status Judge0StatusOf(const store::JobRecord& record, const json& result, bool judged) {
  if (record.state == store::JobState::kQueued) {
    return {1, "In Queue"};
  }
  if (record.state == store::JobState::kRunning) {
    return {2, "Processing"};
  }
  std::string overall = JStr(result, "status", "SE");
  if (overall == "CE") {
    return {6, "Compilation Error"};
  }
  const json* run = wire::FirstCaseResult(result);
  if (!run) {
    return {13, "Internal Error"};
  }
  const sandbox::Outcome o = wire::DecodeResult(*run);
  switch (o.status) {
    case sandbox::RunStatus::kOk:
      if (judged && JStr(result["cases"][0], "verdict", "") == "WA") {
        return {4, "Wrong Answer"};
      }
      return {3, "Accepted"};
    case sandbox::RunStatus::kTimeLimit: return {5, "Time Limit Exceeded"};
    case sandbox::RunStatus::kRuntimeError: return {11, "Runtime Error (NZEC)"};
    case sandbox::RunStatus::kOutputLimit: return {8, "Runtime Error (SIGXFSZ)"};
    case sandbox::RunStatus::kSignaled:
      // Status.find_runtime_error_by_status_code
      switch (o.signal) {
        case 11: return {7, "Runtime Error (SIGSEGV)"};
        case 25: return {8, "Runtime Error (SIGXFSZ)"};
        case 8: return {9, "Runtime Error (SIGFPE)"};
        case 6: return {10, "Runtime Error (SIGABRT)"};
        default: return {12, "Runtime Error (Other)"};
      }
    case sandbox::RunStatus::kMemoryLimit: return {12, "Runtime Error (Other)"};
    case sandbox::RunStatus::kSystemError: break;
  }
  return {13, "Internal Error"};
}

// Builds the full submission object; fields are filtered by the caller. Returns false when a
// text field is not UTF-8 and base64 was not asked for.
bool EncodeJudge0Submission(const store::JobRecord& record, ApiContext& ctx, bool base64,
                            json* out) {
  json request = json::parse(record.request_json, nullptr, false);
  json params = request.is_object() && request.contains("x_compat") ? request["x_compat"]
                                                                     : json::object();
  json result = record.state == store::JobState::kDone
                    ? json::parse(record.result_json, nullptr, false)
                    : json::object();
  if (!result.is_object()) {
    result = ErrorResult("unreadable result");
  }
  bool judged = params.contains("expected_output") && !params["expected_output"].is_null();
  Judge0Status st = Judge0StatusOf(record, result, judged);
  json s = json::object();
  for (const auto& [k, v] : params.items()) {
    s[k] = v;
  }
  s["token"] = record.id;
  s["status_id"] = st.id;
  s["status"] = {{"id", st.id}, {"description", st.description}};
  s["created_at"] = Iso8601(record.created_at_ms);
  s["finished_at"] = record.finished_at_ms ? json(Iso8601(record.finished_at_ms)) : json(nullptr);
  json text = {{"stdout", nullptr}, {"stderr", nullptr}, {"compile_output", nullptr},
               {"message", nullptr}};
  s["time"] = nullptr;
  s["wall_time"] = nullptr;
  s["memory"] = nullptr;
  s["exit_code"] = nullptr;
  s["exit_signal"] = nullptr;
  if (record.state == store::JobState::kDone) {
    if (result.contains("compile") && result["compile"].is_object()) {
      const sandbox::Outcome c = wire::DecodeResult(result["compile"]);
      std::string co = c.stdout_data + c.stderr_data;
      if (!co.empty()) {
        text["compile_output"] = co;
      }
    }
    if (JStr(result, "status", "") == "SE" && result.contains("message")) {
      text["message"] = result["message"];
    }
    if (const json* run_json = wire::FirstCaseResult(result)) {
      sandbox::Outcome run = wire::DecodeResult(*run_json);
      std::string out = std::move(run.stdout_data);
      std::string err = std::move(run.stderr_data);
      if (JBool(params, "redirect_stderr_to_stdout", false)) {
        out += err;
        err.clear();
      }
      text["stdout"] = out.empty() ? json(nullptr) : json(std::move(out));
      text["stderr"] = err.empty() ? json(nullptr) : json(std::move(err));
      if (run.status != sandbox::RunStatus::kOk) {
        text["message"] = run.message;
      }
      s["time"] = Seconds(run.cpu_time_ms);
      s["wall_time"] = Seconds(run.wall_time_ms);
      s["memory"] = run.memory_kib;
      if (run.exit_code >= 0) {
        s["exit_code"] = run.exit_code;
      }
      if (run.signal > 0) {
        s["exit_signal"] = run.signal;
      }
    } else if (st.id == 6) {
      const json& c = result["compile"];
      if (c.is_object()) {
        s["exit_code"] = wire::DecodeResult(c).exit_code;
      }
    }
  }
  for (const char* k : {"source_code", "stdin", "expected_output"}) {
    if (s.contains(k) && s[k].is_string()) {
      text[k] = s[k];
    }
  }
  for (auto& [k, v] : text.items()) {
    if (!v.is_string()) {
      s[k] = v;
      continue;
    }
    std::string str = v.get<std::string>();
    if (base64) {
      s[k] = Base64Encode(str);
    } else {
      if (!IsValidUtf8(str)) {
        return false;
      }
      s[k] = str;
    }
  }
  int lang_id = JInt(params, "language_id", 0);
  const Judge0Language* entry = nullptr;
  auto info = ResolveJudge0Language(*ctx.jobs, lang_id, &entry);
  if (info && entry) {
    s["language"] = {{"id", lang_id}, {"name", Judge0LanguageName(*entry, *info)}};
  } else {
    s["language"] = {{"id", lang_id}, {"name", nullptr}};
  }
  *out = std::move(s);
  return true;
}

bool ParseJudge0Fields(const std::string& fields, std::vector<std::string>* out,
                       std::string* error) {
  out->clear();
  if (fields.empty()) {
    *out = kDefaultFields;
    return true;
  }
  if (fields == "*") {
    *out = AllFields();
    return true;
  }
  std::vector<std::string> invalid;
  size_t pos = 0;
  while (pos <= fields.size()) {
    size_t comma = fields.find(',', pos);
    if (comma == std::string::npos) {
      comma = fields.size();
    }
    std::string f = Trim(fields.substr(pos, comma - pos));
    pos = comma + 1;
    if (f.empty()) {
      continue;
    }
    if (std::find(AllFields().begin(), AllFields().end(), f) == AllFields().end()) {
      invalid.push_back(f);
    } else {
      out->push_back(f);
    }
  }
  if (!invalid.empty()) {
    std::string list;
    for (size_t i = 0; i < invalid.size(); ++i) {
      list += (i ? ", " : "") + invalid[i];
    }
    *error = "invalid fields: [" + list + "]";
    return false;
  }
  return true;
}

json SelectFields(const json& submission, const std::vector<std::string>& fields) {
  json out = json::object();
  for (const auto& f : fields) {
    out[f] = submission.contains(f) ? submission[f] : json(nullptr);
  }
  return out;
}

namespace {

const char* kUtf8Error =
    "some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true "
    "query parameter";

bool Base64Param(const HttpRequest& req) { return req.Query("base64_encoded") == "true"; }

void Create(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  bool wait = req.Query("wait") == "true";
  bool base64 = Base64Param(req);
  std::vector<std::string> fields;
  std::string error;
  if (!ParseJudge0Fields(req.Query("fields"), &fields, &error)) {
    respond(J0Error(400, error));
    return;
  }
  json p;
  if (!ParamsOf(req, &p, &error)) {
    respond(J0Error(400, error));
    return;
  }
  if (ctx.jobs->QueueFree() == 0) {
    respond(J0Error(503, "queue is full"));
    return;
  }
  engine::Job job;
  json params;
  json errors;
  if (!DecodeJudge0Submission(p, ctx, base64, &job, &params, &errors)) {
    respond(JsonResponse(422, errors));
    return;
  }
  json extras = {{"x_api", "judge0"}, {"x_compat", params}};
  if (!wait) {
    auto id = ctx.jobs->Submit(job, extras);
    if (!id) {
      // A full disk says so (507), not "queue is full".
      bool disk_full = id.error().sys_errno == ENOSPC;
      respond(J0Error(disk_full                                  ? 507
                      : id.error().code == ErrorCode::kInternal ? 500
                                                                 : 503,
                      disk_full || id.error().code != ErrorCode::kResourceExhausted
                          ? id.error().message
                          : "queue is full"));
      return;
    }
    respond(JsonResponse(201, json{{"token", *id}}));
    return;
  }
  auto shared = std::make_shared<Respond>(std::move(respond));
  ApiContext* c = &ctx;
  auto id = ctx.jobs->Submit(
      job, extras,
      AnswerWhenDone(
          shared,
          [c, base64, fields](Result<store::JobRecord> record) {
            if (!record) {
              return J0Error(503, record.error().message);
            }
            json s;
            if (!EncodeJudge0Submission(*record, *c, base64, &s)) {
              return JsonResponse(201, json{{"error", kUtf8Error}, {"token", record->id}});
            }
            return JsonResponse(201, SelectFields(s, fields));
          },
          J0Error(500, "internal error while answering; GET the submission by its token")));
  if (!id) {
    (*shared)(J0Error(503, id.error().code == ErrorCode::kResourceExhausted
                               ? "queue is full"
                               : id.error().message));
  }
}

void Show(ApiContext& ctx, const HttpRequest& req, const std::string& token, Respond respond) {
  std::vector<std::string> fields;
  std::string error;
  if (!ParseJudge0Fields(req.Query("fields"), &fields, &error)) {
    respond(J0Error(400, error));
    return;
  }
  auto record = ctx.jobs->Get(token);
  if (!record) {
    respond(J0Error(record.error().code == ErrorCode::kNotFound ? 404 : 500,
                    record.error().code == ErrorCode::kNotFound
                        ? "submission with token " + token + " not found"
                        : record.error().message));
    return;
  }
  json s;
  if (!EncodeJudge0Submission(*record, ctx, Base64Param(req), &s)) {
    respond(J0Error(400, kUtf8Error));
    return;
  }
  respond(JsonResponse(200, SelectFields(s, fields)));
}

void BatchCreate(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  json p;
  std::string error;
  if (!ParamsOf(req, &p, &error)) {
    respond(J0Error(400, error));
    return;
  }
  size_t n = p.contains("submissions") && p["submissions"].is_array() ? p["submissions"].size() : 0;
  if (n > ctx.config->max_batch) {
    respond(J0Error(400, "number of submissions in a batch should be less than or equal to " +
                             std::to_string(ctx.config->max_batch)));
    return;
  }
  if (n == 0) {
    respond(J0Error(400, "there should be at least one submission in a batch"));
    return;
  }
  if (ctx.jobs->QueueFree() < n) {
    respond(J0Error(503, "queue is full"));
    return;
  }
  bool base64 = Base64Param(req);
  json out = json::array();
  bool any = false;
  for (const auto& item : p["submissions"]) {
    engine::Job job;
    json params;
    json errors;
    if (!item.is_object() || !DecodeJudge0Submission(item, ctx, base64, &job, &params, &errors)) {
      out.push_back(item.is_object() ? errors : json{{"submission", {"must be an object"}}});
      continue;
    }
    auto id = ctx.jobs->Submit(job, json{{"x_api", "judge0"}, {"x_compat", params}});
    if (!id) {
      out.push_back(json{{"error", id.error().code == ErrorCode::kResourceExhausted
                                       ? "queue is full"
                                       : id.error().message}});
      continue;
    }
    any = true;
    out.push_back(json{{"token", *id}});
  }
  respond(JsonResponse(any ? 201 : 422, out));
}

void BatchShow(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  std::vector<std::string> fields;
  std::string error;
  if (!ParseJudge0Fields(req.Query("fields"), &fields, &error)) {
    respond(J0Error(400, error));
    return;
  }
  std::string list = req.HasQuery("tokens") ? req.Query("tokens") : req.Header("tokens");
  std::vector<std::string> tokens;
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) {
      comma = list.size();
    }
    std::string t = Trim(list.substr(pos, comma - pos));
    if (!t.empty()) {
      tokens.push_back(t);
    }
    pos = comma + 1;
  }
  if (tokens.size() > ctx.config->max_batch) {
    respond(J0Error(400, "number of submissions in a batch should be less than or equal to " +
                             std::to_string(ctx.config->max_batch)));
    return;
  }
  if (tokens.empty()) {
    respond(J0Error(400, "there should be at least one submission in a batch"));
    return;
  }
  auto records = ctx.jobs->GetMany(tokens);
  if (!records) {
    respond(J0Error(500, records.error().message));
    return;
  }
  json out = json::array();
  for (const auto& r : *records) {
    if (!r) {
      out.push_back(nullptr);
      continue;
    }
    json s;
    if (!EncodeJudge0Submission(*r, ctx, Base64Param(req), &s)) {
      respond(J0Error(400,
                      "some attributes for one or more submissions cannot be converted to UTF-8, "
                      "use base64_encoded=true query parameter"));
      return;
    }
    out.push_back(SelectFields(s, fields));
  }
  respond(JsonResponse(200, json{{"submissions", out}}));
}

json LanguageList(ApiContext& ctx, bool all) {
  json out = json::array();
  std::set<std::string> seen;
  for (const auto& l : Judge0Languages()) {
    const Judge0Language* entry = nullptr;
    auto info = ResolveJudge0Language(*ctx.jobs, l.id, &entry);
    if (!info) {
      continue;
    }
    bool canonical = seen.insert(info->id).second;
    if (!canonical && !all) {
      continue;
    }
    json j = {{"id", l.id}, {"name", Judge0LanguageName(l, *info)}};
    if (all) {
      j["is_archived"] = !canonical;
    }
    out.push_back(std::move(j));
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  return out;
}

void SendCallback(ApiContext& ctx, const store::JobRecord& record) {
  json request = json::parse(record.request_json, nullptr, false);
  if (!request.is_object() || JStr(request, "x_api", "") != "judge0" ||
      !request.contains("x_compat")) {
    return;
  }
  std::string url = JStr(request["x_compat"], "callback_url", "");
  if (url.empty() || !ctx.http_put) {
    return;
  }
  // Checked again here: the allowlist may have shrunk since the job was accepted.
  if (!CallbackAllowed(*ctx.config, url)) {
    spdlog::warn("job {}: callback to {} skipped: not on the allowlist", record.id,
                 RedactUrl(url));
    return;
  }
  json s;
  // Judge0 (IsolateJob#call_callback) sends the default fields, base64-encoded.
  if (!EncodeJudge0Submission(record, ctx, /*base64=*/true, &s)) {
    return;
  }
  ctx.http_put(url, Dump(SelectFields(s, kDefaultFields)));
}

}  // namespace

void RegisterJudge0Api(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  ctx.jobs->AddFinishListener([c](const store::JobRecord& r) { SendCallback(*c, r); });
  router.Add("POST", "/submissions/batch", ApiStyle::kJudge0,
             [c](const HttpRequest& req, const PathParams&, Respond r) {
               BatchCreate(*c, req, std::move(r));
             });
  router.Add("GET", "/submissions/batch", ApiStyle::kJudge0,
             [c](const HttpRequest& req, const PathParams&, Respond r) {
               BatchShow(*c, req, std::move(r));
             });
  router.Add("POST", "/submissions", ApiStyle::kJudge0,
             [c](const HttpRequest& req, const PathParams&, Respond r) {
               Create(*c, req, std::move(r));
             });
  router.Add("GET", "/submissions/{token}", ApiStyle::kJudge0,
             [c](const HttpRequest& req, const PathParams& p, Respond r) {
               Show(*c, req, p.at("token"), std::move(r));
             });
  router.Add("DELETE", "/submissions/{token}", ApiStyle::kJudge0,
             [](const HttpRequest&, const PathParams&, Respond r) {
               r(J0Error(400, "delete not allowed"));
             });
  router.Add("GET", "/languages", ApiStyle::kJudge0,
             [c](const HttpRequest&, const PathParams&, Respond r) {
               r(JsonResponse(200, LanguageList(*c, false)));
             });
  router.Add("GET", "/languages/all", ApiStyle::kJudge0,
             [c](const HttpRequest&, const PathParams&, Respond r) {
               r(JsonResponse(200, LanguageList(*c, true)));
             });
  router.Add("GET", "/languages/{id}", ApiStyle::kJudge0,
             [c](const HttpRequest&, const PathParams& p, Respond r) {
               const std::string& raw = p.at("id");
               const Judge0Language* entry = nullptr;
               std::optional<engine::LanguageInfo> info;
               // Digits only, at most 9 of them: no strtol overflow, no narrowing cast.
               int id = 0;
               if (!raw.empty() && raw.size() <= 9 &&
                   raw.find_first_not_of("0123456789") == std::string::npos) {
                 for (char d : raw) {
                   id = id * 10 + (d - '0');
                 }
                 info = ResolveJudge0Language(*c->jobs, id, &entry);
               }
               if (!info) {
                 r(J0Error(404, "language with id " + raw + " doesn't exist"));
                 return;
               }
               r(JsonResponse(200, json{{"id", id},
                                        {"name", Judge0LanguageName(*entry, *info)},
                                        {"is_archived", false},
                                        {"source_file", info->main_file},
                                        {"compile_cmd", nullptr},
                                        {"run_cmd", nullptr}}));
             });
  router.Add("GET", "/statuses", ApiStyle::kJudge0,
             [](const HttpRequest&, const PathParams&, Respond r) {
               json out = json::array();
               for (const auto& s : kStatuses) {
                 out.push_back({{"id", s.id}, {"description", s.description}});
               }
               r(JsonResponse(200, out));
             });
  router.Add("GET", "/about", ApiStyle::kJudge0,
             [](const HttpRequest&, const PathParams&, Respond r) {
               r(JsonResponse(200, json{{"version", "1.13.1"},
                                        {"homepage", "/"},
                                        {"source_code", "/api/v1/openapi.json"},
                                        {"maintainer", "runbox (Judge0 CE compatible API)"}}));
             });
  router.Add("GET", "/config_info", ApiStyle::kJudge0,
             [c](const HttpRequest&, const PathParams&, Respond r) {
               const ServerConfig& cfg = *c->config;
               auto secs = [](std::chrono::milliseconds ms) {
                 return static_cast<double>(ms.count()) / 1000.0;
               };
               const auto& d = cfg.default_limits;
               const auto& m = cfg.max_limits;
               r(JsonResponse(
                   200,
                   json{{"maintenance_mode", false},
                        {"enable_wait_result", true},
                        {"enable_compiler_options", true},
                        {"allowed_languages_for_compile_options", json::array()},
                        {"enable_command_line_arguments", true},
                        {"enable_submission_delete", false},
                        {"enable_callbacks", !cfg.callback_allowlist.empty()},
                        {"callbacks_max_tries", 1},
                        {"callbacks_timeout", 5},
                        {"enable_additional_files", false},
                        {"max_queue_size", cfg.queue_size},
                        {"cpu_time_limit", secs(d.cpu_time)},
                        {"max_cpu_time_limit", secs(m.cpu_time)},
                        {"cpu_extra_time", 0},
                        {"max_cpu_extra_time", 5},
                        {"wall_time_limit", secs(d.wall_time)},
                        {"max_wall_time_limit", secs(m.wall_time)},
                        {"memory_limit", d.memory_bytes / 1024},
                        {"max_memory_limit", m.memory_bytes / 1024},
                        {"stack_limit", d.stack_bytes / 1024},
                        {"max_stack_limit", m.stack_bytes / 1024},
                        {"max_processes_and_or_threads", d.pids},
                        {"max_max_processes_and_or_threads", m.pids},
                        {"enable_per_process_and_thread_time_limit", false},
                        {"allow_enable_per_process_and_thread_time_limit", false},
                        {"enable_per_process_and_thread_memory_limit", false},
                        {"allow_enable_per_process_and_thread_memory_limit", false},
                        {"max_file_size", d.file_size_bytes / 1024},
                        {"max_max_file_size", m.file_size_bytes / 1024},
                        {"number_of_runs", 1},
                        {"max_number_of_runs", 20},
                        {"redirect_stderr_to_stdout", false},
                        {"max_extract_size", 0},
                        {"enable_batched_submissions", true},
                        {"max_submission_batch_size", cfg.max_batch},
                        {"submission_cache_duration", 0},
                        {"use_docs_as_homepage", false},
                        {"allow_enable_network", false},
                        {"enable_network", false}}));
             });
}

}  // namespace runbox::server
