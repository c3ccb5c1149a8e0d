// Engine: prepare (validate, workspace) -> compile once (cached) -> run each test in a fresh
// box -> judge. See engine.h for the contract.

#include "engine/engine.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/files.h"
#include "base/unique_fd.h"
#include "base/units.h"
#include "engine/compile_cache.h"
#include "engine/judge.h"
#include "engine/limits.h"
#include "engine/workspace.h"
#include "lang/catalog.h"
#include "lang/version.h"
#include "sandbox/sandbox.h"

namespace runbox::engine {
namespace {

using std::chrono::milliseconds;

Error Invalid(const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

// ---- boxes ----

std::vector<std::string> LanguageEnv(const lang::LanguageSpec& spec) {
  std::vector<std::string> env = sandbox::DefaultEnvironment();
  for (const auto& e : spec.env) {
    std::string name = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.rfind(name + "=", 0) == 0; });
    env.push_back(e);
  }
  return env;
}

std::vector<sandbox::Bind> LanguageBinds(const lang::LanguageSpec& spec) {
  std::vector<sandbox::Bind> binds = sandbox::DefaultSystemBinds();
  for (const auto& path : spec.binds) {
    binds.push_back({path, path, /*writable=*/false, /*optional=*/true});
  }
  return binds;
}

bool IsExecutable(const std::string& path) {
  return !path.empty() && path[0] == '/' && ::access(path.c_str(), X_OK) == 0;
}

// Installed when every absolute program the language names exists on the host.
bool Installed(const lang::LanguageSpec& spec) {
  for (const auto* argv : {&spec.version_command, &spec.compile, &spec.run}) {
    if (!argv->empty() && (*argv)[0].starts_with("/") && !IsExecutable((*argv)[0])) {
      return false;
    }
  }
  return true;
}

std::string FirstLine(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = Trim(text.substr(start, nl == std::string::npos ? nl : nl - start));
    if (!line.empty()) {
      return line;
    }
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return "";
}

// A memfd holding data at offset 0: a test case's stdin.
Result<UniqueFd> DataFd(const std::string& data) {
  UniqueFd fd(::memfd_create("runbox-stdin", MFD_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError("memfd_create");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("write stdin memfd");
    }
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return ErrnoError("lseek stdin memfd");
  }
  return fd;
}

bool Readable(int fd) {
  if (fd < 0) {
    return false;
  }
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// ---- counting semaphore of box slots ----

class Slots {
 public:
  explicit Slots(int n) : total_(n) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return busy_ < total_; });
    ++busy_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    cv_.notify_one();
  }
  int total() const { return total_; }
  int busy() const {
    std::lock_guard lock(mu_);
    return busy_;
  }

 private:
  const int total_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int busy_ = 0;
};

