// runbox: the command-line front door. Each subcommand lives in its own file.
//
// Two executables are built from this file. `runbox` holds the sandbox and its subcommands
// (exec, doctor) and nothing else; `runbox-engine`, installed next to it, holds everything
// (run, languages, serve: the language catalog, the compile cache with nettle, the server with
// Boost.Beast, SQLite and spdlog). `runbox run|languages|serve` executes runbox-engine with the
// same arguments. The reason is start-up time: `runbox exec /bin/true` is a box per process, and
// the full binary (8 MiB of code, 450 KiB of relocated data) started ~0.6 ms slower and forked
// its box ~0.8 ms slower than the sandbox-only one (bench/RESULTS.md, "runbox exec").

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/exec_command.h"
#ifdef RUNBOX_HAVE_ENGINE
#include "cli/run_command.h"
#endif
#ifdef RUNBOX_HAVE_SERVE
#include "server/serve.h"
#endif

namespace {

#ifdef RUNBOX_DELEGATE_TO_ENGINE
struct Delegated {
  const char* name;
  const char* description;
};
constexpr Delegated kDelegated[] = {
    {"run", "Compile and run a program in boxes"},
    {"languages", "List the language catalog and what works"},
    {"serve", "Serve the HTTP API and the web page"},
};

// Replaces this process with runbox-engine (next to this binary), same arguments. Returns only
// on failure, with the exit status.
int ExecEngine(char** argv) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "runbox: cannot find its own path (/proc/self/exe): %s\n",
                 std::strerror(errno));
    return 125;
  }
  self[n] = '\0';
  std::string path(self);
  path = path.substr(0, path.rfind('/') + 1) + "runbox-engine";
  ::execv(path.c_str(), argv);
  std::fprintf(stderr,
               "runbox: `runbox %s` needs %s, which is built and installed next to runbox: %s\n",
               argv[1], path.c_str(), std::strerror(errno));
  return 125;
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef RUNBOX_DELEGATE_TO_ENGINE
  if (argc > 1) {
    for (const auto& d : kDelegated) {
      if (std::strcmp(argv[1], d.name) == 0) {
        return ExecEngine(argv);
      }
    }
  }
#endif
  CLI::App app{"runbox: run untrusted code in hardened sandboxes"};
  app.require_subcommand(1);
  int exit_status = 0;
  runbox::cli::AddExecCommand(app, &exit_status);
  runbox::cli::AddDoctorCommand(app, &exit_status);
#ifdef RUNBOX_DELEGATE_TO_ENGINE
  for (const auto& d : kDelegated) {  // listed in --help; never parsed here
    app.add_subcommand(d.name, d.description);
  }
#endif
#ifdef RUNBOX_HAVE_ENGINE
  runbox::cli::AddRunCommand(app, &exit_status);
  runbox::cli::AddLanguagesCommand(app, &exit_status);
  // `runbox run FILE... -- ARGS`: the program's arguments are cut off before CLI11 sees them.
  if (argc > 1 && std::strcmp(argv[1], "run") == 0) {
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--") == 0) {
        runbox::cli::SetRunProgramArgs(std::vector<std::string>(argv + i + 1, argv + argc));
        argc = i;
        break;
      }
    }
  }
#endif
#ifdef RUNBOX_HAVE_SERVE
  runbox::server::ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve the HTTP API and the web page");
  runbox::server::AddServeFlags(serve, &serve_flags);
  serve->callback([&] { exit_status = runbox::server::ServeMain(serve_flags); });
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // Usage errors are runbox's own failure to start the command: 125, like docker run.
    return rc == 0 ? 0 : 125;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runbox: %s\n", e.what());
    return 125;
  }
  return exit_status;
}
