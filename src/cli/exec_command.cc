// `runbox exec [OPTIONS] -- COMMAND [ARG...]`: one command in a box, with safe defaults for every
// limit. Exit status as env(1), timeout(1) and docker run: the program's own status, 128+N for
// signal N, 125 when runbox failed, 126 when the command cannot run, 127 when it is not found.

#include "cli/exec_command.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "base/files.h"
#include "base/unique_fd.h"
#include "base/units.h"
#include "cli/cancel_on_signal.h"
#include "sandbox/doctor.h"
#include "sandbox/sandbox.h"
#include "wire/result_json.h"

namespace runbox::cli {
namespace {

struct ExecFlags {
  std::string cpu_time, wall_time, memory, output, file_size, disk, stack;
  uint32_t pids = 0, open_files = 0;
  std::vector<std::string> ro_binds, binds, tmpfs, env;
  std::string workdir, copy_out, network = "none";
  std::string stdin_path, stdout_path, stderr_path, result_path;
  bool json = false, no_default_binds = false;
  int slot = -1;
  std::string cgroup_parent, state_dir = "/run/runbox";
  std::vector<std::string> command;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "runbox: %s\n", message.c_str());
  return 125;
}

Result<sandbox::Bind> ParseBind(const std::string& spec, bool writable) {
  auto colon = spec.find(':');
  sandbox::Bind b;
  b.source = spec.substr(0, colon);
  b.target = colon == std::string::npos ? b.source : spec.substr(colon + 1);
  b.writable = writable;
  if (b.source.empty() || b.source[0] != '/' || b.target.empty() || b.target[0] != '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(writable ? "--bind" : "--ro-bind") + " '" + spec +
                         "': expected /HOST/PATH[:/BOX/PATH] with absolute paths");
  }
  return b;
}

// Applies a size flag if given.
Status SetSize(const std::string& flag, const std::string& text, uint64_t* out) {
  if (text.empty()) {
    return OkStatus();
  }
  auto v = ParseSize(text);
  if (!v) {
    return std::move(v).error().Wrap(flag);
  }
  *out = *v;
  return OkStatus();
}

Status SetTime(const std::string& flag, const std::string& text, std::chrono::milliseconds* out) {
  if (text.empty()) {
    return OkStatus();
  }
  auto v = ParseDuration(text);
  if (!v) {
    return std::move(v).error().Wrap(flag);
  }
  *out = *v;
  return OkStatus();
}

Result<sandbox::Policy> BuildPolicy(const ExecFlags& f) {
  sandbox::Policy p;
  sandbox::Limits& l = p.limits;
  RUNBOX_TRY(SetTime("--cpu-time", f.cpu_time, &l.cpu_time));
  RUNBOX_TRY(SetTime("--wall-time", f.wall_time, &l.wall_time));
  RUNBOX_TRY(SetSize("--memory", f.memory, &l.memory_bytes));
  RUNBOX_TRY(SetSize("--output", f.output, &l.output_bytes));
  RUNBOX_TRY(SetSize("--file-size", f.file_size, &l.file_size_bytes));
  RUNBOX_TRY(SetSize("--disk", f.disk, &l.disk_bytes));
  RUNBOX_TRY(SetSize("--stack", f.stack, &l.stack_bytes));
  if (f.pids != 0) {
    l.pids = f.pids;
  }
  if (f.open_files != 0) {
    l.open_files = f.open_files;
  }
  if (!f.no_default_binds) {
    p.binds = sandbox::DefaultSystemBinds();
  }
  for (const auto& s : f.ro_binds) {
    RUNBOX_ASSIGN_OR_RETURN(auto b, ParseBind(s, false));
    p.binds.push_back(b);
  }
  for (const auto& s : f.binds) {
    RUNBOX_ASSIGN_OR_RETURN(auto b, ParseBind(s, true));
    p.binds.push_back(b);
  }
  if (f.no_default_binds && p.binds.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--no-default-binds needs at least one --ro-bind or --bind");
  }
  p.tmpfs = f.tmpfs;
  if (!f.env.empty()) {
    p.env = sandbox::DefaultEnvironment();
    for (const auto& e : f.env) {
      auto eq = e.find('=');
      std::string name = e.substr(0, eq);
      std::erase_if(p.env, [&](const std::string& x) { return x.rfind(name + "=", 0) == 0; });
      p.env.push_back(e);
    }
  }
  if (f.network == "none") {
    p.network = sandbox::Network::kNone;
  } else if (f.network == "loopback") {
    p.network = sandbox::Network::kLoopback;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--network '" + f.network + "': expected none or loopback");
  }
  p.copy_in = f.workdir;
  p.copy_out = f.copy_out;
  RUNBOX_TRY(p.Validate());
  return p;
}

