// ServerConfig (TOML, environment, flags, Validate), the rate limiter, metrics and timers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "server/config.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/serve.h"
#include "server/timer_queue.h"

namespace runbox::server {
namespace {

using ::testing::HasSubstr;

TEST(ServerConfigTest, DefaultsAreValid) {
  ServerConfig c;
  ASSERT_TRUE(c.Validate()) << c.Validate().error().message;
  EXPECT_EQ(c.host(), "127.0.0.1");
  EXPECT_EQ(c.port(), 8080);
}

TEST(ServerConfigTest, Toml) {
  ServerConfig c;
  Status s = ApplyToml(R"(
listen = "0.0.0.0:0"
data_dir = "/tmp/rb"
slots = 3
queue_size = 10
prepared_boxes = 0
max_body = "1M"
header_timeout = "2s"
ws_idle_timeout = 30
require_api_key = true
anonymous_rate = 2.5
cors_origins = ["https://a.example", "*"]
callback_allowlist = ["127.0.0.1:9000"]

[limits.default]
cpu_time = "1.5s"
memory = "128M"
pids = 32

[limits.max]
cpu_time = 10
memory = "2G"

[[api_keys]]
name = "ci"
key = "secret"
rate = 5
burst = 10
)",
                       "test.toml", &c);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(c.listen, "0.0.0.0:0");
  EXPECT_EQ(c.port(), 0);
  EXPECT_EQ(c.slots, 3);
  EXPECT_EQ(c.queue_size, 10u);
  EXPECT_EQ(c.prepared_boxes, 0);
  EXPECT_EQ(c.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.header_timeout.count(), 2000);
  EXPECT_EQ(c.ws_idle_timeout.count(), 30000);
  EXPECT_TRUE(c.require_api_key);
  EXPECT_DOUBLE_EQ(c.anonymous_rate, 2.5);
  EXPECT_EQ(c.cors_origins.size(), 2u);
  EXPECT_EQ(c.default_limits.cpu_time.count(), 1500);
  EXPECT_EQ(c.default_limits.memory_bytes, 128u << 20);
  EXPECT_EQ(c.default_limits.pids, 32u);
  EXPECT_EQ(c.max_limits.cpu_time.count(), 10000);
  EXPECT_EQ(c.max_limits.memory_bytes, 2ull << 30);
  ASSERT_EQ(c.api_keys.size(), 1u);
  EXPECT_EQ(c.api_keys[0].name, "ci");
  EXPECT_DOUBLE_EQ(c.api_keys[0].rate_per_second, 5);
  EXPECT_TRUE(c.Validate()) << c.Validate().error().message;
}

TEST(ServerConfigTest, TomlErrorsNameTheKey) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"bogus = 1", "unknown setting 'bogus'"},
      {"slots = \"many\"", "slots"},
      {"max_body = \"12Q\"", "max_body"},
      {"[limits.default]\nfoo = 1", "unknown limit 'foo'"},
      {"[limits.weird]\ncpu_time = 1", "limits.weird"},
      {"[[api_keys]]\nname = \"a\"\nsecret = \"x\"", "unknown key 'secret'"},
      {"listen = ", "test.toml:1"},
  };
  for (const auto& c : cases) {
    ServerConfig cfg;
    Status s = ApplyToml(c.text, "test.toml", &cfg);
    ASSERT_FALSE(s) << c.text;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(s.error().message, HasSubstr(c.want)) << c.text;
  }
}

