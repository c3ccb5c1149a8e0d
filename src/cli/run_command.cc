// `runbox run FILE...`: compiles and runs a program in boxes the way running it locally would
// feel: its stdout/stderr appear as they are written, its stdin is runbox's (or --stdin FILE),
// and its exit status is runbox's (128+N for signal N, 137 when a limit ended it). A one-line
// summary (status, times, memory) goes to stderr unless --quiet.
//
// A compile error prints the compiler's output on stderr and exits 1 (like `make` or `cc`:
// the program never ran, so it has no status of its own; 1 is what a failed compiler returns).
// runbox's own failures (unknown language, bad flag, sandbox set-up) exit 125, as `runbox exec`.
//
// --tests DIR judges every DIR/NAME.in against DIR/NAME.out (run only when .out is missing),
// prints a table on stdout, and exits 0 when every case passed, 1 otherwise.
// `runbox languages` lists the catalog: id, name, version, installed; --check also runs each
// installed language's own test program (the one the test suite uses) and reports "working".

#include "cli/run_command.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/files.h"
#include "base/unique_fd.h"
#include "base/units.h"
#include "cli/cancel_on_signal.h"
#include "engine/engine.h"
#include "lang/catalog.h"
#include "wire/result_json.h"

namespace runbox::cli {
namespace {
namespace fs = std::filesystem;

std::vector<std::string>* g_program_args = nullptr;

int Fail(const std::string& message) {
  std::fprintf(stderr, "runbox: %s\n", message.c_str());
  return 125;
}

struct CommonFlags {
  std::string languages_dir;
  std::string cache_dir;
  std::string cgroup_parent;
  std::string state_dir = "/run/runbox";
};

// --languages-dir, else $RUNBOX_LANGUAGES, else ../share/runbox/languages next to the binary,
// else ./languages.
std::string FindLanguagesDir(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  if (const char* env = std::getenv("RUNBOX_LANGUAGES"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "runbox" / "languages";
    if (fs::is_directory(installed, ec)) {
      return installed.string();
    }
  }
  return "languages";
}

std::string FindCacheDir(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  if (const char* env = std::getenv("RUNBOX_CACHE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (::geteuid() == 0) {
    return "/var/cache/runbox/compile";
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/runbox/compile";
}

void AddCommonFlags(CLI::App* cmd, CommonFlags* f) {
  cmd->add_option("--languages-dir", f->languages_dir,
                  "Language catalog (default: $RUNBOX_LANGUAGES, ../share/runbox/languages "
                  "next to the binary, ./languages)");
  cmd->add_option("--cache-dir", f->cache_dir,
                  "Compile cache (default: $RUNBOX_CACHE_DIR, /var/cache/runbox/compile)");
  cmd->add_option("--cgroup-parent", f->cgroup_parent,
                  "Parent cgroup (default: the one runbox runs in)")
      ->envname("RUNBOX_CGROUP_PARENT");
  cmd->add_option("--state-dir", f->state_dir, "Slot locks and scratch (default /run/runbox)");
}

std::unique_ptr<engine::Engine> MakeEngine(const CommonFlags& f, lang::Catalog catalog) {
  engine::EngineConfig config;
  config.languages_dir = FindLanguagesDir(f.languages_dir);
  config.cache_dir = FindCacheDir(f.cache_dir);
  config.host.cgroup_parent = f.cgroup_parent;
  config.host.state_dir = f.state_dir;
  return engine::Engine::Create(config, std::move(catalog));
}

std::string Summary(const sandbox::Outcome& o) {
  std::string s = sandbox::StatusCode(o.status);
  if (o.exit_code >= 0 && o.status != sandbox::RunStatus::kOk) {
    s += " (exit " + std::to_string(o.exit_code) + ")";
  } else if (o.signal != 0) {
    s += std::string(" (SIG") + (sigabbrev_np(o.signal) ? sigabbrev_np(o.signal) : "?") + ")";
  }
  s += "  cpu " + FormatDuration(std::chrono::milliseconds(o.cpu_time_ms));
  s += "  wall " + FormatDuration(std::chrono::milliseconds(o.wall_time_ms));
  s += "  memory " + FormatSize(o.memory_kib * 1024);
  return s;
}

void WriteAllFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

struct RunFlags {
  CommonFlags common;
  std::vector<std::string> files;
  std::string lang, tests_dir, stdin_path, compare = "trailing_whitespace";
  std::string cpu_time, wall_time, memory;
  std::vector<std::string> args;
  bool json = false, quiet = false;
};

Result<engine::CompareMode> ParseCompare(const std::string& s) {
  if (s == "exact") return engine::CompareMode::kExact;
  if (s == "trailing_whitespace" || s == "trailing") return engine::CompareMode::kTrailingWhitespace;
  if (s == "tokens") return engine::CompareMode::kTokens;
  if (s == "float") return engine::CompareMode::kFloat;
  return MakeError(ErrorCode::kInvalidArgument,
                   "--compare '" + s + "': expected exact, trailing_whitespace, tokens or float");
}

Result<engine::Job> BuildJob(const RunFlags& f, const lang::Catalog& catalog) {
  engine::Job job;
  if (f.lang.empty()) {
    const lang::LanguageSpec* spec = catalog.FindByFileName(f.files[0]);
    if (spec == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cannot tell the language of " + f.files[0] + " from its extension; use --lang");
    }
    job.language = spec->id;
  } else {
    job.language = f.lang;
  }
  for (const auto& path : f.files) {
    RUNBOX_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
    job.files.push_back({fs::path(path).filename().string(), std::move(content)});
  }
  job.args = f.args;
  if (g_program_args != nullptr) {
    job.args.insert(job.args.end(), g_program_args->begin(), g_program_args->end());
  }
  RUNBOX_ASSIGN_OR_RETURN(job.compare, ParseCompare(f.compare));
  if (!f.cpu_time.empty() || !f.wall_time.empty() || !f.memory.empty()) {
    // Only the flags given are limits; the others stay defaults the language may raise.
    sandbox::Limits l;
    job.run_limits_given = engine::LimitFields::None();
    if (!f.cpu_time.empty()) {
      RUNBOX_ASSIGN_OR_RETURN(l.cpu_time, ParseDuration(f.cpu_time));
      job.run_limits_given.Add(engine::LimitField::kCpuTime);
    }
    if (!f.wall_time.empty()) {
      RUNBOX_ASSIGN_OR_RETURN(l.wall_time, ParseDuration(f.wall_time));
      job.run_limits_given.Add(engine::LimitField::kWallTime);
    }
    if (!f.memory.empty()) {
      RUNBOX_ASSIGN_OR_RETURN(l.memory_bytes, ParseSize(f.memory));
      job.run_limits_given.Add(engine::LimitField::kMemory);
    }
    job.run_limits = l;
  }
  if (!f.tests_dir.empty()) {
    std::vector<fs::path> inputs;
    std::error_code ec;
    for (auto it = fs::directory_iterator(f.tests_dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->path().extension() == ".in") {
        inputs.push_back(it->path());
      }
    }
    if (ec) {
      return MakeError(ErrorCode::kInvalidArgument, "--tests " + f.tests_dir + ": " + ec.message());
    }
    if (inputs.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "--tests " + f.tests_dir + ": no *.in files");
    }
    std::sort(inputs.begin(), inputs.end());
    for (const auto& in : inputs) {
      engine::TestCase tc;
      RUNBOX_ASSIGN_OR_RETURN(tc.stdin_data, ReadFile(in.string()));
      fs::path out = in;
      out.replace_extension(".out");
      if (fs::exists(out)) {
        RUNBOX_ASSIGN_OR_RETURN(std::string expected, ReadFile(out.string()));
        tc.expected_output = std::move(expected);
      }
      job.tests.push_back(std::move(tc));
    }
  } else {
    job.tests.push_back({});
  }
  return job;
}

std::vector<std::string> TestNames(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    if (it->path().extension() == ".in") {
      names.push_back(it->path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

int RunRun(const RunFlags& f) {
  auto catalog = lang::LoadCatalogFor(FindLanguagesDir(f.common.languages_dir), f.lang,
                                      f.files.empty() ? "" : f.files[0]);
  if (!catalog) {
    return Fail(catalog.error().message);
  }
  auto job = BuildJob(f, *catalog);
  if (!job) {
    return Fail(job.error().message);
  }
  auto engine = MakeEngine(f.common, *std::move(catalog));
  const bool table = !f.tests_dir.empty();
  const bool stream = !f.json && !table;

  engine::RunHooks hooks;
  UniqueFd stdin_file;
  if (!table) {
    if (!f.stdin_path.empty()) {
      stdin_file.reset(::open(f.stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!stdin_file.valid()) {
        return Fail(ErrnoError("--stdin " + f.stdin_path).message);
      }
      hooks.stdin_fd = stdin_file.get();
    } else {
      hooks.stdin_fd = 0;
    }
  }
  if (stream) {
    hooks.on_output = [](int stream_no, std::string_view data) {
      WriteAllFd(stream_no == 1 ? 1 : 2, data);
    };
  }
  auto cancel = CancelOnSignals::Install();
  if (!cancel) {
    return Fail(cancel.error().message);
  }
  hooks.cancel_fd = cancel->fd();

  auto result = engine->Run(*job, hooks);
  const int signal_no = cancel->signal();
  if (!result) {
    return Fail(result.error().message);
  }
  const engine::JobResult& r = *result;
  if (f.json) {
    // docs/api.md's JobResult of a done job, without what only a stored job has (id, times).
    nlohmann::json j = wire::EncodeJobResult(r);
    j["state"] = "done";
    std::printf("%s\n", wire::Dump(j).c_str());
    std::fflush(stdout);
  }
  if (signal_no != 0) {
    return 128 + signal_no;
  }
  if (r.compile_error) {
    if (!f.json) {
      WriteAllFd(2, r.compile->stdout_data);
      WriteAllFd(2, r.compile->stderr_data);
      if (!f.quiet) {
        std::fprintf(stderr, "runbox: CE: compilation failed: %s\n", Summary(*r.compile).c_str());
      }
    }
    return 1;
  }
  if (table) {
    std::vector<std::string> names = TestNames(f.tests_dir);
    std::printf("%-20s %-6s %-8s %-10s %-10s %s\n", "test", "status", "verdict", "cpu", "memory",
                "difference");
    bool all_ok = true;
    for (size_t i = 0; i < r.cases.size(); ++i) {
      const auto& c = r.cases[i];
      const char* verdict = c.verdict == engine::Verdict::kAccepted      ? "AC"
                            : c.verdict == engine::Verdict::kWrongAnswer ? "WA"
                                                                         : "-";
      all_ok = all_ok && c.run.status == sandbox::RunStatus::kOk &&
               c.verdict != engine::Verdict::kWrongAnswer;
      std::string detail = c.difference;
      if (c.run.status != sandbox::RunStatus::kOk) {
        detail = c.run.message;
      }
      std::printf("%-20s %-6s %-8s %-10s %-10s %s\n", i < names.size() ? names[i].c_str() : "?",
                  sandbox::StatusCode(c.run.status), verdict,
                  FormatDuration(std::chrono::milliseconds(c.run.cpu_time_ms)).c_str(),
                  FormatSize(c.run.memory_kib * 1024).c_str(), detail.c_str());
    }
    if (!f.quiet) {
      std::fprintf(stderr, "runbox: %s%s\n", wire::OverallStatus(r).c_str(),
                   r.compile_cached ? " (compile cached)" : "");
    }
    return all_ok ? 0 : 1;
  }
  const sandbox::Outcome& o = r.cases.at(0).run;
  if (!f.quiet && !f.json) {
    std::string line = Summary(o);
    if (r.compile) {
      line += r.compile_cached ? "  (compile cached)"
                               : "  (compile " +
                                     FormatDuration(std::chrono::milliseconds(
                                         r.compile->wall_time_ms)) + ")";
    }
    if (o.status != sandbox::RunStatus::kOk && o.status != sandbox::RunStatus::kRuntimeError) {
      line += "  " + o.message;
    }
    std::fprintf(stderr, "runbox: %s\n", line.c_str());
  }
  return o.ExitStatus();
}

struct LanguagesFlags {
  CommonFlags common;
  bool check = false, json = false;
};

int RunLanguages(const LanguagesFlags& f) {
  auto catalog = lang::LoadCatalog(FindLanguagesDir(f.common.languages_dir));
  if (!catalog) {
    return Fail(catalog.error().message);
  }
  auto engine = MakeEngine(f.common, *catalog);
  auto infos = engine->Languages();
  nlohmann::json all = nlohmann::json::array();
  if (!f.json) {
    std::printf("%-14s %-26s %-9s %s%s\n", "id", "name", "installed", f.check ? "working  " : "",
                "version");
  }
  int failures = 0;
  for (const auto& info : infos) {
    std::string working;
    if (f.check) {
      working = "-";
      const lang::LanguageSpec* spec = catalog->Find(info.id);
      if (info.installed && spec != nullptr) {
        engine::Job j;
        j.language = info.id;
        j.files = {{"", spec->test.program}};
        j.tests = {{spec->test.stdin_data, spec->test.expected_output}};
        j.compare = engine::CompareMode::kExact;
        auto r = engine->Run(j);
        bool ok = r && !r->compile_error && r->cases.size() == 1 &&
                  r->cases[0].verdict == engine::Verdict::kAccepted;
        working = ok ? "ok" : "FAIL";
        failures += ok ? 0 : 1;
      } else {
        ++failures;
      }
    }
    if (f.json) {
      nlohmann::json j = {{"id", info.id},          {"name", info.name},
                          {"version", info.version}, {"aliases", info.aliases},
                          {"extensions", info.extensions}, {"main_file", info.main_file},
                          {"compiled", info.compiled}, {"installed", info.installed}};
      if (f.check) {
        j["working"] = working == "ok";
      }
      all.push_back(std::move(j));
    } else {
      std::printf("%-14s %-26s %-9s %s%s\n", info.id.c_str(), info.name.c_str(),
                  info.installed ? "yes" : "no",
                  f.check ? (working + std::string(9 - std::min<size_t>(8, working.size()), ' ')).c_str()
                          : "",
                  info.version.c_str());
    }
  }
  if (f.json) {
    std::printf("%s\n", all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

void SetRunProgramArgs(std::vector<std::string> args) {
  static std::vector<std::string> stored;
  stored = std::move(args);
  g_program_args = &stored;
}

void AddRunCommand(CLI::App& app, int* exit_status) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Compile and run a program in boxes");
  AddCommonFlags(cmd, &f->common);
  cmd->add_option("--lang,-l", f->lang, "Language id or alias (default: from the extension)");
  cmd->add_option("--tests", f->tests_dir, "Judge DIR/*.in against DIR/*.out; print a table");
  cmd->add_option("--compare", f->compare,
                  "exact, trailing_whitespace (default), tokens or float");
  cmd->add_option("--stdin", f->stdin_path, "File for the program's stdin (default: runbox's)");
  cmd->add_option("--cpu-time", f->cpu_time, "CPU time limit of each run, seconds");
  cmd->add_option("--wall-time", f->wall_time, "Wall time limit of each run, seconds");
  cmd->add_option("--memory", f->memory, "Memory limit of each run (256M, 1G)");
  cmd->add_flag("--json", f->json, "Print the JobResult as JSON on stdout");
  cmd->add_flag("--quiet,-q", f->quiet, "No summary line on stderr");
  cmd->add_option("files", f->files,
                  "Source files, the first is the main file; program arguments follow --")
      ->required();
  cmd->callback([f, exit_status] { *exit_status = RunRun(*f); });
}

void AddLanguagesCommand(CLI::App& app, int* exit_status) {
  auto f = std::make_shared<LanguagesFlags>();
  CLI::App* cmd = app.add_subcommand("languages", "List the language catalog and what works");
  AddCommonFlags(cmd, &f->common);
  cmd->add_flag("--check", f->check, "Also run each language's test program (slow)");
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f, exit_status] { *exit_status = RunLanguages(*f); });
}

}  // namespace runbox::cli
