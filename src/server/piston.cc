// Piston v2 compatibility (engineer-man/piston, api/src/api/v2.js and job.js):
//   GET  /api/v2/runtimes  [{language, version, aliases}]
//   POST /api/v2/execute   {language, version?, files, stdin?, args?, run_timeout?, ...}
//                          -> {language, version, run: Stage, compile?: Stage}
// Behaviour kept from Piston: the body is parsed as JSON whatever its Content-Type (piston-client
// posts with node-fetch's default text/plain); stdin gets a trailing newline when it has none;
// files[i].name defaults to file<i>.code (files[0] to the language's main file here, so compiled
// languages find it); a compile error is also returned as `run`; errors are 400 {"message"}.
// Differences: a missing version means the installed one (Piston requires one; piston-client
// fills in the latest); memory is the cgroup peak in bytes.
// The WebSocket /api/v2/connect is in interactive.cc.

#include <cctype>
#include <memory>
#include <set>

#include "server/api.h"
#include "server/piston_codec.h"

namespace runbox::server {
namespace {

HttpResponse PistonError(int status, const std::string& message) {
  return JsonResponse(status, json{{"message", message}});
}

void Runtimes(ApiContext& ctx, const HttpRequest&, const PathParams&, Respond respond) {
  json out = json::array();
  for (const auto& l : ctx.jobs->Languages()) {
    if (!l.installed) {
      continue;
    }
    out.push_back({{"language", l.id}, {"version", SemverOf(l.version)}, {"aliases", l.aliases}});
  }
  respond(JsonResponse(200, out));
}

void Execute(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  json body;
  ApiError err;
  if (!ParseJsonBody(req.body, &body, &err)) {
    respond(PistonError(400, err.message));
    return;
  }
  if (!body.is_object()) {
    respond(PistonError(400, "request body must be a JSON object"));
    return;
  }
  PistonJob pj;
  std::string message;
  if (!DecodePistonJob(body, ctx, &pj, &message)) {
    respond(PistonError(400, message));
    return;
  }
  auto shared_respond = std::make_shared<Respond>(std::move(respond));
  bool compiled = pj.language.compiled;
  std::string language = pj.language.id;
  std::string version = SemverOf(pj.language.version);
  auto id = ctx.jobs->Submit(
      pj.job, json{{"x_api", "piston"}},
      AnswerWhenDone(
          shared_respond,
          [compiled, language, version](Result<store::JobRecord> record) {
            if (!record) {
              return PistonError(503, record.error().message);
            }
            return JsonResponse(200, EncodePistonResult(*record, compiled, language, version));
          },
          PistonError(500, "internal error while answering; the job finished")));
  if (!id) {
    (*shared_respond)(PistonError(id.error().code == ErrorCode::kResourceExhausted ||
                                          id.error().code == ErrorCode::kUnavailable
                                      ? 503
                                      : 500,
                                  id.error().message));
  }
}

}  // namespace

bool DecodePistonJob(const json& body, ApiContext& ctx, PistonJob* out, std::string* message) {
  if (!body.contains("language") || !body["language"].is_string() ||
      body["language"].get<std::string>().empty()) {
    *message = "language is required as a string";
    return false;
  }
  std::string language = body["language"].get<std::string>();
  std::string version;
  if (body.contains("version") && !body["version"].is_null()) {
    if (!body["version"].is_string()) {
      *message = "version is required as a string";
      return false;
    }
    version = body["version"].get<std::string>();
  }
  if (!body.contains("files") || !body["files"].is_array()) {
    *message = "files is required as an array";
    return false;
  }
  const json& files = body["files"];
  // Before any per-file work: 100,000 files once took 18 s of the I/O thread here.
  if (files.size() > kMaxFiles) {
    *message = "files may include at most " + std::to_string(kMaxFiles) + " files";
    return false;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (!files[i].is_object() || !files[i].contains("content") ||
        !files[i]["content"].is_string()) {
      *message = "files[" + std::to_string(i) + "].content is required as a string";
      return false;
    }
  }
  // Piston matches with node-semver's satisfies(); so does lang::VersionRange.
  Result<lang::VersionRange> range = lang::VersionRange::Parse(version);
  if (!range) {
    *message = range.error().message;
    return false;
  }
  auto lang = ctx.jobs->FindLanguage(language);
  if (!lang || !range->Matches(lang::SemverOf(lang->version))) {
    *message = language + "-" + (version.empty() ? "*" : version) + " runtime is unknown";
    return false;
  }
  if (files.empty()) {
    *message = "files must include at least one utf8 encoded file";
    return false;
  }
  engine::Job job;
  job.language = lang->id;
  bool any_utf8 = false;
  std::set<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    const json& f = files[i];
    engine::File ef;
    if (f.contains("name") && f["name"].is_string() && !f["name"].get<std::string>().empty()) {
      ef.name = f["name"].get<std::string>();
    } else if (i == 0 && !lang->main_file.empty()) {
      ef.name = lang->main_file;
    } else {
      ef.name = "file" + std::to_string(i) + ".code";
    }
    if (std::string problem = FileNameProblem(ef.name); !problem.empty()) {
      // Piston's own words for an escaping path; the name is not echoed (it may hold control
      // bytes), its index is.
      *message = "files[" + std::to_string(i) + "].name: " +
                 (problem.find("relative") != std::string::npos
                      ? "file path tries to escape parent directory"
                      : problem);
      return false;
    }
    std::string encoding = f.contains("encoding") && f["encoding"].is_string()
                               ? f["encoding"].get<std::string>()
                               : "utf8";
    const std::string& content = f["content"].get_ref<const std::string&>();
    if (encoding == "base64") {
      if (!Base64Decode(content, &ef.content)) {
        *message = "files[" + std::to_string(i) + "].content is not valid base64";
        return false;
      }
    } else if (encoding == "hex") {
      // Strict (HexDecode): std::stoi here once threw on "zz" (a 500, and std::terminate on the
      // WebSocket) and took "1z-1 f".
      if (!HexDecode(content, &ef.content)) {
        *message = "files[" + std::to_string(i) +
                   "].content is not valid hex (an even number of 0-9, a-f, A-F)";
        return false;
      }
    } else if (encoding == "utf8" || encoding == "utf-8") {
      any_utf8 = true;
      ef.content = content;
    } else {
      *message = "files[" + std::to_string(i) + "].encoding must be utf8, base64 or hex";
      return false;
    }
    if (!names.insert(ef.name).second) {  // n log n, whatever the number of files
      *message = "files[" + std::to_string(i) + "].name is used twice";
      return false;
    }
    job.files.push_back(std::move(ef));
  }
  if (!any_utf8) {
    *message = "files must include at least one utf8 encoded file";
    return false;
  }
  if (body.contains("args") && !body["args"].is_null()) {
    if (!body["args"].is_array()) {
      *message = "args must be an array of strings";
      return false;
    }
    for (const auto& a : body["args"]) {
      if (!a.is_string()) {
        *message = "args must be an array of strings";
        return false;
      }
      job.args.push_back(a.get<std::string>());
    }
    ApiError err;
    size_t argv_bytes = 0;
    if (!CheckArgv(job.args, "args", &argv_bytes, &err)) {
      *message = err.message;
      return false;
    }
  }
  std::string stdin_data;
  if (body.contains("stdin") && !body["stdin"].is_null()) {
    if (!body["stdin"].is_string()) {
      *message = "stdin must be a string";
      return false;
    }
    stdin_data = body["stdin"].get<std::string>();
  }
  // Piston (job.js): "Add a trailing newline if it doesn't exist".
  if (stdin_data.empty() || stdin_data.back() != '\n') {
    stdin_data += '\n';
  }
  job.tests.push_back({stdin_data, std::nullopt});