TEST(ServerConfigTest, ValidateCatchesBadValues) {
  struct Case {
    std::function<void(ServerConfig&)> mutate;
    const char* want;
  };
  std::vector<Case> cases = {
      {[](ServerConfig& c) { c.listen = "8080"; }, "listen"},
      {[](ServerConfig& c) { c.listen = "host:99999"; }, "listen"},
      {[](ServerConfig& c) { c.queue_size = 0; }, "queue_size"},
      {[](ServerConfig& c) { c.max_body_bytes = 10; }, "max_body"},
      {[](ServerConfig& c) { c.default_limits.cpu_time = std::chrono::milliseconds(999999); },
       "limits.default.cpu_time is above limits.max.cpu_time"},
      {[](ServerConfig& c) { c.require_api_key = true; }, "require_api_key"},
      {[](ServerConfig& c) { c.api_keys = {{"a", "k", 0, 0}, {"b", "k", 0, 0}}; }, "twice"},
      {[](ServerConfig& c) { c.callback_allowlist = {"example.com"}; }, "callback_allowlist[0]"},
      {[](ServerConfig& c) { c.cors_origins = {"example.com"}; }, "cors_origins[0]"},
      {[](ServerConfig& c) { c.log_level = "loud"; }, "log_level"},
      {[](ServerConfig& c) { c.ws_stdin_buffer_bytes = 0; },
       "ws_stdin_buffer: must be between 1K and 1G, got 0 bytes"},
      {[](ServerConfig& c) { c.job_output_bytes = 1023; }, "job_output: must be between 1K"},
      {[](ServerConfig& c) { c.job_output_bytes = 5ull << 30; }, "job_output: must be between"},
  };
  for (const auto& c : cases) {
    ServerConfig cfg;
    c.mutate(cfg);
    Status s = cfg.Validate();
    ASSERT_FALSE(s) << c.want;
    EXPECT_THAT(s.error().message, HasSubstr(c.want));
  }
}

TEST(ServerConfigTest, EnvironmentAndFlagsOverrideFile) {
  char path[] = "/tmp/runbox-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "listen = \"127.0.0.1:1111\"\nslots = 1\nqueue_size = 5\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  ServeFlags flags;
  flags.config_file = path;
  flags.queue_size = 7;
  std::map<std::string, std::string> env = {{"RUNBOX_LISTEN", "127.0.0.1:2222"},
                                            {"RUNBOX_API_KEYS", "ci:abc:1:2,plainkey"},
                                            {"RUNBOX_SLOTS", "4"},
                                            {"RUNBOX_CORS_ORIGINS", "https://x.test, *"}};
  auto c = LoadServerConfig(flags, env);
  unlink(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen, "127.0.0.1:2222");  // env over file
  EXPECT_EQ(c->slots, 4);
  EXPECT_EQ(c->queue_size, 7u);  // flag over file
  EXPECT_EQ(c->cors_origins, (std::vector<std::string>{"https://x.test", "*"}));
  ASSERT_EQ(c->api_keys.size(), 2u);
  EXPECT_EQ(c->api_keys[0].name, "ci");
  EXPECT_EQ(c->api_keys[0].key, "abc");
  EXPECT_DOUBLE_EQ(c->api_keys[0].burst, 2);
  EXPECT_EQ(c->api_keys[1].name, "key2");
  EXPECT_EQ(c->api_keys[1].key, "plainkey");

  flags.config_file.clear();
  flags.listen = "nonsense";
  auto bad = LoadServerConfig(flags, env);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("listen"));
  ServeFlags missing;
  missing.config_file = "/nonexistent/runbox.toml";
  EXPECT_FALSE(LoadServerConfig(missing, {}));
}

// Issue 12: argv is world-readable (ps, /proc/PID/cmdline), so a key there is refused with an
// error that says where keys go.
TEST(ServerConfigTest, ApiKeyOnTheCommandLineIsRefused) {
  ServeFlags flags;
  flags.api_keys = {"ci:s3cret"};
  auto c = LoadServerConfig(flags, {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(c.error().message, HasSubstr("--api-keys-file"));
  EXPECT_THAT(c.error().message, HasSubstr("RUNBOX_API_KEYS"));
  EXPECT_THAT(c.error().message, ::testing::Not(HasSubstr("s3cret")));
}

TEST(ServerConfigTest, ApiKeysFile) {
  char path[] = "/tmp/runbox-keys-XXXXXX";
  int fd = mkstemp(path);  // mode 0600
  ASSERT_GE(fd, 0);
  std::string text = "# ci runners\nci:abc:2:4\n\n  plainkey  \n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  ServeFlags flags;
  flags.api_keys_file = path;
  auto c = LoadServerConfig(flags, {});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->api_keys.size(), 2u);
  EXPECT_EQ(c->api_keys[0].name, "ci");
  EXPECT_EQ(c->api_keys[0].key, "abc");
  EXPECT_DOUBLE_EQ(c->api_keys[0].rate_per_second, 2);
  EXPECT_EQ(c->api_keys[1].key, "plainkey");
  // Keys configured means keys required, unless the operator says otherwise.
  EXPECT_TRUE(c->keys_required());
  flags.allow_anonymous = true;
  auto anon = LoadServerConfig(flags, {});
  ASSERT_TRUE(anon) << anon.error().message;
  EXPECT_FALSE(anon->keys_required());
  // From the environment too.
  auto env = LoadServerConfig(ServeFlags{}, {{"RUNBOX_API_KEYS_FILE", path}});
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->api_keys.size(), 2u);
  // A key file every user can read is refused, like ssh refuses such a private key.
  ASSERT_EQ(chmod(path, 0644), 0);
  auto open = LoadServerConfig(flags, {});
  ASSERT_FALSE(open);
  EXPECT_THAT(open.error().message, HasSubstr("readable by every user"));
  // A bad line names the file and line, never the secret on it.
  ASSERT_EQ(chmod(path, 0600), 0);
  std::ofstream(path) << "ok:key\na:b:notanumber:secretpart\n";
  auto bad = LoadServerConfig(flags, {});
  unlink(path);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr(std::string(path) + ":2"));
  EXPECT_THAT(bad.error().message, ::testing::Not(HasSubstr("secretpart")));
}

