#include "server/config.h"

// toml++ header-only without exceptions, set once for the whole build by runbox::dep::toml
// (src/lang/CMakeLists.txt): a per-file #define here was an ODR violation with src/lang.
#include "lang/toml.h"

#include <sys/stat.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include "base/files.h"
#include "base/units.h"
#include "engine/engine.h"

extern char** environ;

namespace runbox::server {
namespace {

Error Invalid(const std::string& msg) { return MakeError(ErrorCode::kInvalidArgument, msg); }

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::stringstream ss(s);
  while (std::getline(ss, cur, sep)) {
    cur = Trim(cur);
    if (!cur.empty()) {
      out.push_back(cur);
    }
  }
  return out;
}

Result<bool> ParseBool(const std::string& name, const std::string& v) {
  std::string s = Trim(v);
  if (s == "1" || s == "true" || s == "yes" || s == "on") {
    return true;
  }
  if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty()) {
    return false;
  }
  return Invalid(name + ": expected true or false, got '" + v + "'");
}

Result<int64_t> ParseInt(const std::string& name, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < 0) {
    return Invalid(name + ": expected a non-negative integer, got '" + v + "'");
  }
  return static_cast<int64_t>(n);
}

Result<double> ParseDouble(const std::string& name, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || d < 0) {
    return Invalid(name + ": expected a non-negative number, got '" + v + "'");
  }
  return d;
}

// A TOML value as text, so sizes and times accept both 2 and "2s".
Result<std::string> ScalarText(const toml::node& node, const std::string& key) {
  if (auto s = node.value<std::string>()) {
    return *s;
  }
  if (auto i = node.value_exact<int64_t>()) {
    return std::to_string(*i);
  }
  if (auto d = node.value_exact<double>()) {
    std::ostringstream os;
    os << *d;
    return os.str();
  }
  if (auto b = node.value_exact<bool>()) {
    return std::string(*b ? "true" : "false");
  }
  return Invalid(key + ": expected a string, number or boolean");
}

Result<std::vector<std::string>> StringList(const toml::node& node, const std::string& key) {
  const toml::array* arr = node.as_array();
  if (!arr) {
    return Invalid(key + ": expected an array of strings");
  }
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    auto s = el.value<std::string>();
    if (!s) {
      return Invalid(key + ": expected an array of strings");
    }
    out.push_back(*s);
  }
  return out;
}

Status ApplyLimit(const std::string& key, const std::string& text, sandbox::Limits* l) {
  if (key == "cpu_time" || key == "wall_time") {
    RUNBOX_ASSIGN_OR_RETURN(auto d, ParseDuration(text));
    (key == "cpu_time" ? l->cpu_time : l->wall_time) = d;
  } else if (key == "memory" || key == "output" || key == "file_size" || key == "disk" ||
             key == "stack") {
    RUNBOX_ASSIGN_OR_RETURN(uint64_t v, ParseSize(text));
    if (key == "memory") {
      l->memory_bytes = v;
    } else if (key == "output") {
      l->output_bytes = v;
    } else if (key == "file_size") {
      l->file_size_bytes = v;
    } else if (key == "disk") {
      l->disk_bytes = v;
    } else {
      l->stack_bytes = v;
    }
  } else if (key == "pids" || key == "open_files") {
    RUNBOX_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
    if (v > 1000000) {
      return Invalid(key + ": too large");
    }
    (key == "pids" ? l->pids : l->open_files) = static_cast<uint32_t>(v);
  } else {
    return Invalid("unknown limit '" + key +
                   "' (known: cpu_time, wall_time, memory, pids, output, file_size, disk, "
                   "open_files, stack)");
  }
  return OkStatus();
}

// ParseDuration plus hours and days ("12h", "7d"), which retention needs.
Result<std::chrono::milliseconds> ParseLongDuration(const std::string& text) {
  std::string t = Trim(text);
  if (t.size() > 1 && (t.back() == 'h' || t.back() == 'd')) {
    char* end = nullptr;
    std::string number = t.substr(0, t.size() - 1);
    double v = std::strtod(number.c_str(), &end);
    if (!number.empty() && *end == '\0' && v >= 0 && v < 1e6) {
      double ms = v * (t.back() == 'h' ? 3600e3 : 86400e3);
      return std::chrono::milliseconds(static_cast<int64_t>(ms));
    }
  }
  return ParseDuration(text);
}

