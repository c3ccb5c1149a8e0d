// paiza.IO compatibility (api.paiza.io runners API, as the paiza-io npm client uses it):
//   POST /runners/create       source_code, language, input, longpoll, longpoll_timeout, api_key
//                              -> {"id", "status": "running"|"completed"}
//   GET  /runners/get_status   id -> {"id", "status"}
//   GET  /runners/get_details  id -> {"id", "language", "note", "status", "build_stdout",
//        "build_stderr", "build_exit_code", "build_time", "build_memory", "build_result", "stdout",
//        "stderr", "exit_code", "time", "memory", "connections", "result"}
// Bodies are forms or JSON; every path also answers with a ".json" suffix. Times are strings in
// seconds, memory in bytes; results are success, failure, error or timeout. Errors are
// {"error": "..."}, which the client turns into an exception.

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "server/api.h"

namespace runbox::server {
namespace {

HttpResponse PaizaError(int status, const std::string& message, const std::string& id = "") {
  json body = {{"error", message}};
  if (!id.empty()) {
    body["id"] = id;
  }
  return JsonResponse(status, body);
}

// paiza.IO's language names -> runbox languages, where the names differ.
std::vector<std::string> PaizaCandidates(const std::string& language) {
  static const std::map<std::string, std::vector<std::string>> kMap = {
      {"python", {"python2", "python3"}},  // paiza's "python" is Python 2; fall back to 3
      {"python3", {"python3", "python"}},
      {"objective-c", {"objectivec", "objc"}},
      {"csharp", {"csharp", "cs"}},
      {"vb", {"vbnet", "vb"}},
      {"commonlisp", {"commonlisp", "lisp", "sbcl"}},
      {"plain", {"plaintext", "text"}},
      {"javascript", {"javascript", "js", "node"}},
      {"typescript", {"typescript", "ts"}},
      {"cpp", {"cpp", "c++"}},
      {"bash", {"bash", "sh"}},
      {"mysql", {"mysql", "sqlite"}},
      {"scheme", {"scheme", "guile", "racket"}},
  };
  auto it = kMap.find(language);
  if (it != kMap.end()) {
    return it->second;
  }
  return {language};
}

// Params from the query, then the body (a form or JSON). false with `error` naming what was
// wrong: malformed body, or a JSON param that is an array or object (never dumped: a deeply
// nested source_code once took the server down; a string, number or boolean is taken as text).
bool ParamsOf(const HttpRequest& req, std::map<std::string, std::string>* out,
              std::string* error) {
  for (const auto& [k, v] : req.query) {
    (*out)[k] = v;
  }
  if (req.body.empty()) {
    return true;
  }
  if (req.MediaType() == "application/json") {
    json j;
    ApiError err;
    if (!ParseJsonBody(req.body, &j, &err)) {
      *error = err.message;
      return false;
    }
    if (!j.is_object()) {
      *error = "the body must be a JSON object";
      return false;
    }
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) {
        (*out)[k] = v.get<std::string>();
      } else if (v.is_number() || v.is_boolean()) {
        (*out)[k] = v.dump();  // a scalar: no recursion
      } else if (!v.is_null()) {
        *error = k + " must be a string";
        return false;
      }
    }
    return true;
  }
  if (!ParseForm(req.body, out)) {
    *error = "malformed form body";
    return false;
  }
  return true;
}

bool Truthy(const std::string& v) { return v == "true" || v == "1" || v == "yes"; }

std::string Seconds(uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(ms) / 1000.0);
  return buf;
}

const char* ResultOf(const std::string& status) {
  if (status == "OK") {
    return "success";
  }
  if (status == "TLE") {
    return "timeout";
  }
  if (status == "SE") {
    return "error";
  }
  return "failure";
}

