// The native API, /api/v1 (docs/api.md), plus /healthz and /metrics.

#include <spdlog/spdlog.h>

#include <memory>

#include "server/api.h"
#include "server/interactive.h"

namespace runbox::server {
namespace {

HttpResponse Unavailable(const Error& e) {
  HttpResponse r = NativeError(FromError(e));
  if (r.status == 503) {
    r.SetHeader("Retry-After", "1");
  }
  return r;
}

// Decodes a native JobRequest and checks that its language is installed.
bool DecodeRequest(ApiContext& ctx, const json& body, const DecodeOptions& options,
                   engine::Job* job, ApiError* err, const std::string& field_prefix = "") {
  if (!DecodeJobRequest(body, PolicyOf(*ctx.config), options, job, err)) {
    if (!field_prefix.empty()) {
      err->field = err->field.empty() ? field_prefix : field_prefix + "." + err->field;
      err->message = field_prefix + "." + err->message;
    }
    return false;
  }
  auto language = ctx.jobs->FindLanguage(job->language);
  if (!language) {
    std::string f = field_prefix.empty() ? "language" : field_prefix + ".language";
    *err = {404, "not_found",
            f + ": unknown or not installed language '" + job->language +
                "' (GET /api/v1/languages lists them)",
            f};
    return false;
  }
  // Checked here, not only by the engine, so that the client gets the 400/404 instead of a job
  // that ends as SE: a version is a semver range over the installed version (lang/version.h).
  std::string vf = field_prefix.empty() ? "version" : field_prefix + ".version";
  Result<lang::VersionRange> range = lang::VersionRange::Parse(job->version);
  if (!range) {
    *err = BadRequest(vf, "'" + job->version + "' is not a version range (examples: \"3.11\", " +
                              "\"3.x\", \">=3.9 <4\", \"*\")");
    return false;
  }
  if (!range->Matches(lang::SemverOf(language->version))) {
    *err = {404, "not_found",
            vf + ": '" + job->version + "' of " + language->id +
                " is not installed; installed versions: " + SemverOf(language->version),
            vf};
    return false;
  }
  return true;
}

bool ParseBody(const HttpRequest& req, json* body, const Respond& respond) {
  ApiError err;
  if (!ParseJsonBody(req.body, body, &err)) {
    respond(NativeError(err));
    return false;
  }
  return true;
}

// The request body as a Job; false after answering the client with the error.
bool DecodeJobBody(ApiContext& ctx, const HttpRequest& req, engine::Job* job,
                   const Respond& respond) {
  json body;
  if (!ParseBody(req, &body, respond)) {
    return false;
  }
  ApiError err;
  if (!DecodeRequest(ctx, body, DecodeOptions{}, job, &err)) {
    respond(NativeError(err));
    return false;
  }
  return true;
}

void RunAndWait(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  engine::Job job;
  if (!DecodeJobBody(ctx, req, &job, respond)) {
    return;
  }
  auto shared_respond = std::make_shared<Respond>(std::move(respond));
  auto id = ctx.jobs->Submit(
      job, json{{"x_api", "v1"}},
      AnswerWhenDone(
          shared_respond,
          [](Result<store::JobRecord> record) {
            if (!record) {
              return Unavailable(record.error());
            }
            return JsonResponse(200, EncodeJobRecord(*record));
          },
          NativeError({500, "internal", "internal error while answering; the job finished", ""})));
  if (!id) {
    (*shared_respond)(Unavailable(id.error()));
  }
}

void SubmitJob(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  engine::Job job;
  if (!DecodeJobBody(ctx, req, &job, respond)) {
    return;
  }
  auto id = ctx.jobs->Submit(job, json{{"x_api", "v1"}});
  if (!id) {
    respond(Unavailable(id.error()));
    return;
  }
  HttpResponse r = JsonResponse(202, json{{"id", *id}, {"state", "queued"}});
  r.SetHeader("Location", "/api/v1/jobs/" + *id);
  respond(std::move(r));
}

void SubmitBatch(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  json body;
  if (!ParseBody(req, &body, respond)) {
    return;
  }
  if (!body.is_object() || !body.contains("jobs") || !body["jobs"].is_array() ||
      body["jobs"].empty()) {
    respond(NativeError(BadRequest("jobs", "required, a non-empty array of JobRequest")));
    return;
  }
  const json& list = body["jobs"];
  if (list.size() > ctx.config->max_batch) {
    respond(NativeError(BadRequest(
        "jobs", "at most " + std::to_string(ctx.config->max_batch) + " jobs in one batch")));
    return;
  }
  std::vector<engine::Job> jobs(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    ApiError err;
    if (!DecodeRequest(ctx, list[i], DecodeOptions{}, &jobs[i], &err,
                       "jobs[" + std::to_string(i) + "]")) {
      respond(NativeError(err));
      return;
    }
  }
  // All or nothing: a batch that does not fit is refused before any of it is stored.
  if (ctx.jobs->QueueFree() < jobs.size()) {
    respond(Unavailable(MakeError(ErrorCode::kResourceExhausted,
                                  "queue is full: the batch of " + std::to_string(jobs.size()) +
                                      " jobs does not fit")));
    return;
  }
  json ids = json::array();
  for (const auto& job : jobs) {
    auto id = ctx.jobs->Submit(job, json{{"x_api", "v1"}});
    if (!id) {
      // Lost a race with other submitters; the ones already queued stay queued.
      HttpResponse r = Unavailable(id.error());
      json b = json::parse(r.body, nullptr, /*allow_exceptions=*/false);  // our own body
      b["ids"] = ids;
      r.body = Dump(b);
      respond(std::move(r));
      return;
    }
    ids.push_back(*id);
  }
  respond(JsonResponse(202, json{{"ids", ids}}));
}

void GetJob(ApiContext& ctx, const HttpRequest&, const PathParams& params, Respond respond) {
  auto record = ctx.jobs->Get(params.at("id"));
  if (!record) {
    respond(NativeError(FromError(record.error())));
    return;
  }
  respond(JsonResponse(200, EncodeJobRecord(*record)));
}

void ListJobs(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  std::vector<std::string> ids;
  std::string list = req.Query("ids");
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) {
      comma = list.size();
    }
    std::string id = list.substr(pos, comma - pos);
    if (!id.empty()) {
      ids.push_back(id);
    }
    pos = comma + 1;
  }
  if (ids.empty()) {
    respond(NativeError(BadRequest("ids", "required: ?ids=ID,ID,...")));
    return;
  }
  if (ids.size() > 100) {
    respond(NativeError(BadRequest("ids", "at most 100 ids")));
    return;
  }
  auto records = ctx.jobs->GetMany(ids);
  if (!records) {
    respond(NativeError(FromError(records.error())));
    return;
  }
  json jobs = json::array();
  for (const auto& r : *records) {
    jobs.push_back(r ? EncodeJobRecord(*r) : json(nullptr));
  }
  respond(JsonResponse(200, json{{"jobs", jobs}}));
}