TEST(ServerConfigTest, NewSettingsFromToml) {
  ServerConfig c;
  Status s = ApplyToml(R"(
body_timeout = "5s"
max_connections = 100
max_connections_per_ip = 10
allow_anonymous = true
allowed_hosts = ["runbox.lan"]
retention_max_age = "2d"
retention_max_bytes = "512M"
retention_interval = "1m"
)",
                       "t.toml", &c);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(c.body_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.max_connections_per_ip, 10u);
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_EQ(c.allowed_hosts, std::vector<std::string>{"runbox.lan"});
  EXPECT_EQ(c.retention_max_age, std::chrono::milliseconds(2LL * 24 * 3600 * 1000));
  EXPECT_EQ(c.retention_max_bytes, 512ull << 20);
  EXPECT_EQ(c.retention_interval, std::chrono::milliseconds(60000));
  EXPECT_TRUE(c.Validate());
  c.require_api_key = true;
  c.api_keys = {{"a", "k", 0, 0}};
  Status both = c.Validate();
  ASSERT_FALSE(both);
  EXPECT_THAT(both.error().message, HasSubstr("allow_anonymous"));
}

// The two memory budgets come from the file, the environment and flags like every setting, and
// each source's bad values are refused naming the setting.
TEST(ServerConfigTest, BudgetsFromTomlEnvironmentAndFlags) {
  ServerConfig t;
  ASSERT_TRUE(ApplyToml("ws_stdin_buffer = \"256K\"\njob_output = \"8M\"\n", "t.toml", &t));
  EXPECT_EQ(t.ws_stdin_buffer_bytes, 256ull << 10);
  EXPECT_EQ(t.job_output_bytes, 8ull << 20);

  std::map<std::string, std::string> env = {{"RUNBOX_WS_STDIN_BUFFER", "2M"},
                                            {"RUNBOX_JOB_OUTPUT", "128M"}};
  auto from_env = LoadServerConfig(ServeFlags{}, env);
  ASSERT_TRUE(from_env) << from_env.error().message;
  EXPECT_EQ(from_env->ws_stdin_buffer_bytes, 2ull << 20);
  EXPECT_EQ(from_env->job_output_bytes, 128ull << 20);

  ServeFlags flags;
  flags.ws_stdin_buffer = "4M";
  flags.job_output = "32M";
  auto from_flags = LoadServerConfig(flags, env);  // flags over the environment
  ASSERT_TRUE(from_flags) << from_flags.error().message;
  EXPECT_EQ(from_flags->ws_stdin_buffer_bytes, 4ull << 20);
  EXPECT_EQ(from_flags->job_output_bytes, 32ull << 20);

  struct Case {
    ServeFlags flags;
    std::map<std::string, std::string> env;
    const char* want;
  };
  auto flag = [](std::string ServeFlags::*field, const char* value) {
    ServeFlags f;
    f.*field = value;
    return f;
  };
  const Case bad[] = {
      {flag(&ServeFlags::ws_stdin_buffer, "0"), {}, "ws_stdin_buffer: must be between 1K and 1G"},
      {flag(&ServeFlags::job_output, "2G"), {}, "job_output: must be between 1K and 1G"},
      {flag(&ServeFlags::job_output, "lots"), {}, "--job-output"},
      {flag(&ServeFlags::ws_stdin_buffer, "-1"), {}, "--ws-stdin-buffer"},
      {{}, {{"RUNBOX_WS_STDIN_BUFFER", "12Q"}}, "RUNBOX_WS_STDIN_BUFFER"},
      {{}, {{"RUNBOX_JOB_OUTPUT", "0"}}, "job_output: must be between 1K and 1G"},
  };
  for (const auto& c : bad) {
    auto r = LoadServerConfig(c.flags, c.env);
    ASSERT_FALSE(r) << c.want;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr(c.want));
  }
}

