#include "server/serve.h"

#include <signal.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <thread>

#include "base/units.h"
#include "engine/queue.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/job_service.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/timer_queue.h"
#include "store/sqlite_store.h"

namespace runbox::server {

void AddServeFlags(CLI::App* app, ServeFlags* f) {
  app->add_option("--config", f->config_file, "TOML configuration file");
  app->add_option("--listen", f->listen, "HOST:PORT to listen on (port 0: any free port)");
  app->add_option("--data-dir", f->data_dir, "where jobs and snippets are stored");
  app->add_option("--static", f->static_dir, "directory of the web page (web/dist)");
  app->add_option("--languages", f->languages_dir, "language catalog directory");
  app->add_option("--cache-dir", f->cache_dir, "compile cache directory");
  app->add_option("--slots", f->slots, "box slots (0: number of cores)");
  app->add_option("--queue-size", f->queue_size, "jobs that may wait before 503");
  app->add_option("--max-body", f->max_body, "largest request body, like 4M");
  app->add_option("--api-key", f->api_keys, "name:key[:rate[:burst]]; repeatable");
  app->add_flag("--require-api-key", f->require_api_key, "refuse requests without a valid key");
  app->add_option("--cors-origin", f->cors_origins, "allowed browser origin, or *; repeatable");
  app->add_option("--callback-allow", f->callback_allowlist,
                  "HOST:PORT a Judge0 callback_url may name; repeatable");
  app->add_option("--log-level", f->log_level, "trace, debug, info, warn, error");
}

Result<ServerConfig> LoadServerConfig(const ServeFlags& f,
                                      const std::map<std::string, std::string>& env) {
  ServerConfig c;
  if (!f.config_file.empty()) {
    RUNBOX_TRY(ApplyTomlFile(f.config_file, &c));
  }
  RUNBOX_TRY(ApplyEnvironment(env, &c));
  if (!f.listen.empty()) {
    c.listen = f.listen;
  }
  if (!f.data_dir.empty()) {
    c.data_dir = f.data_dir;
  }
  if (!f.static_dir.empty()) {
    c.static_dir = f.static_dir;
  }
  if (!f.languages_dir.empty()) {
    c.languages_dir = f.languages_dir;
  }
  if (!f.cache_dir.empty()) {
    c.cache_dir = f.cache_dir;
  }
  if (!f.log_level.empty()) {
    c.log_level = f.log_level;
  }
  if (f.slots >= 0) {
    c.slots = f.slots;
  }
  if (f.queue_size >= 0) {
    c.queue_size = static_cast<size_t>(f.queue_size);
  }
  if (!f.max_body.empty()) {
    auto v = ParseSize(f.max_body);
    if (!v) {
      return std::move(v).error().Wrap("--max-body");
    }
    c.max_body_bytes = *v;
  }
  if (f.require_api_key) {
    c.require_api_key = true;
  }
  if (!f.api_keys.empty()) {
    c.api_keys.clear();
    for (size_t i = 0; i < f.api_keys.size(); ++i) {
      auto k = ParseApiKeySpec(f.api_keys[i], i);
      if (!k) {
        return std::move(k).error().Wrap("--api-key");
      }
      c.api_keys.push_back(*k);
    }
  }
  if (!f.cors_origins.empty()) {
    c.cors_origins = f.cors_origins;
  }
  if (!f.callback_allowlist.empty()) {
    c.callback_allowlist = f.callback_allowlist;
  }
  RUNBOX_TRY(c.Validate());
  return c;
}

void SetUpLogging(const std::string& level) {
  // stdout carries only the "listening on" line; everything else goes to stderr.
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_logger_mt("runbox");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  });
  spdlog::set_level(spdlog::level::from_str(level));
}

struct Server::State {
  ServerConfig config;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::JobQueue> queue;
  Metrics metrics;
  std::unique_ptr<TimerQueue> timers;
  std::unique_ptr<JobService> jobs;
  std::unique_ptr<Router> router;
  ApiContext ctx;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> shutting_down{false};
  bool started = false;
  bool stopped = false;
  uint16_t port = 0;
};