class SlotGuard {
 public:
  explicit SlotGuard(Slots& s) : s_(s) { s_.Acquire(); }
  ~SlotGuard() { s_.Release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  Slots& s_;
};

// ---- the engine ----

struct VersionState {
  std::once_flag once;
  std::string version;
};

class EngineImpl : public Engine {
 public:
  EngineImpl(EngineConfig config, lang::Catalog catalog)
      : config_(std::move(config)),
        catalog_(std::move(catalog)),
        cache_(config_.cache_dir, config_.cache_max_bytes),
        slots_(config_.slots > 0 ? config_.slots
                                 : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {
    for (const auto& spec : catalog_.languages()) {
      installed_[spec.id] = Installed(spec);
      versions_[spec.id] = std::make_unique<VersionState>();
    }
    cache_ok_ = config_.cache_dir.empty() ? false : static_cast<bool>(cache_.Init());
  }

  Result<JobResult> Run(const Job& job, const RunHooks& hooks) override;
  std::vector<LanguageInfo> Languages() const override;
  int slots() const override { return slots_.total(); }
  int busy_slots() const override { return slots_.busy(); }
  BoxPoolStats box_stats() const override { return pool_.stats(); }

 private:
  struct Prepared {
    const lang::LanguageSpec* spec = nullptr;
    std::vector<std::pair<std::string, std::string>> files;  // as written into /box
    std::string main_file;
    sandbox::Limits compile_limits, run_limits;
  };

  Result<Prepared> Validate(const Job& job) const;
  // Trims the compile cache to its budget, at most once a minute (a trim walks the whole cache).
  void MaybeTrimCache() {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_trim_.load();
    if (last != 0 && now - last < std::chrono::steady_clock::duration(std::chrono::minutes(1)).count()) {
      return;
    }
    if (last_trim_.compare_exchange_strong(last, now)) {
      cache_.Trim();
    }
  }
  // One box: a prepared one when the pool has it (its teardown then happens in the
  // background), else one built now.
  Result<sandbox::Outcome> RunBox(const sandbox::Policy& policy, const sandbox::RunRequest& req);
  const std::string& Version(const lang::LanguageSpec& spec) const;
  std::string ComputeVersion(const lang::LanguageSpec& spec) const;

  EngineConfig config_;
  lang::Catalog catalog_;
  CompileCache cache_;
  bool cache_ok_ = false;
  mutable Slots slots_;
  std::map<std::string, bool> installed_;
  std::map<std::string, std::unique_ptr<VersionState>> versions_;
  std::atomic<int64_t> last_trim_{0};
  BoxPool pool_{config_.host,  // last: its boxes close first
                static_cast<size_t>(config_.prepared_boxes < 0 ? slots_.total()
                                                               : config_.prepared_boxes)};
};

Result<sandbox::Outcome> EngineImpl::RunBox(const sandbox::Policy& policy,
                                            const sandbox::RunRequest& req) {
  if (pool_.capacity() == 0) {
    return sandbox::Run(policy, req, config_.host);
  }
  std::optional<sandbox::Box> box = pool_.Take(policy);
  if (!box) {
    RUNBOX_ASSIGN_OR_RETURN(
        sandbox::Box fresh,
        sandbox::Box::Prepare(policy, config_.host, sandbox::BoxOptions{req.slot, true}));
    box.emplace(std::move(fresh));
  }
  auto outcome = box->Run(policy, req);
  pool_.Retire(std::move(*box));
  return outcome;
}

Result<EngineImpl::Prepared> EngineImpl::Validate(const Job& job) const {
  Prepared p;
  p.spec = catalog_.Find(job.language);
  if (p.spec == nullptr) {
    return MakeError(ErrorCode::kNotFound, "language: unknown language '" + job.language + "'");
  }
  if (!installed_.at(p.spec->id)) {
    return MakeError(ErrorCode::kNotFound, "language: '" + p.spec->id +
                                               "' is not installed on this host (packages: " +
                                               [&] {
                                                 std::string s;
                                                 for (const auto& pk : p.spec->packages) {
                                                   s += (s.empty() ? "" : " ") + pk;
                                                 }
                                                 return s;
                                               }() + ")");
  }
  if (job.files.empty()) {
    return Invalid("files: at least one file is required");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < job.files.size(); ++i) {
    const std::string field = "files[" + std::to_string(i) + "].name";
    const std::string& name = job.files[i].name;
    // A single file may come without a name: it is the main file.
    if (!(name.empty() && job.files.size() == 1)) {
      if (Status s = ValidateFileName(name); !s) {
        return std::move(s).error().Wrap(field);
      }
      if (!names.insert(name).second) {
        return Invalid(field + ": '" + name + "' is given twice");
      }
    }
  }
  if (job.files.size() == 1 && job.main_file.empty()) {
    // One file is always stored under the language's main file name ("Main.java"), whatever the
    // name it came with: the compile and run commands of some languages need that name.
    p.main_file = p.spec->main_file;
    p.files.emplace_back(p.main_file, job.files[0].content);
  } else {
    p.main_file = job.main_file.empty() ? job.files[0].name : job.main_file;
    if (!names.count(p.main_file)) {
      return Invalid("main_file: '" + p.main_file + "' is not one of the files");
    }
    for (const auto& f : job.files) {
      p.files.emplace_back(f.name, f.content);
    }
  }
  if (!job.version.empty() && job.version != "*") {
    const std::string& installed = Version(*p.spec);
    RUNBOX_ASSIGN_OR_RETURN(lang::VersionRange range, lang::VersionRange::Parse(job.version));
    if (!range.Matches(lang::SemverOf(installed))) {
      return MakeError(ErrorCode::kNotFound,
                       "version: '" + job.version + "' of " + p.spec->id +
                           " is not installed (installed: " + lang::SemverOf(installed).ToString() +
                           ", from \"" + installed + "\")");
    }
  }
  if (job.float_tolerance < 0 || job.float_tolerance != job.float_tolerance) {
    return Invalid("float_tolerance: must be a number of at least 0");
  }
  RUNBOX_ASSIGN_OR_RETURN(p.run_limits, ResolveLimits(job.run_limits, job.run_limits_given,
                                                      p.spec->run_limits, config_.default_limits,
                                                      config_.max_limits, "limits"));
  RUNBOX_ASSIGN_OR_RETURN(
      p.compile_limits,
      ResolveLimits(job.compile_limits, job.compile_limits_given, p.spec->compile_limits,
                    config_.default_limits, config_.max_limits, "compile_limits"));
  return p;
}

std::string EngineImpl::ComputeVersion(const lang::LanguageSpec& spec) const {
  // Cached on disk by the version program's identity, so that a new runbox process (every CLI
  // call) does not start a box per language again.
  std::string disk_path;
  if (cache_ok_ && !spec.version_command.empty()) {
    struct stat st {};
    std::string ident = spec.id;
    for (const auto& a : spec.version_command) {
      ident += '\0' + a;
    }
    if (::stat(spec.version_command[0].c_str(), &st) == 0) {
      ident += '\0' + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size) + ":" +
               std::to_string(st.st_ino);
      disk_path = config_.cache_dir + "/versions/" + Sha256Hex(ident);
      if (auto v = ReadFile(disk_path); v && !Trim(*v).empty()) {
        return Trim(*v);
      }
    }
  }
  sandbox::Policy policy;
  policy.binds = LanguageBinds(spec);
  policy.env = LanguageEnv(spec);
  policy.limits = AdjustedDefaults(config_.default_limits, spec.run_limits, config_.max_limits);
  policy.limits.memory_bytes = std::max<uint64_t>(policy.limits.memory_bytes, 512ull << 20);
  policy.limits.pids = std::max<uint32_t>(policy.limits.pids, 128);
  policy.limits = AdjustedDefaults(policy.limits, {}, config_.max_limits);
  sandbox::RunRequest req;
  req.argv = spec.version_command;
  auto outcome = sandbox::Run(policy, req, config_.host);
  if (!outcome) {
    return "";  // not cached: a later call may succeed
  }
  std::string v = FirstLine(outcome->stdout_data);
  if (v.empty()) {
    v = FirstLine(outcome->stderr_data);
  }
  if (outcome->status != sandbox::RunStatus::kOk && v.empty()) {
    return "";
  }
  if (!disk_path.empty() && !v.empty()) {
    if (MakeDirs(config_.cache_dir + "/versions")) {
      std::string tmp = disk_path + ".tmp" + std::to_string(::getpid()) + "-" +
                        std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
      if (WriteFile(tmp, v + "\n", true)) {
        ::rename(tmp.c_str(), disk_path.c_str());
      }
    }
  }
  return v;
}

const std::string& EngineImpl::Version(const lang::LanguageSpec& spec) const {
  VersionState& st = *versions_.at(spec.id);
  std::call_once(st.once, [&] {
    if (installed_.at(spec.id)) {
      st.version = ComputeVersion(spec);
    }
  });
  return st.version;
}

std::vector<LanguageInfo> EngineImpl::Languages() const {
  // Version commands run in parallel, each once per engine (and cached on disk across runs).
  const auto& specs = catalog_.languages();
  std::atomic<size_t> next{0};
  unsigned n_threads = std::min<unsigned>(8, std::max<unsigned>(1, specs.size()));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < specs.size();) {
        Version(specs[i]);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::vector<LanguageInfo> out;
  for (const auto& spec : specs) {
    LanguageInfo info;
    info.id = spec.id;
    info.name = spec.name;
    info.version = Version(spec);
    info.aliases = spec.aliases;
    info.extensions = spec.extensions;
    info.main_file = spec.main_file;
    info.template_code = spec.template_code;
    info.compiled = spec.compiled();
    info.installed = installed_.at(spec.id) && !info.version.empty();
    out.push_back(std::move(info));
  }
  return out;
}

Result<JobResult> EngineImpl::Run(const Job& job, const RunHooks& hooks) {
  RUNBOX_ASSIGN_OR_RETURN(Prepared p, Validate(job));
  const lang::LanguageSpec& spec = *p.spec;

  JobResult result;
  result.language = spec.id;
  result.version = Version(spec);

  SlotGuard slot(slots_);
  // The job's files go from memory straight into the compile box or (interpreted) each run box
  // (RunRequest::files); a compile-cache hit copies its entry, which holds sources and artifacts.
  // A host workspace is made only to receive a compile's artifacts when there is no cache.
  std::optional<Workspace> ws;

  sandbox::Policy base;
  base.binds = LanguageBinds(spec);
  base.env = LanguageEnv(spec);

  std::string run_dir;  // what each run box gets in /box: the compiled artifacts and sources
  std::vector<std::string> run_options;  // {options} in run: interpreted languages only
  if (spec.compiled()) {
    std::vector<std::string> argv =
        lang::ExpandArgv(spec.compile, p.main_file, job.compiler_options, {});
    std::string key;
    std::optional<CacheEntry> hit;
    if (cache_ok_) {
      key = CompileCacheKey({spec.id, result.version, argv, job.compiler_options, p.files});
      hit = cache_.Lookup(key);
    }
    if (hit) {
      sandbox::Outcome o;
      o.status = sandbox::RunStatus::kOk;
      o.exit_code = 0;
      o.message = "compiled earlier (cache hit)";
      o.stdout_data = hit->compile_stdout;
      o.stderr_data = hit->compile_stderr;
      result.compile = std::move(o);
      result.compile_cached = true;
      run_dir = hit->box_dir;
    } else {
      std::string tmp_entry;
      if (cache_ok_) {
        auto t = cache_.NewTempEntry();
        if (t) {
          tmp_entry = *t;
        }
      }
      if (tmp_entry.empty()) {
        RUNBOX_ASSIGN_OR_RETURN(Workspace created, Workspace::Create(config_.work_dir));
        ws.emplace(std::move(created));
      }
      std::string out_dir = tmp_entry.empty() ? ws->out_dir() : tmp_entry + "/box";
      sandbox::Policy policy = base;
      policy.limits = p.compile_limits;
      // The compile step's output counts against the job's budget too.
      policy.limits.output_bytes = std::min(policy.limits.output_bytes, config_.job_output_bytes);
      policy.copy_out = out_dir;
      sandbox::RunRequest req;
      req.argv = argv;
      req.files = p.files;
      req.cancel_fd = hooks.cancel_fd;
      auto outcome = RunBox(policy, req);
      if (!outcome) {
        if (!tmp_entry.empty()) {
          RemoveTree(tmp_entry);
        }
        return std::move(outcome).error().Wrap("compile " + spec.id);
      }
      bool ok = outcome->status == sandbox::RunStatus::kOk;
      result.compile = *outcome;
      if (outcome->status == sandbox::RunStatus::kSystemError) {
        // Cancelled while compiling (the only way a box ends in SE): not the program's compile
        // error. The run that never started carries the SE, so every status view says SE.
        if (!tmp_entry.empty()) {
          RemoveTree(tmp_entry);
        }
        CaseResult cancelled;
        cancelled.run = *outcome;
        cancelled.run.stdout_data.clear();
        cancelled.run.stderr_data.clear();
        cancelled.run.message = "cancelled while compiling";
        result.cases.push_back(std::move(cancelled));
        return result;
      }
      if (!ok) {
        if (!tmp_entry.empty()) {
          RemoveTree(tmp_entry);
        }
        result.compile_error = true;
        if (hooks.on_compiled) {
          hooks.on_compiled();
        }
        return result;
      }
      // The box's /box held at least the sources: an empty copy means the artifacts never came
      // out. Never cache (or run) that.
      std::error_code ec;
      if (std::filesystem::is_empty(out_dir, ec) || ec) {
        if (!tmp_entry.empty()) {
          RemoveTree(tmp_entry);
        }
        return MakeError(ErrorCode::kInternal,
                         "compile " + spec.id + ": the compile box left no files in /box");
      }
      run_dir = out_dir;
      if (!tmp_entry.empty()) {
        auto entry = cache_.Commit(key, tmp_entry, outcome->stdout_data, outcome->stderr_data);
        if (entry) {
          run_dir = entry->box_dir;
          MaybeTrimCache();
        } else {
          // The artifacts are gone with the failed entry: compile without the cache is not
          // worth a second box; report the failure as runbox's.
          return std::move(entry).error().Wrap("store compile artifacts");
        }
      }
    }
  } else {
    run_options = job.compiler_options;
  }
  if (hooks.on_compiled) {
    hooks.on_compiled();
  }

  // The job's output budget (EngineConfig::job_output_bytes): what the compile step printed is
  // spent already; each test may print at most what is left.
  uint64_t budget_left = config_.job_output_bytes;
  auto spend = [&budget_left](const sandbox::Outcome& o) {
    budget_left -= std::min<uint64_t>(budget_left, o.stdout_data.size() + o.stderr_data.size());
  };
  if (result.compile) {
    spend(*result.compile);
  }
  const std::string budget_text = FormatSize(config_.job_output_bytes);

  // Only the fallback case is built here; the job's own tests are read in place (a copy of every
  // stdin and expected output was one more copy of the whole request).
  static const std::vector<TestCase> kOneEmptyTest(1);
  const std::vector<TestCase>& tests = job.tests.empty() ? kOneEmptyTest : job.tests;
  const std::vector<std::string> run_argv =
      lang::ExpandArgv(spec.run, p.main_file, run_options, job.args);
  for (size_t i = 0; i < tests.size(); ++i) {
    const TestCase& tc = tests[i];
    if (budget_left == 0) {
      // Not run: its output would have nowhere to go. OLE, the status of output past a limit,
      // not SE: it is the job's doing, and Judge0 clients retry an SE.
      CaseResult skipped;
      skipped.run.status = sandbox::RunStatus::kOutputLimit;
      skipped.run.stdout_truncated = true;
      skipped.run.message = "not run: the job's output limit of " + budget_text +
                            " (all tests and the compile step together) was reached before "
                            "this test";
      result.cases.push_back(std::move(skipped));
      continue;
    }
    sandbox::Policy policy = base;
    policy.limits = p.run_limits;
    const bool budget_binds = budget_left < policy.limits.output_bytes;
    policy.limits.output_bytes = std::min(policy.limits.output_bytes, budget_left);
    policy.copy_in = run_dir;
    policy.network = job.network_loopback ? sandbox::Network::kLoopback : sandbox::Network::kNone;
    sandbox::RunRequest req;
    req.argv = run_argv;
    if (!spec.compiled()) {
      req.files = p.files;
    }
    req.cancel_fd = hooks.cancel_fd;
    req.signal_fd = hooks.signal_fd;
    UniqueFd stdin_fd;
    if (i == 0 && hooks.stdin_fd >= 0) {
      req.stdin_fd = hooks.stdin_fd;
    } else {
      RUNBOX_ASSIGN_OR_RETURN(stdin_fd, DataFd(tc.stdin_data));
      req.stdin_fd = stdin_fd.get();
    }
    std::string out, err;
    req.on_output = [&](int stream, std::string_view data) {
      (stream == 1 ? out : err).append(data);
      if (hooks.on_output) {
        hooks.on_output(stream, data);
      }
    };
    auto outcome = RunBox(policy, req);
    if (!outcome) {
      return std::move(outcome).error().Wrap("run " + spec.id + " test " + std::to_string(i));
    }
    outcome->stdout_data = std::move(out);
    outcome->stderr_data = std::move(err);
    spend(*outcome);
    if (budget_binds && outcome->status == sandbox::RunStatus::kOutputLimit &&
        (outcome->stdout_truncated || outcome->stderr_truncated)) {
      // It went past what was left: the budget is spent, whatever the capture kept.
      budget_left = 0;
      outcome->message += " (what was left of the job's output limit of " + budget_text +
                          " for all tests and the compile step)";
    }
    CaseResult cr;
    cr.run = std::move(*outcome);
    if (tc.expected_output && cr.run.status == sandbox::RunStatus::kOk) {
      JudgeResult jr = Judge(job.compare, job.float_tolerance, *tc.expected_output,
                             cr.run.stdout_data);
      cr.verdict = jr.accepted ? Verdict::kAccepted : Verdict::kWrongAnswer;
      cr.difference = std::move(jr.difference);
    }
    bool cancelled = cr.run.status == sandbox::RunStatus::kSystemError && Readable(hooks.cancel_fd);
    result.cases.push_back(std::move(cr));
    if (cancelled) {
      break;
    }
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(const EngineConfig& config) {
  RUNBOX_ASSIGN_OR_RETURN(lang::Catalog catalog, lang::LoadCatalog(config.languages_dir));
  return Create(config, std::move(catalog));
}

std::unique_ptr<Engine> Engine::Create(const EngineConfig& config, lang::Catalog catalog) {
  return std::unique_ptr<Engine>(new EngineImpl(config, std::move(catalog)));
}

}  // namespace runbox::engine