TEST(ServerConfigTest, EnvApiKeysAndBadValues) {
  ServerConfig c;
  ASSERT_TRUE(ApplyEnvironment({{"RUNBOX_API_KEYS", "a:k1:3,b:k2"}}, &c));
  ASSERT_EQ(c.api_keys.size(), 2u);
  EXPECT_DOUBLE_EQ(c.api_keys[0].rate_per_second, 3);
  Status s = ApplyEnvironment({{"RUNBOX_QUEUE_SIZE", "-3"}}, &c);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("RUNBOX_QUEUE_SIZE"));
}

TEST(RateLimiterTest, TokenBucket) {
  RateLimiter rl;
  auto t0 = RateLimiter::Clock::now();
  // Unlimited.
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(rl.Take("a", 0, 0, t0).allowed);
  }
  // 2 per second, burst 3.
  EXPECT_TRUE(rl.Take("b", 2, 3, t0).allowed);
  EXPECT_TRUE(rl.Take("b", 2, 3, t0).allowed);
  EXPECT_TRUE(rl.Take("b", 2, 3, t0).allowed);
  auto d = rl.Take("b", 2, 3, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_NEAR(d.retry_after_seconds, 0.5, 1e-6);
  // Half a second later one token is back.
  auto t1 = t0 + std::chrono::milliseconds(500);
  EXPECT_TRUE(rl.Take("b", 2, 3, t1).allowed);
  EXPECT_FALSE(rl.Take("b", 2, 3, t1).allowed);
  // Clients are independent.
  EXPECT_TRUE(rl.Take("c", 2, 3, t1).allowed);
  // Refill is capped at burst.
  auto t2 = t1 + std::chrono::seconds(100);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(rl.Take("b", 2, 3, t2).allowed);
  }
  EXPECT_FALSE(rl.Take("b", 2, 3, t2).allowed);
}

TEST(MetricsTest, PrometheusText) {
  Metrics m;
  m.RecordRun("OK", 0.001, 0.02);
  m.RecordRun("TLE", 0.001, 2.0);
  m.RecordRequest("v1", 200, 0.003);
  m.RecordRejected("rate_limited");
  QueueGauges g;
  g.waiting = 3;
  g.slots = 2;
  g.busy_slots = 1;
  g.prepared_boxes = 2;
  g.prepared_box_hits = 7;
  g.prepared_box_misses = 3;
  std::string text = m.Render(g);
  EXPECT_THAT(text, HasSubstr("runbox_prepared_boxes 2\n"));
  EXPECT_THAT(text, HasSubstr("runbox_box_starts_total{prepared=\"yes\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("runbox_box_starts_total{prepared=\"no\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE runbox_queue_depth gauge\nrunbox_queue_depth 3\n"));
  EXPECT_THAT(text, HasSubstr("runbox_slots_busy 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_runs_total{status=\"OK\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_runs_total{status=\"TLE\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_run_duration_seconds_bucket{le=\"0.025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_run_duration_seconds_bucket{le=\"2.5\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("runbox_run_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("runbox_run_duration_seconds_count 2\n"));
  EXPECT_THAT(text, HasSubstr("runbox_rejected_total{reason=\"rate_limited\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("runbox_http_requests_total{api=\"v1\",code=\"200\"} 1\n"));
}

TEST(TimerQueueTest, RunsAndCancels) {
  TimerQueue t;
  std::atomic<int> fired{0};
  t.After(std::chrono::milliseconds(10), [&] { fired += 1; });
  uint64_t id = t.After(std::chrono::milliseconds(20), [&] { fired += 100; });
  EXPECT_TRUE(t.Cancel(id));
  EXPECT_FALSE(t.Cancel(id));
  for (int i = 0; i < 200 && fired == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace runbox::server
