#include "server/serve.h"

#include <signal.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <tuple>

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
  app->add_option("--ws-stdin-buffer", f->ws_stdin_buffer,
                  "stdin an interactive run may have waiting for its program, like 1M");
  app->add_option("--job-output", f->job_output,
                  "stdout+stderr of one job, its compile step and all tests, like 64M");
  app->add_option("--api-key", f->api_keys,
                  "refused: keys on the command line are visible to every host user; use "
                  "--api-keys-file or RUNBOX_API_KEYS");
  app->add_option("--api-keys-file", f->api_keys_file,
                  "file of API keys, one name:key[:rate[:burst]] per line (not world-readable)");
  app->add_flag("--require-api-key", f->require_api_key, "refuse requests without a valid key");
  app->add_flag("--allow-anonymous", f->allow_anonymous,
                "with API keys configured, still serve requests without a key (rate-limited)");
  app->add_option("--cors-origin", f->cors_origins, "allowed browser origin, or *; repeatable");
  app->add_option("--allowed-host", f->allowed_hosts,
                  "Host name accepted besides localhost and the listen host; repeatable");
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
  // Sizes like 4M; an empty flag was not given.
  const std::tuple<const char*, const std::string*, uint64_t*> sizes[] = {
      {"--max-body", &f.max_body, &c.max_body_bytes},
      {"--ws-stdin-buffer", &f.ws_stdin_buffer, &c.ws_stdin_buffer_bytes},
      {"--job-output", &f.job_output, &c.job_output_bytes}};
  for (const auto& [flag, text, bytes] : sizes) {
    if (text->empty()) {
      continue;
    }
    auto v = ParseSize(*text);
    if (!v) {
      return std::move(v).error().Wrap(flag);
    }
    *bytes = *v;
  }
  if (f.require_api_key) {
    c.require_api_key = true;
  }
  if (f.allow_anonymous) {
    c.allow_anonymous = true;
  }
  if (!f.api_keys.empty()) {
    // The secret is already in argv by now, but refusing makes the operator move it before the
    // server ever runs with it there.
    return MakeError(ErrorCode::kInvalidArgument,
                     "--api-key: keys on the command line are visible to every user of the host "
                     "(ps, /proc/PID/cmdline); put them in a file given with --api-keys-file "
                     "(one name:key[:rate[:burst]] per line, chmod 600), in the config file's "
                     "[[api_keys]], or in RUNBOX_API_KEYS");
  }
  if (!f.api_keys_file.empty()) {
    c.api_keys_file = f.api_keys_file;
  }
  RUNBOX_TRY(LoadApiKeysFile(&c));
  if (!f.cors_origins.empty()) {
    c.cors_origins = f.cors_origins;
  }
  if (!f.allowed_hosts.empty()) {
    c.allowed_hosts = f.allowed_hosts;
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
  // Retention runs on the timer thread; Shutdown() takes the mutex so no run outlives it.
  std::mutex retention_mu;
  bool retention_stopped = false;  // under retention_mu
  uint64_t retention_timer = 0;    // under retention_mu
  bool started = false;
  bool stopped = false;
  uint16_t port = 0;
};

namespace {

// One retention pass: results kept in memory go to the store first (they may be what frees
// the disk's last pages), then old and surplus finished jobs go.
void RunRetention(Server::State& s);

}  // namespace

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
  ho.body_timeout = st->config.body_timeout;
  ho.max_connections = st->config.max_connections;
  ho.max_connections_per_ip = st->config.max_connections_per_ip;
  ho.callback_allowlist = st->config.callback_allowlist;
  ho.metrics = &st->metrics;
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
  // At start as well as periodically: a server that was down while its disk filled must not
  // need its first interval to recover (issue 12).
  RunRetention(s);
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
  {
    std::lock_guard<std::mutex> lock(s.retention_mu);
    s.retention_stopped = true;
    s.timers->Cancel(s.retention_timer);
  }
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

namespace {

void RunRetention(Server::State& s) {
  std::lock_guard<std::mutex> lock(s.retention_mu);
  if (s.retention_stopped) {
    return;
  }
  s.jobs->FlushUnstored();
  auto pruned = s.jobs->Prune(s.config.retention_max_age, s.config.retention_max_bytes);
  if (!pruned) {
    spdlog::warn("retention: {}", pruned.error().message);
  } else if (pruned->deleted > 0) {
    spdlog::info("retention: deleted {} finished job(s); stored jobs {} -> {} bytes",
                 pruned->deleted, pruned->bytes_before, pruned->bytes_after);
  }
  Server::State* raw = &s;
  s.retention_timer = s.timers->After(s.config.retention_interval, [raw] { RunRetention(*raw); });
}

}  // namespace

uint16_t Server::port() const { return state_->port; }
const ServerConfig& Server::config() const { return state_->config; }
size_t Server::connections() const { return state_->http->connections(); }

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