// Applies one top-level scalar or list setting by name; shared by TOML and the environment.
Status ApplySetting(const std::string& key, const std::string& text, ServerConfig* c) {
  if (key == "listen") {
    c->listen = text;
  } else if (key == "data_dir") {
    c->data_dir = text;
  } else if (key == "static_dir") {
    c->static_dir = text;
  } else if (key == "languages_dir") {
    c->languages_dir = text;
  } else if (key == "cache_dir") {
    c->cache_dir = text;
  } else if (key == "log_level") {
    c->log_level = text;
  } else if (key == "slots" || key == "io_threads") {
    RUNBOX_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
    if (v > 4096) {
      return Invalid(key + ": too large");
    }
    (key == "slots" ? c->slots : c->io_threads) = static_cast<int>(v);
  } else if (key == "prepared_boxes") {
    if (text == "slots") {
      c->prepared_boxes = -1;
      return OkStatus();
    }
    RUNBOX_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
    if (v > 4096) {
      return Invalid(key + ": too large");
    }
    c->prepared_boxes = static_cast<int>(v);
  } else if (key == "queue_size" || key == "max_batch") {
    RUNBOX_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
    (key == "queue_size" ? c->queue_size : c->max_batch) = static_cast<size_t>(v);
  } else if (key == "max_body") {
    auto v = ParseSize(text);
    if (!v) {
      return std::move(v).error().Wrap("max_body");
    }
    c->max_body_bytes = *v;
  } else if (key == "header_timeout" || key == "idle_timeout" || key == "write_timeout" ||
             key == "ws_idle_timeout" || key == "body_timeout" ||
             key == "retention_max_age" || key == "retention_interval") {
    auto d = ParseLongDuration(text);
    if (!d) {
      return std::move(d).error().Wrap(key);
    }
    if (key == "header_timeout") {
      c->header_timeout = *d;
    } else if (key == "idle_timeout") {
      c->idle_timeout = *d;
    } else if (key == "write_timeout") {
      c->write_timeout = *d;
    } else if (key == "body_timeout") {
      c->body_timeout = *d;
    } else if (key == "retention_max_age") {
      c->retention_max_age = *d;
    } else if (key == "retention_interval") {
      c->retention_interval = *d;
    } else {
      c->ws_idle_timeout = *d;
    }
  } else if (key == "ws_stdin_buffer" || key == "job_output") {
    auto v = ParseSize(text);
    if (!v) {
      return std::move(v).error().Wrap(key);
    }
    (key == "job_output" ? c->job_output_bytes : c->ws_stdin_buffer_bytes) = *v;
  } else if (key == "retention_max_bytes") {
    auto v = ParseSize(text);
    if (!v) {
      return std::move(v).error().Wrap(key);
    }
    c->retention_max_bytes = *v;
  } else if (key == "max_connections" || key == "max_connections_per_ip") {
    RUNBOX_ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
    (key == "max_connections" ? c->max_connections : c->max_connections_per_ip) =
        static_cast<size_t>(v);
  } else if (key == "require_api_key") {
    RUNBOX_ASSIGN_OR_RETURN(c->require_api_key, ParseBool(key, text));
  } else if (key == "allow_anonymous") {
    RUNBOX_ASSIGN_OR_RETURN(c->allow_anonymous, ParseBool(key, text));
  } else if (key == "api_keys_file") {
    c->api_keys_file = text;
  } else if (key == "allowed_hosts") {
    c->allowed_hosts = SplitList(text, ',');
  } else if (key == "anonymous_rate") {
    RUNBOX_ASSIGN_OR_RETURN(c->anonymous_rate, ParseDouble(key, text));
  } else if (key == "anonymous_burst") {
    RUNBOX_ASSIGN_OR_RETURN(c->anonymous_burst, ParseDouble(key, text));
  } else if (key == "cors_origins") {
    c->cors_origins = SplitList(text, ',');
  } else if (key == "callback_allowlist") {
    c->callback_allowlist = SplitList(text, ',');
  } else {
    return Invalid("unknown setting '" + key + "'");
  }
  return OkStatus();
}

bool ValidHostPort(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) {
    return false;
  }
  std::string h = s.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  std::string p = s.substr(colon + 1);
  for (char ch : p) {
    if (ch < '0' || ch > '9') {
      return false;
    }
  }
  if (p.size() > 5) {
    return false;
  }
  unsigned long v = std::stoul(p);
  if (v > 65535 || h.empty()) {
    return false;
  }
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

