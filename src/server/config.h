#pragma once
// ServerConfig: everything `runbox serve` can be told, as one copyable struct with one Validate().
// It is filled alike from a TOML file (--config), the environment (RUNBOX_*) and flags; later
// sources win: defaults < file < environment < flags.
//
// TOML shape (every key optional; unknown keys are errors):
//   listen = "127.0.0.1:8080"          # host:port; port 0 picks a free port
//   data_dir = "/var/lib/runbox"       # the job and snippet database lives here
//   static_dir = "web/dist"            # the web page; empty: none
//   languages_dir = "languages"        # the catalog, for the engine
//   cache_dir = ""                     # compile cache; empty: <data_dir>/cache
//   slots = 0                          # box slots = queue workers; 0: number of cores
//   queue_size = 64                    # jobs that may wait; beyond: 503
//   prepared_boxes = "slots"           # boxes built ahead of jobs (bench/RESULTS.md); 0: off
//   io_threads = 2
//   max_body = "4M"                    # request bodies above this: 413
//   header_timeout = "10s"             # a slow client must send its request within this
//   idle_timeout = "60s"               # keep-alive connections idle longer are closed
//   write_timeout = "30s"              # a client that does not read its response is dropped
//   ws_idle_timeout = "60s"            # interactive run with no stdin and no output: TLE
//   ws_stdin_buffer = "1M"             # stdin waiting for an interactive program; beyond: error
//                                      # (1K to 1G; RUNBOX_WS_STDIN_BUFFER, --ws-stdin-buffer)
//   job_output = "64M"                 # stdout+stderr of one job, compile and all tests
//                                      # (1K to 1G; RUNBOX_JOB_OUTPUT, --job-output)
//   max_batch = 20                     # jobs in one batch request
//   body_timeout = "30s"               # a request's body must arrive within this after its
//                                      # headers (each request on a connection: header_timeout
//                                      # from its first byte, then body_timeout); else 408
//   max_connections = 512              # open connections in total; beyond: 503 and close
//   max_connections_per_ip = 64        # open connections from one client address; beyond: 503
//   require_api_key = false            # true: requests without a valid key get 401 (implied
//                                      # whenever api keys are configured)
//   allow_anonymous = false            # with api keys configured, still serve requests with no
//                                      # key, as anonymous (rate-limited per IP)
//   api_keys_file = "/etc/runbox/keys" # one "name:key[:rate[:burst]]" per line, # comments;
//                                      # must not be readable by other users
//   anonymous_rate = 0                 # requests/s per client IP without a key; 0: unlimited
//   anonymous_burst = 0
//   cors_origins = ["https://ide.example.com"]   # "*" allows any origin
//   allowed_hosts = ["runbox.lan"]     # Host names accepted besides localhost, 127.0.0.1,
//                                      # [::1] and the listen host (any port); checked only
//                                      # when listening on loopback, unless listed here
//   callback_allowlist = ["127.0.0.1:9000"]      # host:port a Judge0 callback_url may name
//   retention_max_age = "7d"           # finished jobs older than this are deleted; 0: never
//   retention_max_bytes = "1G"         # stored jobs above this total: oldest finished go; 0: no
//   retention_interval = "10m"         # how often retention runs (and once at start)
//   log_level = "info"
//   [limits.default]  cpu_time = "5s", wall_time = "10s", memory = "256M", pids = 64,
//                     output = "16M", file_size = "64M", disk = "64M", open_files = 256,
//                     stack = "64M"
//   [limits.max]      the same keys: the most a request may ask for (above: 422)
//   [[api_keys]]      name = "ci", key = "secret", rate = 10, burst = 20   # rate 0: unlimited
//
// Keys never come from the command line: argv is readable by every user of the host (ps,
// /proc/PID/cmdline). They come from this file, api_keys_file or RUNBOX_API_KEYS.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/policy.h"

