#pragma once
// The HTTP APIs, each a set of routes on the Router: the native API (/api/v1, docs/api.md), and
// the Piston v2, Judge0 CE and paiza.IO compatibility layers, plus the static web page.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "lang/version.h"
#include "server/config.h"
#include "server/job_service.h"
#include "server/router.h"
#include "server/timer_queue.h"

namespace runbox::server {

struct ApiContext {
  const ServerConfig* config = nullptr;
  JobService* jobs = nullptr;
  store::Store* store = nullptr;
  Metrics* metrics = nullptr;
  TimerQueue* timers = nullptr;
  // Sends an HTTP PUT with a JSON body (Judge0 callbacks); set by the server. May be empty, then
  // callbacks are not sent.
  std::function<void(const std::string& url, const std::string& body)> http_put;
  // True once shutdown began (health turns 503).
  const std::atomic<bool>* shutting_down = nullptr;
};

LimitsPolicy PolicyOf(const ServerConfig& config);

// A run-and-wait's completion callback, made safe for the queue worker that calls it: `answer`
// builds the response from the finished job; if it throws (nlohmann on stored data, bad_alloc),
// `on_throw` is sent instead. Either way the client gets its one answer; the queue's own catch
// would keep the worker alive but leave the client waiting for an answer that never comes.
// `respond` is shared with the caller, which answers through it when Submit() itself fails.
JobService::DoneCallback AnswerWhenDone(
    std::shared_ptr<Respond> respond,
    std::function<HttpResponse(Result<store::JobRecord>)> answer, HttpResponse on_throw);

void RegisterNativeApi(Router& router, ApiContext& ctx);
void RegisterPistonApi(Router& router, ApiContext& ctx);
void RegisterJudge0Api(Router& router, ApiContext& ctx);
void RegisterPaizaApi(Router& router, ApiContext& ctx);
// GET fallback serving files under `dir` ("/" is index.html); nothing outside `dir` is served.
void RegisterStaticFiles(Router& router, const std::string& dir);
// Registers everything above on `router` (static files only when config.static_dir is set).
void RegisterAll(Router& router, ApiContext& ctx);

// The OpenAPI 3 document, taken from docs/api.md at build time.
const std::string& OpenApiJson();

// A language's version as APIs show it: x.y.z of its version command's text (lang/version.h
// parses versions and matches version ranges for every API and the engine).
inline std::string SemverOf(const std::string& version) {
  return lang::SemverOf(version).ToString();
}

}  // namespace runbox::server