void PutSnippet(ApiContext& ctx, const HttpRequest& req, const PathParams&, Respond respond) {
  json body;
  if (!ParseBody(req, &body, respond)) {
    return;
  }
  if (!body.is_object()) {
    respond(NativeError(BadRequest("", "expected a JSON object")));
    return;
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "language" && k != "files" && k != "stdin" && k != "args") {
      respond(NativeError(BadRequest(k, "unknown field (a snippet has language, files, stdin, "
                                        "args)")));
      return;
    }
  }
  // The same checks as a run, so a saved snippet can always be run; only after them is the body
  // dumped for the store (never copied: ParseJsonBody bounded its depth anyway).
  engine::Job job;
  ApiError err;
  if (!DecodeJobRequest(body, PolicyOf(*ctx.config), DecodeOptions{}, &job, &err)) {
    respond(NativeError(err));
    return;
  }
  auto id = ctx.store->PutSnippet(Dump(body), NowUnixMs());
  if (!id) {
    respond(NativeError(FromError(id.error())));
    return;
  }
  HttpResponse r = JsonResponse(201, json{{"id", *id}});
  r.SetHeader("Location", "/api/v1/snippets/" + *id);
  respond(std::move(r));
}

void GetSnippet(ApiContext& ctx, const HttpRequest&, const PathParams& params, Respond respond) {
  auto s = ctx.store->GetSnippet(params.at("id"));
  if (!s) {
    respond(NativeError(FromError(s.error())));
    return;
  }
  HttpResponse r;
  r.status = 200;
  r.body = s->body_json;
  respond(std::move(r));
}

