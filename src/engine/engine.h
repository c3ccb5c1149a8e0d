#pragma once
// Engine: turns a Job into a JobResult (prepare -> compile once -> run each test -> judge), with
// the compile cache and a fixed number of box slots. Front doors (CLI, HTTP server) use only this
// header and job.h.
//
// Thread-safety: Run() may be called from many threads; at most `slots` jobs' boxes run at once,
// the others block in Run() until a slot is free (the server puts its own bounded queue in front).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/box_pool.h"
#include "engine/job.h"
#include "lang/catalog.h"
#include "sandbox/sandbox.h"

namespace runbox::engine {

struct LanguageInfo {
  std::string id;                       // "cpp"
  std::string name;                     // "C++"
  std::string version;                  // "g++ 12.2.0", from the language's version command
  std::vector<std::string> aliases;     // "c++", "g++"
  std::vector<std::string> extensions;  // "cpp", "cc"
  std::string main_file;                // "main.cpp"
  std::string template_code;            // hello world that reads stdin
  bool compiled = false;
  bool installed = false;               // its runtime is present on this host
};

// The largest limits a job may ask for, and the ceiling of language adjustments: room for the
// heaviest catalog compilers (kotlinc/scalac/ghc: 1 GiB, 60 s CPU, 128 threads).
inline sandbox::Limits DefaultMaxLimits() {
  sandbox::Limits l;
  l.cpu_time = std::chrono::seconds(60);
  l.wall_time = std::chrono::seconds(120);
  l.memory_bytes = 2ull << 30;
  l.pids = 256;
  l.output_bytes = 64ull << 20;
  l.file_size_bytes = 256ull << 20;
  l.disk_bytes = 512ull << 20;
  l.open_files = 1024;
  l.stack_bytes = 256ull << 20;
  return l;
}

struct EngineConfig {
  std::string languages_dir = "languages";   // the catalog
  std::string cache_dir = "/var/cache/runbox/compile";  // compile cache (content-addressed)
  uint64_t cache_max_bytes = 1ull << 30;
  int slots = 0;                              // 0: number of cores
  sandbox::Limits default_limits;             // used when a job names no limits
  sandbox::Limits max_limits = DefaultMaxLimits();  // a job's limits are clamped to these
  std::string work_dir = "/tmp/runbox-work";  // per-job host workspaces (removed after each job)
  sandbox::HostConfig host;                   // slot locks, cgroup parent, uid base
  // Boxes kept built ahead of the runs that will use them (BoxPool); each holds a slot of
  // host.slots. -1: one per slot (a server: with every slot busy, each has its next box
  // ready); 0 (a one-shot `runbox run`) builds each box when it is needed.
  int prepared_boxes = 0;
  // stdout + stderr of one job, its compile step and every test together. Each test's output
  // limit is the smaller of its own and what is left; once it is spent the remaining tests do not
  // run (OLE, with a message saying so). Without it one request of 256 tests at 64 MiB each
  // could make the server hold and store 16 GiB.
  uint64_t job_output_bytes = 64ull << 20;
};

// For interactive runs: stdin comes from a fd, output is delivered as it happens.
struct RunHooks {
  int stdin_fd = -1;                 // fed to the (single) test case instead of its stdin_data
  std::function<void(int stream, std::string_view data)> on_output;  // 1 = stdout, 2 = stderr
  std::function<void()> on_compiled; // after the compile step, before the run starts
  int cancel_fd = -1;                // readable: end the job (its result is SE "cancelled")
  int signal_fd = -1;                // each byte: a signal number for the running program
};

class Engine {
 public:
  virtual ~Engine() = default;
  static Result<std::unique_ptr<Engine>> Create(const EngineConfig& config);
  // With a catalog the caller loaded already (config.languages_dir is then not read): loading
  // the 64 language files takes ~5 ms, and `runbox run` needs the catalog before the engine.
  static std::unique_ptr<Engine> Create(const EngineConfig& config, lang::Catalog catalog);

  // Unknown language, bad file names, limits above the maximum: kInvalidArgument/kNotFound with
  // a message naming the field. A program's failures are in the JobResult, not errors.
  virtual Result<JobResult> Run(const Job& job, const RunHooks& hooks = {}) = 0;
  virtual std::vector<LanguageInfo> Languages() const = 0;
  virtual int slots() const = 0;
  virtual int busy_slots() const = 0;
  // How often runs found a prepared box (EngineConfig::prepared_boxes).
  virtual BoxPoolStats box_stats() const { return {}; }
};

}  // namespace runbox::engine