  const LimitsPolicy policy = PolicyOf(*ctx.config);
  sandbox::Limits run = policy.defaults;
  sandbox::Limits compile = policy.defaults;
  // The fields the request named: those are the limits, the others defaults a language may raise.
  engine::LimitFields run_given = engine::LimitFields::None();
  engine::LimitFields compile_given = engine::LimitFields::None();
  struct Spec {
    const char* name;
    bool compile;
    int kind;  // 0 wall ms, 1 cpu ms, 2 memory bytes
  };
  const Spec specs[] = {{"run_timeout", false, 0},        {"compile_timeout", true, 0},
                        {"run_cpu_time", false, 1},       {"compile_cpu_time", true, 1},
                        {"run_memory_limit", false, 2},   {"compile_memory_limit", true, 2}};
  for (const auto& s : specs) {
    if (!body.contains(s.name) || body[s.name].is_null()) {
      continue;
    }
    const json& v = body[s.name];
    if (!v.is_number()) {
      *message = std::string("If specified, ") + s.name + " must be a number";
      return false;
    }
    // Piston: a falsy value means the configured default; -1 for memory means "no limit asked
    // for", which is the configured default here too.
    if (v.get<double>() == 0 || (s.kind == 2 && v.get<double>() < 0)) {
      continue;
    }
    sandbox::Limits& l = s.compile ? compile : run;
    int64_t max = s.kind == 0   ? policy.max.wall_time.count()
                  : s.kind == 1 ? policy.max.cpu_time.count()
                                : static_cast<int64_t>(policy.max.memory_bytes);
    int64_t min = s.kind == 2 ? static_cast<int64_t>(kMinMemoryBytes) : 1;
    int64_t n = 0;
    switch (ToBoundedInt(v, 1, min, max, /*strings_ok=*/false, &n)) {
      case NumberCheck::kOk: break;
      case NumberCheck::kNotANumber:
        *message = std::string("If specified, ") + s.name + " must be a finite number";
        return false;
      case NumberCheck::kBelow:
        *message = s.kind == 2 ? std::string(s.name) + " must be at least " +
                                     std::to_string(kMinMemoryBytes) + " bytes (4 MiB)"
                               : std::string(s.name) + " must be at least 1 (ms)";
        return false;
      case NumberCheck::kAbove:
        *message = std::string(s.name) + " cannot exceed the configured limit of " +
                   std::to_string(max);
        return false;
    }
    engine::LimitFields& given = s.compile ? compile_given : run_given;
    if (s.kind == 0) {
      l.wall_time = std::chrono::milliseconds(n);
      given.Add(engine::LimitField::kWallTime);
    } else if (s.kind == 1) {
      l.cpu_time = std::chrono::milliseconds(n);
      given.Add(engine::LimitField::kCpuTime);
    } else {
      l.memory_bytes = static_cast<uint64_t>(n);
      given.Add(engine::LimitField::kMemory);
    }
  }
  if (run_given != engine::LimitFields::None()) {
    job.run_limits = run;
    job.run_limits_given = run_given;
  }
  if (compile_given != engine::LimitFields::None()) {
    job.compile_limits = compile;
    job.compile_limits_given = compile_given;
  }
  out->job = std::move(job);
  out->language = *lang;
  return true;
}