Server::Server(std::unique_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() { Shutdown(); }

Result<std::unique_ptr<Server>> Server::Create(const ServerConfig& config,
                                               std::unique_ptr<engine::Engine> engine) {
  RUNBOX_TRY(config.Validate());
  auto st = std::make_unique<State>();
  st->config = config;
  st->engine = std::move(engine);
  auto store = store::SqliteStore::Open(config.data_dir);
  if (!store) {
    return std::move(store).error().Wrap("data dir " + config.data_dir);
  }
  st->store = std::move(*store);
  engine::InProcessQueueOptions qo;
  qo.workers = std::max(1, st->engine->slots());
  qo.capacity = config.queue_size;
  st->queue = engine::MakeInProcessQueue(st->engine.get(), qo);
  st->timers = std::make_unique<TimerQueue>();
  st->jobs = std::make_unique<JobService>(st->engine.get(), st->store.get(), st->queue.get(),
                                          &st->metrics, PolicyOf(st->config));
  st->router = std::make_unique<Router>(st->config, &st->metrics);
  HttpServerOptions ho;
  ho.host = st->config.host();
  ho.port = st->config.port();
  ho.threads = st->config.io_threads;
  ho.max_body_bytes = st->config.max_body_bytes;
  ho.header_timeout = st->config.header_timeout;
  ho.idle_timeout = st->config.idle_timeout;
  ho.write_timeout = st->config.write_timeout;
  st->http = std::make_unique<HttpServer>(st->router.get(), ho);
  State* raw = st.get();
  st->ctx.config = &st->config;
  st->ctx.jobs = st->jobs.get();
  st->ctx.store = st->store.get();
  st->ctx.metrics = &st->metrics;
  st->ctx.timers = st->timers.get();
  st->ctx.shutting_down = &st->shutting_down;
  st->ctx.http_put = [raw](const std::string& url, const std::string& body) {
    raw->http->Put(url, body);
  };
  RegisterAll(*st->router, st->ctx);
  return std::unique_ptr<Server>(new Server(std::move(st)));
}

Result<uint16_t> Server::Start() {
  State& s = *state_;
  RUNBOX_ASSIGN_OR_RETURN(size_t requeued, s.jobs->Recover());
  (void)requeued;
  RUNBOX_ASSIGN_OR_RETURN(s.port, s.http->Start());
  s.started = true;
  auto langs = s.jobs->Languages();
  size_t installed = 0;
  for (const auto& l : langs) {
    installed += l.installed ? 1 : 0;
  }
  spdlog::info("serving on {}:{} with {} slot(s), queue of {}, {} language(s) installed, data in "
               "{}",
               s.config.host(), s.port, s.engine->slots(), s.config.queue_size, installed,
               s.config.data_dir);
  return s.port;
}

void Server::Shutdown() {
  State& s = *state_;
  if (s.stopped) {
    return;
  }
  s.stopped = true;
  s.shutting_down = true;
  if (s.started) {
    spdlog::info("shutting down: no new connections; running jobs finish");
    s.http->StopAccepting();
    s.http->CloseWebSockets();
  }
  // Running jobs finish and answer their clients; waiting jobs answer 503 and stay stored.
  auto not_started = s.jobs->Shutdown();
  if (!not_started.empty()) {
    spdlog::info("{} queued job(s) saved; they run after the next start", not_started.size());
  }
  if (s.started) {
    s.http->Stop(std::chrono::milliseconds(5000));
  }
  spdlog::info("stopped");
}

uint16_t Server::port() const { return state_->port; }
const ServerConfig& Server::config() const { return state_->config; }

void BlockShutdownSignals() {
  // Writing to a pipe whose reader is gone (a program that closed its stdin) must be an EPIPE,
  // not the end of the server.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked here, inherited by every thread started afterwards, taken by sigwait() only.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Status ServeWithEngine(const ServerConfig& config, std::unique_ptr<engine::Engine> engine) {
  BlockShutdownSignals();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  RUNBOX_ASSIGN_OR_RETURN(auto server, Server::Create(config, std::move(engine)));
  RUNBOX_ASSIGN_OR_RETURN(uint16_t port, server->Start());
  std::string host = config.host();
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(port));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server->Shutdown();
  return OkStatus();
}

}  // namespace runbox::server
