#pragma once
// `runbox serve`: its flags, the configuration they produce, and the server's life.
//
// The CLI wires it as (src/cli):
//   runbox::server::ServeFlags serve_flags;
//   CLI::App* serve = app.add_subcommand("serve", "Serve the HTTP API and the web page");
//   runbox::server::AddServeFlags(serve, &serve_flags);
//   serve->callback([&] { exit_code = runbox::server::ServeMain(serve_flags); });
//
// On start it prints exactly one line to stdout, `listening on http://HOST:PORT` (flushed), so a
// test that asked for port 0 learns the port; logs go to stderr. SIGINT or SIGTERM shut it down
// gracefully: it stops accepting, ends interactive runs, lets running jobs finish and answers
// their waiting clients, and leaves queued jobs stored to run after the next start.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/engine.h"
#include "server/config.h"

namespace CLI {
class App;
}

namespace runbox::server {

struct ServeFlags {
  std::string config_file;
  std::string listen;
  std::string data_dir;
  std::string static_dir;
  std::string languages_dir;
  std::string cache_dir;
  std::string max_body;
  std::string ws_stdin_buffer;  // sizes like 1M; empty: not given
  std::string job_output;
  std::string log_level;
  int slots = -1;
  long long queue_size = -1;
  bool require_api_key = false;
  bool allow_anonymous = false;
  std::string api_keys_file;
  // Only so that a key on the command line gets an error saying where keys go instead.
  std::vector<std::string> api_keys;
  std::vector<std::string> cors_origins;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> callback_allowlist;
};

// Adds serve's flags (--config, --listen, --data-dir, --static, --languages, --cache-dir,
// --slots, --queue-size, --max-body, --api-keys-file, --require-api-key, --allow-anonymous,
// --cors-origin, --allowed-host, --callback-allow, --log-level) to a CLI11 (sub)command.
// --api-key exists only to be refused: a key in argv is visible to every user of the host.
void AddServeFlags(CLI::App* app, ServeFlags* flags);

// defaults < --config file < RUNBOX_* environment < flags, then Validate().
Result<ServerConfig> LoadServerConfig(const ServeFlags& flags,
                                      const std::map<std::string, std::string>& env);

class Server {
 public:
  // Opens the store and builds the queue, the APIs and the listener; nothing listens yet.
  static Result<std::unique_ptr<Server>> Create(const ServerConfig& config,
                                                std::unique_ptr<engine::Engine> engine);
  ~Server();  // Shutdown()

  // Re-queues the jobs stored before the last stop, then binds and serves. Returns the port.
  Result<uint16_t> Start();
  // Graceful shutdown (see above). Idempotent.
  void Shutdown();

  uint16_t port() const;
  const ServerConfig& config() const;
  // Open HTTP and WebSocket connections (tests of the connection caps).
  size_t connections() const;

  struct State;

 private:
  explicit Server(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Ignores SIGPIPE and blocks SIGINT/SIGTERM in the calling thread (and so in every thread it
// starts later); Serve* take them with sigwait().
void BlockShutdownSignals();
// Serves with the given engine until SIGINT or SIGTERM. Blocks those signals in the calling
// thread first, so call it before starting other threads.
Status ServeWithEngine(const ServerConfig& config, std::unique_ptr<engine::Engine> engine);
// Serves with engine::Engine::Create (serve_main.cc, in the runbox::serve target).
Status Serve(const ServerConfig& config);
// The whole subcommand: loads the config, serves, prints errors. Exit status: 0 after a clean
// shutdown, 2 for a bad configuration, 1 for any other failure.
int ServeMain(const ServeFlags& flags);

// Logging to stderr at `level`, one line per event.
void SetUpLogging(const std::string& level);

}  // namespace runbox::server