Status CheckLimits(const sandbox::Limits& d, const sandbox::Limits& m) {
  struct Row {
    const char* name;
    uint64_t def;
    uint64_t max;
  };
  const Row rows[] = {
      {"cpu_time", static_cast<uint64_t>(d.cpu_time.count()),
       static_cast<uint64_t>(m.cpu_time.count())},
      {"wall_time", static_cast<uint64_t>(d.wall_time.count()),
       static_cast<uint64_t>(m.wall_time.count())},
      {"memory", d.memory_bytes, m.memory_bytes},
      {"pids", d.pids, m.pids},
      {"output", d.output_bytes, m.output_bytes},
      {"file_size", d.file_size_bytes, m.file_size_bytes},
      {"disk", d.disk_bytes, m.disk_bytes},
      {"open_files", d.open_files, m.open_files},
      {"stack", d.stack_bytes, m.stack_bytes},
  };
  for (const auto& r : rows) {
    if (r.def == 0) {
      return Invalid(std::string("limits.default.") + r.name + " must be above zero");
    }
    if (r.def > r.max) {
      return Invalid(std::string("limits.default.") + r.name + " is above limits.max." + r.name);
    }
  }
  return OkStatus();
}

}  // namespace

sandbox::Limits ServerConfig::DefaultMaxLimits() {
  // The engine's own ceiling (room for the heaviest catalog compilers), so that the API never
  // refuses what a catalog language needs.
  return engine::DefaultMaxLimits();
}

std::string ServerConfig::host() const {
  std::string h;
  uint16_t p = 0;
  ValidHostPort(listen, &h, &p);
  return h;
}

uint16_t ServerConfig::port() const {
  std::string h;
  uint16_t p = 0;
  ValidHostPort(listen, &h, &p);
  return p;
}

Status ServerConfig::Validate() const {
  std::string h;
  uint16_t p = 0;
  if (!ValidHostPort(listen, &h, &p)) {
    return Invalid("listen: expected HOST:PORT such as 127.0.0.1:8080, got '" + listen + "'");
  }
  if (data_dir.empty()) {
    return Invalid("data_dir: must not be empty");
  }
  if (slots < 0) {
    return Invalid("slots: must not be negative");
  }
  if (queue_size < 1) {
    return Invalid("queue_size: must be at least 1");
  }
  if (io_threads < 1) {
    return Invalid("io_threads: must be at least 1");
  }
  if (max_body_bytes < 1024) {
    return Invalid("max_body: must be at least 1K");
  }
  if (max_batch < 1) {
    return Invalid("max_batch: must be at least 1");
  }
  // Both budgets are memory the server holds per session or per job. Below 1K nothing useful
  // fits; above 1G one session or job could take the server's memory, and a job's result is
  // stored as one SQLite value, which holds at most 1,000,000,000 bytes.
  for (const auto& [name, value] : {std::pair<const char*, uint64_t>{"ws_stdin_buffer",
                                                                     ws_stdin_buffer_bytes},
                                    {"job_output", job_output_bytes}}) {
    if (value < 1024 || value > (1ull << 30)) {
      return Invalid(std::string(name) + ": must be between 1K and 1G, got " +
                     std::to_string(value) + " bytes");
    }
  }
  if (header_timeout.count() <= 0 || idle_timeout.count() <= 0 || write_timeout.count() <= 0 ||
      ws_idle_timeout.count() <= 0 || body_timeout.count() <= 0) {
    return Invalid("timeouts must be above zero");
  }
  if (max_connections < 1 || max_connections_per_ip < 1) {
    return Invalid("max_connections and max_connections_per_ip: must be at least 1");
  }
  if (retention_interval.count() < 1000) {
    return Invalid("retention_interval: must be at least 1s");
  }
  if (require_api_key && allow_anonymous) {
    return Invalid("require_api_key and allow_anonymous: both set; choose one");
  }
  for (size_t i = 0; i < allowed_hosts.size(); ++i) {
    const std::string& h = allowed_hosts[i];
    if (h.empty() || h.find_first_of(" /@\t") != std::string::npos) {
      return Invalid("allowed_hosts[" + std::to_string(i) + "]: expected a host name such as "
                     "runbox.lan, got '" + h + "'");
    }
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(log_level)) {
    return Invalid("log_level: expected one of trace, debug, info, warn, error, critical, off");
  }
  RUNBOX_TRY(CheckLimits(default_limits, max_limits));
  std::set<std::string> keys;
  std::set<std::string> names;
  for (size_t i = 0; i < api_keys.size(); ++i) {
    const auto& k = api_keys[i];
    std::string where = "api_keys[" + std::to_string(i) + "]";
    if (k.key.empty()) {
      return Invalid(where + ".key: must not be empty");
    }
    if (k.name.empty()) {
      return Invalid(where + ".name: must not be empty");
    }
    if (!keys.insert(k.key).second) {
      return Invalid(where + ".key: the same key is listed twice");
    }
    if (!names.insert(k.name).second) {
      return Invalid(where + ".name: '" + k.name + "' is listed twice");
    }
    if (k.rate_per_second < 0 || k.burst < 0) {
      return Invalid(where + ": rate and burst must not be negative");
    }
  }
  if (require_api_key && api_keys.empty()) {
    return Invalid("require_api_key: no api_keys are configured, so nobody could call the API");
  }
  for (size_t i = 0; i < callback_allowlist.size(); ++i) {
    std::string ch;
    uint16_t cp = 0;
    if (!ValidHostPort(callback_allowlist[i], &ch, &cp) || cp == 0) {
      return Invalid("callback_allowlist[" + std::to_string(i) + "]: expected HOST:PORT, got '" +
                     callback_allowlist[i] + "'");
    }
  }
  for (size_t i = 0; i < cors_origins.size(); ++i) {
    const auto& o = cors_origins[i];
    if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
      return Invalid("cors_origins[" + std::to_string(i) +
                     "]: expected \"*\" or an origin like https://ide.example.com");
    }
  }
  return OkStatus();
}