Result<UniqueFd> OpenRedirect(const std::string& path, bool write, const char* flag) {
  UniqueFd fd(::open(path.c_str(),
                     write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC),
                     0644));
  if (!fd.valid()) {
    return ErrnoError(std::string(flag) + " " + path);
  }
  return fd;
}

int RunExec(const ExecFlags& f) {
  auto policy = BuildPolicy(f);
  if (!policy) {
    return Fail(policy.error().message);
  }
  sandbox::RunRequest req;
  req.argv = f.command;
  if (f.slot >= 0) {
    req.slot = f.slot;
  }
  UniqueFd in, out, err;
  if (!f.stdin_path.empty()) {
    auto r = OpenRedirect(f.stdin_path, false, "--stdin");
    if (!r) {
      return Fail(r.error().message);
    }
    in = std::move(*r);
    req.stdin_fd = in.get();
  } else {
    req.stdin_fd = 0;
  }
  for (auto [path, fd, dest, flag] :
       {std::tuple{&f.stdout_path, &out, &req.stdout_fd, "--stdout"},
        std::tuple{&f.stderr_path, &err, &req.stderr_fd, "--stderr"}}) {
    if (!path->empty()) {
      auto r = OpenRedirect(*path, true, flag);
      if (!r) {
        return Fail(r.error().message);
      }
      *fd = std::move(*r);
      *dest = fd->get();
    }
  }
  // With --json on stdout, the program's output goes into the JSON unless redirected.
  if (!f.json) {
    if (req.stdout_fd < 0) {
      req.stdout_fd = 1;
    }
    if (req.stderr_fd < 0) {
      req.stderr_fd = 2;
    }
  }

  // SIGINT/SIGTERM/SIGHUP end the box and still report a Result.
  auto cancel = CancelOnSignals::Install();
  if (!cancel) {
    return Fail(cancel.error().message);
  }
  req.cancel_fd = cancel->fd();

  sandbox::HostConfig host;
  host.cgroup_parent = f.cgroup_parent;
  host.state_dir = f.state_dir;
  auto outcome = sandbox::Run(*policy, req, host);
  const int signal_no = cancel->signal();
  if (!outcome) {
    return Fail(outcome.error().message);
  }
  if (signal_no != 0 && outcome->status == sandbox::RunStatus::kSystemError) {
    outcome->message = std::string("run cancelled: runbox received SIG") + sigabbrev_np(signal_no);
  }
  nlohmann::json j = wire::EncodeResult(*outcome);
  if (req.stdout_fd >= 0 && req.stderr_fd >= 0) {
    // Both went to runbox's own stdout/stderr or to files: the Result holds no output, rather
    // than an empty one that looks like the program's.
    j.erase("stdout");
    j.erase("stderr");
  }
  const std::string text = wire::Dump(j);
  if (f.json) {
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }
  if (!f.result_path.empty()) {
    if (Status s = WriteFile(f.result_path, text + "\n", true); !s) {
      return Fail(s.error().message);
    }
  }
  if (signal_no != 0) {
    return 128 + signal_no;
  }
  if (outcome->status != sandbox::RunStatus::kOk && outcome->status != sandbox::RunStatus::kRuntimeError &&
      !f.json) {
    std::fprintf(stderr, "runbox: %s: %s\n", sandbox::StatusCode(outcome->status),
                 outcome->message.c_str());
  }
  return outcome->ExitStatus();
}

}  // namespace

