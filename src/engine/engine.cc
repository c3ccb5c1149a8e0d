// Engine: prepare (validate, workspace) -> compile once (cached) -> run each test in a fresh
// box -> judge. See engine.h for the contract.

#include "engine/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "base/files.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "base/units.h"
#include "engine/box_inputs.h"
#include "engine/compile_cache.h"
#include "engine/judge.h"
#include "engine/limits.h"
#include "engine/output_budget.h"
#include "engine/slots.h"
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

  // What the compile step leaves for the runs: the directory each run box gets in /box (the
  // compiled artifacts and sources), and the workspace holding it when there is no cache.
  struct Compiled {
    bool run = true;  // false: the job ends here (compile error, cancelled); the result is final
    std::string run_dir;
    std::optional<Workspace> ws;
  };

  Result<Prepared> Validate(const Job& job) const;
  Result<Compiled> Compile(const Job& job, const Prepared& p, const sandbox::Policy& base,
                           const RunHooks& hooks, JobResult* result);
  Result<Compiled> CompileInBox(const Prepared& p, const sandbox::Policy& base,
                                const std::vector<std::string>& argv, const std::string& key,
                                const RunHooks& hooks, JobResult* result);
  Result<CaseResult> RunTest(const Job& job, const Prepared& p, sandbox::Policy policy,
                             const std::vector<std::string>& argv, const TestCase& tc, size_t i,
                             const RunHooks& hooks, OutputBudget* budget);
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
  sandbox::Policy base;
  base.binds = LanguageBinds(spec);
  base.env = LanguageEnv(spec);

  RUNBOX_ASSIGN_OR_RETURN(Compiled compiled, Compile(job, p, base, hooks, &result));
  if (!compiled.run) {
    return result;
  }
  if (hooks.on_compiled) {
    hooks.on_compiled();
  }

  // The job's output budget (EngineConfig::job_output_bytes): what the compile step printed is
  // spent already; each test may print at most what is left.
  OutputBudget budget(config_.job_output_bytes);
  if (result.compile) {
    budget.Spend(*result.compile);
  }
  base.copy_in = compiled.run_dir;
  base.limits = p.run_limits;
  base.network = job.network_loopback ? sandbox::Network::kLoopback : sandbox::Network::kNone;

  // Only the fallback case is built here; the job's own tests are read in place (a copy of every
  // stdin and expected output was one more copy of the whole request).
  static const std::vector<TestCase> kOneEmptyTest(1);
  const std::vector<TestCase>& tests = job.tests.empty() ? kOneEmptyTest : job.tests;
  // {options} in run: interpreted languages only (a compiled one took them at compile time).
  const std::vector<std::string> run_argv = lang::ExpandArgv(
      spec.run, p.main_file, spec.compiled() ? std::vector<std::string>{} : job.compiler_options,
      job.args);
  for (size_t i = 0; i < tests.size(); ++i) {
    if (budget.left() == 0) {
      result.cases.push_back(budget.NotRun());
      continue;
    }
    RUNBOX_ASSIGN_OR_RETURN(CaseResult cr, RunTest(job, p, base, run_argv, tests[i], i, hooks, &budget));
    bool cancelled = cr.run.status == sandbox::RunStatus::kSystemError && Readable(hooks.cancel_fd);
    result.cases.push_back(std::move(cr));
    if (cancelled) {
      break;
    }
  }
  return result;
}

// The job's files go from memory straight into the compile box (RunRequest::files); a
// compile-cache hit copies its entry, which holds sources and artifacts. Interpreted languages
// have nothing to compile: their files go into each run box.
Result<EngineImpl::Compiled> EngineImpl::Compile(const Job& job, const Prepared& p,
                                                 const sandbox::Policy& base,
                                                 const RunHooks& hooks, JobResult* result) {
  const lang::LanguageSpec& spec = *p.spec;
  if (!spec.compiled()) {
    return Compiled{};
  }
  std::vector<std::string> argv =
      lang::ExpandArgv(spec.compile, p.main_file, job.compiler_options, {});
  std::string key;
  if (cache_ok_) {
    key = CompileCacheKey({spec.id, result->version, argv, job.compiler_options, p.files});
    if (std::optional<CacheEntry> hit = cache_.Lookup(key)) {
      sandbox::Outcome o;
      o.status = sandbox::RunStatus::kOk;
      o.exit_code = 0;
      o.message = "compiled earlier (cache hit)";
      o.stdout_data = hit->compile_stdout;
      o.stderr_data = hit->compile_stderr;
      result->compile = std::move(o);
      result->compile_cached = true;
      Compiled c;
      c.run_dir = hit->box_dir;
      return c;
    }
  }
  return CompileInBox(p, base, argv, key, hooks, result);
}