namespace {

const char* SignalName(int sig) {
  switch (sig) {
    case 1: return "SIGHUP";
    case 2: return "SIGINT";
    case 3: return "SIGQUIT";
    case 4: return "SIGILL";
    case 5: return "SIGTRAP";
    case 6: return "SIGABRT";
    case 7: return "SIGBUS";
    case 8: return "SIGFPE";
    case 9: return "SIGKILL";
    case 10: return "SIGUSR1";
    case 11: return "SIGSEGV";
    case 12: return "SIGUSR2";
    case 13: return "SIGPIPE";
    case 14: return "SIGALRM";
    case 15: return "SIGTERM";
    case 24: return "SIGXCPU";
    case 25: return "SIGXFSZ";
    case 31: return "SIGSYS";
    default: return nullptr;
  }
}

}  // namespace

json EncodePistonStage(const json& result) {
  using sandbox::RunStatus;
  const sandbox::Outcome o = wire::DecodeResult(result);
  json stage = {{"stdout", o.stdout_data},
                {"stderr", o.stderr_data},
                {"output", o.stdout_data + o.stderr_data},
                {"code", nullptr},
                {"signal", nullptr},
                {"message", nullptr},
                {"status", nullptr},
                {"memory", o.memory_kib * 1024},
                {"cpu_time", o.cpu_time_ms},
                {"wall_time", o.wall_time_ms}};
  if (o.status == RunStatus::kOk || o.status == RunStatus::kRuntimeError) {
    stage["code"] = o.exit_code;
  }
  if (o.signal > 0 && SignalName(o.signal)) {
    stage["signal"] = SignalName(o.signal);
  }
  if (o.status != RunStatus::kOk) {
    stage["message"] = o.message;
  }
  // isolate's codes as Piston reports them: RE (non-zero exit), SG (signal), TO (timeout),
  // OL/EL (stdout/stderr too long), XX (internal error).
  switch (o.status) {
    case RunStatus::kOk: break;
    case RunStatus::kRuntimeError: stage["status"] = "RE"; break;
    case RunStatus::kSignaled:
    case RunStatus::kMemoryLimit:
      stage["status"] = "SG";
      if (stage["signal"].is_null()) {
        stage["signal"] = "SIGKILL";
      }
      break;
    case RunStatus::kTimeLimit:
      stage["status"] = "TO";
      stage["signal"] = "SIGKILL";
      break;
    case RunStatus::kOutputLimit:
      stage["status"] = o.stderr_truncated && !o.stdout_truncated ? "EL" : "OL";
      stage["signal"] = "SIGKILL";
      break;
    case RunStatus::kSystemError: stage["status"] = "XX"; break;
  }
  return stage;
}

json EncodePistonResult(const store::JobRecord& record, bool compiled, const std::string& language,
                        const std::string& version) {
  json result = json::parse(record.result_json, nullptr, false);
  json out = {{"language", language}, {"version", version}};
  if (!result.is_object()) {
    result = ErrorResult("unreadable result");
  }
  if (result.contains("compile") && result["compile"].is_object()) {
    out["compile"] = EncodePistonStage(result["compile"]);
  } else if (compiled && JStr(result, "status", "") == "SE") {
    out["compile"] = EncodePistonStage({{"status", "SE"}, {"message", JStr(result, "message", "")}});
  }
  if (result.contains("cases") && result["cases"].is_array() && !result["cases"].empty()) {
    out["run"] = EncodePistonStage(result["cases"][0]["result"]);
  } else if (out.contains("compile")) {
    out["run"] = out["compile"];  // v2.js: "Backward compatibility when the run stage is not started"
  } else {
    out["run"] = EncodePistonStage({{"status", "SE"}, {"message", JStr(result, "message", "")}});
  }
  return out;
}

void RegisterPistonApi(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  router.Add("GET", "/api/v2/runtimes", ApiStyle::kPiston,
             [c](const HttpRequest& req, const PathParams& p, Respond r) {
               Runtimes(*c, req, p, std::move(r));
             });
  router.Add("POST", "/api/v2/execute", ApiStyle::kPiston,
             [c](const HttpRequest& req, const PathParams& p, Respond r) {
               Execute(*c, req, p, std::move(r));
             });
}

}  // namespace runbox::server