Result<ApiKey> ParseApiKeySpec(const std::string& spec, size_t position) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : spec) {
    if (c == ':') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  ApiKey k;
  if (parts.size() == 1) {
    k.name = "key" + std::to_string(position + 1);
    k.key = parts[0];
  } else if (parts.size() <= 4) {
    k.name = parts[0];
    k.key = parts[1];
    if (parts.size() >= 3) {
      RUNBOX_ASSIGN_OR_RETURN(k.rate_per_second, ParseDouble("api key rate", parts[2]));
    }
    if (parts.size() == 4) {
      RUNBOX_ASSIGN_OR_RETURN(k.burst, ParseDouble("api key burst", parts[3]));
    }
  } else {
    return Invalid("api key '" + k.name + "': expected name:key[:rate[:burst]]");
  }
  if (k.key.empty()) {
    return Invalid("api key " + std::to_string(position + 1) + ": the key is empty");
  }
  return k;
}

Status ApplyToml(const std::string& toml_text, const std::string& source_name,
                 ServerConfig* config) {
  RUNBOX_ASSIGN_OR_RETURN(const toml::table root, lang::ParseToml(toml_text, source_name));
  for (const auto& [k, node] : root) {
    std::string key(k.str());
    if (key == "limits") {
      const toml::table* limits = node.as_table();
      if (!limits) {
        return Invalid(source_name + ": limits: expected a table");
      }
      for (const auto& [lk, lnode] : *limits) {
        std::string which(lk.str());
        if (which != "default" && which != "max") {
          return Invalid(source_name + ": limits." + which + ": expected limits.default or " +
                         "limits.max");
        }
        const toml::table* t = lnode.as_table();
        if (!t) {
          return Invalid(source_name + ": limits." + which + ": expected a table");
        }
        sandbox::Limits* target = which == "default" ? &config->default_limits
                                                     : &config->max_limits;
        for (const auto& [name, v] : *t) {
          std::string field = "limits." + which + "." + std::string(name.str());
          auto text = ScalarText(v, field);
          if (!text) {
            return std::move(text).error().Wrap(source_name);
          }
          Status s = ApplyLimit(std::string(name.str()), *text, target);
          if (!s) {
            return Invalid(source_name + ": " + field + ": " + s.error().message);
          }
        }
      }
    } else if (key == "api_keys") {
      const toml::array* arr = node.as_array();
      if (!arr) {
        return Invalid(source_name + ": api_keys: expected an array of tables ([[api_keys]])");
      }
      config->api_keys.clear();
      size_t i = 0;
      for (const auto& el : *arr) {
        const toml::table* t = el.as_table();
        std::string where = source_name + ": api_keys[" + std::to_string(i) + "]";
        if (!t) {
          return Invalid(where + ": expected a table");
        }
        ApiKey k;
        for (const auto& [name, v] : *t) {
          std::string n(name.str());
          auto text = ScalarText(v, n);
          if (!text) {
            return std::move(text).error().Wrap(where);
          }
          if (n == "name") {
            k.name = *text;
          } else if (n == "key") {
            k.key = *text;
          } else if (n == "rate") {
            RUNBOX_ASSIGN_OR_RETURN(k.rate_per_second, ParseDouble(where + ".rate", *text));
          } else if (n == "burst") {
            RUNBOX_ASSIGN_OR_RETURN(k.burst, ParseDouble(where + ".burst", *text));
          } else {
            return Invalid(where + ": unknown key '" + n + "' (known: name, key, rate, burst)");
          }
        }
        if (k.name.empty()) {
          k.name = "key" + std::to_string(i + 1);
        }
        config->api_keys.push_back(k);
        ++i;
      }
    } else if (key == "cors_origins" || key == "callback_allowlist" || key == "allowed_hosts") {
      auto list = StringList(node, key);
      if (!list) {
        return std::move(list).error().Wrap(source_name);
      }
      (key == "cors_origins"         ? config->cors_origins
       : key == "callback_allowlist" ? config->callback_allowlist
                                     : config->allowed_hosts) = *list;
    } else {
      auto text = ScalarText(node, key);
      if (!text) {
        return std::move(text).error().Wrap(source_name);
      }
      Status s = ApplySetting(key, *text, config);
      if (!s) {
        return std::move(s).error().Wrap(source_name);
      }
    }
  }
  return OkStatus();
}