// A compile box whose /box is copied out into a temporary cache entry (committed under `key`
// when it compiled) or, without a cache, into a workspace of this job's.
Result<EngineImpl::Compiled> EngineImpl::CompileInBox(const Prepared& p,
                                                      const sandbox::Policy& base,
                                                      const std::vector<std::string>& argv,
                                                      const std::string& key,
                                                      const RunHooks& hooks, JobResult* result) {
  const lang::LanguageSpec& spec = *p.spec;
  Compiled c;
  std::string tmp_entry;
  if (cache_ok_) {
    if (auto t = cache_.NewTempEntry()) {
      tmp_entry = *t;
    }
  }
  if (tmp_entry.empty()) {
    RUNBOX_ASSIGN_OR_RETURN(Workspace created, Workspace::Create(config_.work_dir));
    c.ws.emplace(std::move(created));
  }
  // Every way out but a commit removes the temporary entry.
  ScopeExit remove_entry([&tmp_entry] {
    if (!tmp_entry.empty()) {
      RemoveTree(tmp_entry);
    }
  });
  const std::string out_dir = tmp_entry.empty() ? c.ws->out_dir() : tmp_entry + "/box";
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
    return std::move(outcome).error().Wrap("compile " + spec.id);
  }
  result->compile = *outcome;
  if (outcome->status == sandbox::RunStatus::kSystemError) {
    // Cancelled while compiling (the only way a box ends in SE): not the program's compile
    // error. The run that never started carries the SE, so every status view says SE.
    CaseResult cancelled;
    cancelled.run = std::move(*outcome);
    cancelled.run.stdout_data.clear();
    cancelled.run.stderr_data.clear();
    cancelled.run.message = "cancelled while compiling";
    result->cases.push_back(std::move(cancelled));
    c.run = false;
    return c;
  }
  if (outcome->status != sandbox::RunStatus::kOk) {
    result->compile_error = true;
    if (hooks.on_compiled) {
      hooks.on_compiled();
    }
    c.run = false;
    return c;
  }
  // The box's /box held at least the sources: an empty copy means the artifacts never came
  // out. Never cache (or run) that.
  std::error_code ec;
  if (std::filesystem::is_empty(out_dir, ec) || ec) {
    return MakeError(ErrorCode::kInternal,
                     "compile " + spec.id + ": the compile box left no files in /box");
  }
  c.run_dir = out_dir;
  if (!tmp_entry.empty()) {
    auto entry = cache_.Commit(key, tmp_entry, outcome->stdout_data, outcome->stderr_data);
    if (!entry) {
      // The artifacts are gone with the failed entry: compile without the cache is not worth a
      // second box; report the failure as runbox's.
      return std::move(entry).error().Wrap("store compile artifacts");
    }
    remove_entry.Dismiss();  // Commit moved it into the cache
    c.run_dir = entry->box_dir;
    MaybeTrimCache();
  }
  return c;
}

// Test `i` (`tc`) in a fresh box with `policy` (the run limits, the compiled /box); its output counts
// against the job's budget.
Result<CaseResult> EngineImpl::RunTest(const Job& job, const Prepared& p, sandbox::Policy policy,
                                       const std::vector<std::string>& argv,
                                       const TestCase& tc, size_t i, const RunHooks& hooks,
                                       OutputBudget* budget) {
  const lang::LanguageSpec& spec = *p.spec;
  const bool budget_binds = budget->left() < policy.limits.output_bytes;
  policy.limits.output_bytes = std::min(policy.limits.output_bytes, budget->left());
  sandbox::RunRequest req;
  req.argv = argv;
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
  budget->Spend(*outcome);
  if (budget_binds && outcome->status == sandbox::RunStatus::kOutputLimit &&
      (outcome->stdout_truncated || outcome->stderr_truncated)) {
    budget->Exhaust(&*outcome);  // it went past what was left, whatever the capture kept
  }
  CaseResult cr;
  cr.run = std::move(*outcome);
  if (tc.expected_output && cr.run.status == sandbox::RunStatus::kOk) {
    JudgeResult jr =
        Judge(job.compare, job.float_tolerance, *tc.expected_output, cr.run.stdout_data);
    cr.verdict = jr.accepted ? Verdict::kAccepted : Verdict::kWrongAnswer;
    cr.difference = std::move(jr.difference);
  }
  return cr;
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