json Details(const store::JobRecord& record) {
  json request = json::parse(record.request_json, nullptr, false);
  std::string language = request.is_object() && request.contains("x_compat")
                             ? JStr(request["x_compat"], "language", "")
                             : "";
  json d = {{"id", record.id},
            {"language", language},
            {"note", nullptr},
            {"status", record.state == store::JobState::kDone ? "completed" : "running"},
            {"build_stdout", nullptr},
            {"build_stderr", nullptr},
            {"build_exit_code", nullptr},
            {"build_time", nullptr},
            {"build_memory", nullptr},
            {"build_result", nullptr},
            {"stdout", nullptr},
            {"stderr", nullptr},
            {"exit_code", nullptr},
            {"time", nullptr},
            {"memory", nullptr},
            {"connections", 0},
            {"result", nullptr}};
  if (record.state != store::JobState::kDone) {
    return d;
  }
  json result = json::parse(record.result_json, nullptr, false);
  if (!result.is_object()) {
    d["result"] = "error";
    return d;
  }
  if (result.contains("compile") && result["compile"].is_object()) {
    sandbox::Outcome c = wire::DecodeResult(result["compile"]);
    d["build_stdout"] = std::move(c.stdout_data);
    d["build_stderr"] = std::move(c.stderr_data);
    d["build_exit_code"] = c.exit_code;
    d["build_time"] = Seconds(c.wall_time_ms);
    d["build_memory"] = c.memory_kib * 1024;
    d["build_result"] = ResultOf(sandbox::StatusCode(c.status));
  }
  if (const json* run = wire::FirstCaseResult(result)) {
    sandbox::Outcome r = wire::DecodeResult(*run);
    d["stdout"] = std::move(r.stdout_data);
    d["stderr"] = std::move(r.stderr_data);
    d["exit_code"] = r.exit_code;
    d["time"] = Seconds(r.cpu_time_ms);
    d["memory"] = r.memory_kib * 1024;
    d["result"] = ResultOf(sandbox::StatusCode(r.status));
  } else if (JStr(result, "status", "") == "SE") {
    d["result"] = "error";
    d["stderr"] = JStr(result, "message", "");
  }
  return d;
}

void Create(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  std::map<std::string, std::string> p;
  std::string error;
  if (!ParamsOf(req, &p, &error)) {
    respond(PaizaError(400, error));
    return;
  }
  std::string language = p["language"];
  if (language.empty()) {
    respond(PaizaError(400, "language is required"));
    return;
  }
  if (!p.count("source_code")) {
    respond(PaizaError(400, "source_code is required"));
    return;
  }
  std::optional<engine::LanguageInfo> lang;
  for (const auto& candidate : PaizaCandidates(language)) {
    lang = ctx.jobs->FindLanguage(candidate);
    if (lang) {
      break;
    }
  }
  if (!lang) {
    respond(PaizaError(400, "language " + language + " is not supported"));
    return;
  }
  engine::Job job;
  job.language = lang->id;
  job.files.push_back({lang->main_file.empty() ? "main" : lang->main_file, p["source_code"]});
  job.tests.push_back({p["input"], std::nullopt});
  json extras = {{"x_api", "paiza"}, {"x_compat", {{"language", language}}}};

  bool longpoll = Truthy(p["longpoll"]);
  if (!longpoll) {
    auto id = ctx.jobs->Submit(job, extras);
    if (!id) {
      respond(PaizaError(503, id.error().message));
      return;
    }
    respond(JsonResponse(200, json{{"id", *id}, {"status", "running"}, {"error", nullptr}}));
    return;
  }
  // Long poll: answer when the job is done or after longpoll_timeout seconds, whichever is first.
  // Seconds, as a bounded integer of ms (ToBoundedInt): "nan" here once reached an integer cast.
  // Out of (0, 60] means the default of 10 s, as before; what is not a number is the client's
  // error.
  int64_t timeout_ms = 10000;
  if (!p["longpoll_timeout"].empty()) {
    int64_t ms = 0;
    switch (ToBoundedInt(json(p["longpoll_timeout"]), 1000, 1, 60000, /*strings_ok=*/true, &ms)) {
      case NumberCheck::kOk: timeout_ms = ms; break;
      case NumberCheck::kNotANumber:
        respond(PaizaError(400, "longpoll_timeout must be a number of seconds"));
        return;
      case NumberCheck::kBelow:
      case NumberCheck::kAbove: break;
    }
  }
  struct Waiter {
    std::mutex mu;
    bool answered = false;
    std::string id;
    uint64_t timer = 0;
    Respond respond;
  };
  auto w = std::make_shared<Waiter>();
  w->respond = std::move(respond);
  // Runs on the timer thread or an engine worker, with no catch above that answers the client:
  // the exception boundary of both callbacks (STYLE.md §3), as AnswerWhenDone is for the other
  // APIs. A throw is logged; the waiter counts as answered, since a respond that threw cannot be
  // trusted with a second answer (the router's finish drops seconds anyway).
  auto answer = [w](const std::string& status) {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->answered || w->id.empty()) {
      return false;
    }
    w->answered = true;
    try {
      w->respond(JsonResponse(200, json{{"id", w->id}, {"status", status}, {"error", nullptr}}));
    } catch (const std::exception& e) {
      spdlog::error("paiza runner {}: answering the long poll threw: {}", w->id, e.what());
    } catch (...) {
      spdlog::error("paiza runner {}: answering the long poll threw", w->id);
    }
    return true;
  };
  std::lock_guard<std::mutex> lock(w->mu);  // held until the id is known, so callbacks wait
  TimerQueue* timers = ctx.timers;
  auto id = ctx.jobs->Submit(job, extras, [w, answer, timers](Result<store::JobRecord>) {
    {
      std::lock_guard<std::mutex> l(w->mu);
      if (w->timer) {
        timers->Cancel(w->timer);
      }
    }
    answer("completed");
  });
  if (!id) {
    w->answered = true;
    w->respond(PaizaError(503, id.error().message));
    return;
  }
  w->id = *id;
  w->timer = timers->After(std::chrono::milliseconds(timeout_ms), [answer] { answer("running"); });
}