Status ApplyTomlFile(const std::string& path, ServerConfig* config) {
  RUNBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ApplyToml(text, path, config);
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServerConfig* config) {
  static const std::pair<const char*, const char*> kSimple[] = {
      {"RUNBOX_LISTEN", "listen"},
      {"RUNBOX_DATA_DIR", "data_dir"},
      {"RUNBOX_STATIC_DIR", "static_dir"},
      {"RUNBOX_LANGUAGES_DIR", "languages_dir"},
      {"RUNBOX_CACHE_DIR", "cache_dir"},
      {"RUNBOX_SLOTS", "slots"},
      {"RUNBOX_QUEUE_SIZE", "queue_size"},
      {"RUNBOX_PREPARED_BOXES", "prepared_boxes"},
      {"RUNBOX_MAX_BODY", "max_body"},
      {"RUNBOX_WS_STDIN_BUFFER", "ws_stdin_buffer"},
      {"RUNBOX_JOB_OUTPUT", "job_output"},
      {"RUNBOX_REQUIRE_API_KEY", "require_api_key"},
      {"RUNBOX_ALLOW_ANONYMOUS", "allow_anonymous"},
      {"RUNBOX_API_KEYS_FILE", "api_keys_file"},
      {"RUNBOX_ALLOWED_HOSTS", "allowed_hosts"},
      {"RUNBOX_CORS_ORIGINS", "cors_origins"},
      {"RUNBOX_CALLBACK_ALLOWLIST", "callback_allowlist"},
      {"RUNBOX_LOG_LEVEL", "log_level"},
  };
  for (const auto& [var, key] : kSimple) {
    auto it = env.find(var);
    if (it == env.end()) {
      continue;
    }
    Status s = ApplySetting(key, it->second, config);
    if (!s) {
      return std::move(s).error().Wrap(var);
    }
  }
  auto keys = env.find("RUNBOX_API_KEYS");
  if (keys != env.end()) {
    config->api_keys.clear();
    auto specs = SplitList(keys->second, ',');
    for (size_t i = 0; i < specs.size(); ++i) {
      auto k = ParseApiKeySpec(specs[i], i);
      if (!k) {
        return std::move(k).error().Wrap("RUNBOX_API_KEYS");
      }
      config->api_keys.push_back(*k);
    }
  }
  return OkStatus();
}

Status LoadApiKeysFile(ServerConfig* config) {
  const std::string& path = config->api_keys_file;
  if (path.empty()) {
    return OkStatus();
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError("api_keys_file " + path);
  }
  // As ssh does with private keys: a secret other users can read is no longer a secret.
  if (st.st_mode & S_IROTH) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "api_keys_file " + path + ": readable by every user of the host; "
                     "chmod o-r it (0600 or 0640)");
  }
  RUNBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::stringstream lines(text);
  std::string line;
  size_t n = 0;
  size_t position = config->api_keys.size();
  while (std::getline(lines, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    auto k = ParseApiKeySpec(line, position);
    if (!k) {
      // The line holds a secret: name the line, never echo it.
      return Invalid("api_keys_file " + path + ":" + std::to_string(n) +
                     ": expected name:key[:rate[:burst]]");
    }
    config->api_keys.push_back(*k);
    ++position;
  }
  return OkStatus();
}

std::map<std::string, std::string> RunboxEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (kv.rfind("RUNBOX_", 0) != 0) {
      continue;
    }
    size_t eq = kv.find('=');
    if (eq != std::string::npos) {
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return out;
}

}  // namespace runbox::server