namespace runbox::server {

using std::chrono::milliseconds;

struct ApiKey {
  std::string name;            // for logs and metrics; never the secret
  std::string key;             // the secret a client sends
  double rate_per_second = 0;  // token refill rate; 0: unlimited
  double burst = 0;            // bucket size; 0 with a rate: max(1, rate)
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "/var/lib/runbox";
  std::string static_dir;
  std::string languages_dir = "languages";
  std::string cache_dir;
  int slots = 0;
  size_t queue_size = 64;
  // Boxes kept built ahead of the jobs that will use them (engine::BoxPool); -1: one per slot.
  int prepared_boxes = -1;
  int io_threads = 2;
  uint64_t max_body_bytes = 4ull << 20;  // a few source files and inputs; base64 included
  milliseconds header_timeout{10000};
  milliseconds idle_timeout{60000};
  milliseconds write_timeout{30000};
  milliseconds ws_idle_timeout{60000};
  // Stdin an interactive session may have waiting for its program; past it the session ends
  // with an error (a program that never reads must not make the server buffer without bound).
  uint64_t ws_stdin_buffer_bytes = 1ull << 20;
  // Output of one job across its compile step and all its tests (engine::EngineConfig).
  uint64_t job_output_bytes = 64ull << 20;
  milliseconds body_timeout{30000};
  // Far below the default RLIMIT_NOFILE of 1024, so that boxes, the store and the compile cache
  // keep descriptors when clients take every connection they may.
  size_t max_connections = 512;
  // A browser opens 6 connections per host; a greedy client must not take the whole budget.
  size_t max_connections_per_ip = 64;
  size_t max_batch = 20;  // Judge0's MAX_SUBMISSION_BATCH_SIZE default
  bool require_api_key = false;
  bool allow_anonymous = false;
  std::string api_keys_file;
  double anonymous_rate = 0;
  double anonymous_burst = 0;
  std::vector<ApiKey> api_keys;
  std::vector<std::string> cors_origins;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> callback_allowlist;
  // Retention (issue 12): without it the data dir grows with every job until the disk is full.
  milliseconds retention_max_age{7LL * 24 * 3600 * 1000};
  uint64_t retention_max_bytes = 1ull << 30;
  milliseconds retention_interval{10 * 60 * 1000};
  std::string log_level = "info";
  sandbox::Limits default_limits;  // the sandbox's defaults unless configured
  sandbox::Limits max_limits = DefaultMaxLimits();

  // The most a request may ask for when nothing is configured: engine::DefaultMaxLimits().
  static sandbox::Limits DefaultMaxLimits();

  // Checks every field: address syntax, sizes, each default limit <= its maximum, api keys
  // unique and non-empty, callback entries "host:port". Messages name the field.
  Status Validate() const;
  // host and port of `listen` (after Validate()).
  std::string host() const;
  uint16_t port() const;
  // Whether requests need a valid key: require_api_key, or keys configured without
  // allow_anonymous. Configuring keys and leaving anonymous callers unlimited would make the
  // keys decoration (issue 12).
  bool keys_required() const {
    return require_api_key || (!api_keys.empty() && !allow_anonymous);
  }
};

// Applies a TOML document on top of `config`. kInvalidArgument naming the key on a bad value or
// an unknown key.
Status ApplyToml(const std::string& toml_text, const std::string& source_name,
                 ServerConfig* config);
Status ApplyTomlFile(const std::string& path, ServerConfig* config);
// Applies RUNBOX_* variables: RUNBOX_LISTEN, RUNBOX_DATA_DIR, RUNBOX_STATIC_DIR,
// RUNBOX_LANGUAGES_DIR, RUNBOX_CACHE_DIR, RUNBOX_SLOTS, RUNBOX_QUEUE_SIZE, RUNBOX_MAX_BODY,
// RUNBOX_WS_STDIN_BUFFER, RUNBOX_JOB_OUTPUT, RUNBOX_PREPARED_BOXES,
// RUNBOX_REQUIRE_API_KEY, RUNBOX_ALLOW_ANONYMOUS, RUNBOX_API_KEYS ("name:key[:rate[:burst]],..."),
// RUNBOX_API_KEYS_FILE, RUNBOX_CORS_ORIGINS, RUNBOX_ALLOWED_HOSTS and RUNBOX_CALLBACK_ALLOWLIST
// (comma-separated), RUNBOX_LOG_LEVEL.
Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServerConfig* config);
// Reads config->api_keys_file (when set) and appends its keys. kInvalidArgument naming the file
// and line on a bad line, kPermissionDenied when other users may read the file.
Status LoadApiKeysFile(ServerConfig* config);
// The process environment as a map (only RUNBOX_* entries).
std::map<std::string, std::string> RunboxEnvironment();
// "name:key[:rate[:burst]]" or just "key" (then named "key1", "key2", ... by position).
Result<ApiKey> ParseApiKeySpec(const std::string& spec, size_t position);

}  // namespace runbox::server