// The runner the request's `id` names; nullopt after answering 404.
std::optional<store::JobRecord> FindRunner(ApiContext& ctx, const HttpRequest& req,
                                           const Respond& respond) {
  std::map<std::string, std::string> p;
  std::string error;
  if (!ParamsOf(req, &p, &error)) {
    respond(PaizaError(400, error));
    return std::nullopt;
  }
  std::string id = p["id"];
  auto record = ctx.jobs->Get(id);
  if (!record) {
    respond(PaizaError(404, "runner " + id + " not found", id));
    return std::nullopt;
  }
  return *std::move(record);
}

void GetStatus(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  auto record = FindRunner(ctx, req, respond);
  if (!record) {
    return;
  }
  respond(JsonResponse(
      200, json{{"id", record->id},
                {"status", record->state == store::JobState::kDone ? "completed" : "running"},
                {"error", nullptr}}));
}

void GetDetails(ApiContext& ctx, const HttpRequest& req, Respond respond) {
  auto record = FindRunner(ctx, req, respond);
  if (!record) {
    return;
  }
  respond(JsonResponse(200, Details(*record)));
}

}  // namespace

void RegisterPaizaApi(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  for (const char* suffix : {"", ".json"}) {
    std::string s(suffix);
    router.Add("POST", "/runners/create" + s, ApiStyle::kPaiza,
               [c](const HttpRequest& req, const PathParams&, Respond r) {
                 Create(*c, req, std::move(r));
               });
    for (const char* method : {"GET", "POST"}) {
      router.Add(method, "/runners/get_status" + s, ApiStyle::kPaiza,
                 [c](const HttpRequest& req, const PathParams&, Respond r) {
                   GetStatus(*c, req, std::move(r));
                 });
      router.Add(method, "/runners/get_details" + s, ApiStyle::kPaiza,
                 [c](const HttpRequest& req, const PathParams&, Respond r) {
                   GetDetails(*c, req, std::move(r));
                 });
    }
  }
}

}  // namespace runbox::server