void Languages(ApiContext& ctx, const HttpRequest&, const PathParams&, Respond respond) {
  json out = json::array();
  for (const auto& l : ctx.jobs->Languages()) {
    if (!l.installed) {
      continue;
    }
    out.push_back({{"id", l.id},
                   {"name", l.name},
                   {"version", l.version},
                   {"aliases", l.aliases},
                   {"extensions", l.extensions},
                   {"main_file", l.main_file},
                   {"template", l.template_code},
                   {"compiled", l.compiled}});
  }
  respond(JsonResponse(200, out));
}

}  // namespace

JobService::DoneCallback AnswerWhenDone(
    std::shared_ptr<Respond> respond,
    std::function<HttpResponse(Result<store::JobRecord>)> answer, HttpResponse on_throw) {
  return [respond = std::move(respond), answer = std::move(answer),
          on_throw = std::move(on_throw)](Result<store::JobRecord> record) {
    std::string id = record ? record->id : std::string("?");
    HttpResponse r;
    try {
      r = answer(std::move(record));
    } catch (const std::exception& e) {
      spdlog::error("job {}: building the answer threw: {}", id, e.what());
      r = on_throw;
    } catch (...) {
      spdlog::error("job {}: building the answer threw", id);
      r = on_throw;
    }
    (*respond)(std::move(r));
  };
}

LimitsPolicy PolicyOf(const ServerConfig& config) {
  return {config.default_limits, config.max_limits};
}

void RegisterNativeApi(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  auto bind = [c](void (*fn)(ApiContext&, const HttpRequest&, const PathParams&, Respond)) {
    return [c, fn](const HttpRequest& req, const PathParams& p, Respond r) {
      fn(*c, req, p, std::move(r));
    };
  };
  router.Add("POST", "/api/v1/runs", ApiStyle::kNative, bind(RunAndWait));
  router.Add("POST", "/api/v1/jobs/batch", ApiStyle::kNative, bind(SubmitBatch));
  router.Add("POST", "/api/v1/jobs", ApiStyle::kNative, bind(SubmitJob));
  router.Add("GET", "/api/v1/jobs", ApiStyle::kNative, bind(ListJobs));
  router.Add("GET", "/api/v1/jobs/{id}", ApiStyle::kNative, bind(GetJob));
  router.Add("POST", "/api/v1/snippets", ApiStyle::kNative, bind(PutSnippet));
  router.Add("GET", "/api/v1/snippets/{id}", ApiStyle::kNative, bind(GetSnippet));
  router.Add("GET", "/api/v1/languages", ApiStyle::kNative, bind(Languages));
  router.Add(
      "GET", "/api/v1/openapi.json", ApiStyle::kNative,
      [](const HttpRequest&, const PathParams&, Respond respond) {
        HttpResponse r;
        r.body = OpenApiJson();
        respond(std::move(r));
      },
      /*public_route=*/true);
  router.Add(
      "GET", "/healthz", ApiStyle::kPlain,
      [c](const HttpRequest&, const PathParams&, Respond respond) {
        bool down = c->shutting_down && c->shutting_down->load();
        QueueGauges g = c->jobs->Gauges();
        // "ok" only when a submission could be stored: a server on a full disk fails every
        // one of them and must say so to its load balancer (issue 12).
        Status writable = down ? OkStatus() : c->jobs->CheckWritable();
        json body = {{"status", down        ? "shutting_down"
                                : writable ? "ok"
                                : writable.error().sys_errno == ENOSPC ? "storage_full"
                                                                        : "store_unavailable"},
                     {"queue_depth", g.waiting},
                     {"slots", g.slots},
                     {"slots_busy", g.busy_slots}};
        if (!writable) {
          body["reason"] = writable.error().message;
        }
        respond(JsonResponse(down || !writable ? 503 : 200, body));
      },
      true);
  router.Add(
      "GET", "/metrics", ApiStyle::kPlain,
      [c](const HttpRequest&, const PathParams&, Respond respond) {
        HttpResponse r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = c->metrics->Render(c->jobs->Gauges());
        respond(std::move(r));
      },
      true);
}

void RegisterAll(Router& router, ApiContext& ctx) {
  RegisterNativeApi(router, ctx);
  RegisterPistonApi(router, ctx);
  RegisterJudge0Api(router, ctx);
  RegisterPaizaApi(router, ctx);
  RegisterInteractiveApis(router, ctx);
  if (!ctx.config->static_dir.empty()) {
    RegisterStaticFiles(router, ctx.config->static_dir);
  }
}

}  // namespace runbox::server