void AddExecCommand(CLI::App& app, int* exit_status) {
  auto f = std::make_shared<ExecFlags>();
  CLI::App* cmd = app.add_subcommand("exec", "Run one command in a hardened box");
  cmd->add_option("--cpu-time", f->cpu_time, "CPU time limit, seconds (default 5)");
  cmd->add_option("--wall-time", f->wall_time, "Wall time limit, seconds (default 10)");
  cmd->add_option("--memory", f->memory, "Memory limit, swap included (default 256M)");
  cmd->add_option("--pids", f->pids, "Processes and threads (default 64)");
  cmd->add_option("--output", f->output, "stdout+stderr bytes (default 16M)");
  cmd->add_option("--file-size", f->file_size, "Largest file written (default 64M)");
  cmd->add_option("--disk", f->disk, "Size of /box and /tmp each (default 64M)");
  cmd->add_option("--open-files", f->open_files, "Open file descriptors (default 256)");
  cmd->add_option("--stack", f->stack, "Stack size (default 64M)");
  cmd->add_option("--ro-bind", f->ro_binds, "Bind a host path read-only: SRC[:DST]");
  cmd->add_option("--bind", f->binds, "Bind a host path WRITABLE (dangerous): SRC[:DST]");
  cmd->add_flag("--no-default-binds", f->no_default_binds, "Do not bind /usr, /lib, /etc pieces");
  cmd->add_option("--tmpfs", f->tmpfs, "Extra tmpfs mount point (size of --disk)");
  cmd->add_option("--workdir", f->workdir, "Host directory copied into /box before the run");
  cmd->add_option("--copy-out", f->copy_out, "Host directory that receives /box after the run");
  cmd->add_option("--env", f->env, "NAME=VALUE added to the clean environment");
  cmd->add_option("--network", f->network, "none (default) or loopback");
  cmd->add_option("--stdin", f->stdin_path, "File for the program's stdin (default: runbox's)");
  cmd->add_option("--stdout", f->stdout_path, "File for the program's stdout");
  cmd->add_option("--stderr", f->stderr_path, "File for the program's stderr");
  cmd->add_flag("--json", f->json, "Print the Result as JSON on stdout");
  cmd->add_option("--result", f->result_path, "Write the Result JSON to this file");
  cmd->add_option("--slot", f->slot, "Use this box slot instead of the first free one");
  cmd->add_option("--cgroup-parent", f->cgroup_parent,
                  "Parent cgroup (default: the one runbox runs in)")
      ->envname("RUNBOX_CGROUP_PARENT");
  cmd->add_option("--state-dir", f->state_dir, "Slot locks and scratch (default /run/runbox)");
  cmd->add_option("command", f->command, "Command and arguments")->required();
  cmd->positionals_at_end();
  cmd->callback([f, exit_status] { *exit_status = RunExec(*f); });
}

void AddDoctorCommand(CLI::App& app, int* exit_status) {
  auto parent = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("doctor", "Check that this host can run boxes");
  cmd->add_option("--cgroup-parent", *parent, "Parent cgroup to check")
      ->envname("RUNBOX_CGROUP_PARENT");
  cmd->callback([parent, exit_status] {
    sandbox::HostConfig host;
    host.cgroup_parent = *parent;
    bool ok = true;
    for (const auto& c : sandbox::Doctor(host)) {
      std::printf("%-26s %s  %s\n", c.name.c_str(), c.ok ? "ok  " : "FAIL", c.detail.c_str());
      if (!c.ok && !c.fix.empty()) {
        std::printf("%-26s       fix: %s\n", "", c.fix.c_str());
      }
      ok = ok && c.ok;
    }
    *exit_status = ok ? 0 : 1;
  });
}

}  // namespace runbox::cli
